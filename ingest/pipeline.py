"""Ingest files: convert -> parse -> chunk -> embed -> write, one transaction per file.

Files are prepared (converted, parsed, chunked) one after another until about
``8 x embedding.batch_size`` chunks wait; those are embedded in one encoder call (longer
length-sorted runs, less padding), and then each file is written in its own transaction, in the
order given.

A file is either fully indexed or not at all. A file whose bytes did not change since it was
indexed (same path, same hash, same index identity) is skipped; the same text under another
name is stored once and remembers both paths; a changed file replaces its old provisions; a
file gone from a folder that is ingested again loses its chunks. Failures are reported per file
and never stop the batch.

    >>> ingestor = Ingestor(store, encoder, settings)                 # doctest: +SKIP
    >>> report = ingestor.ingest([Path("../shared/sources/indiacode-md")])  # doctest: +SKIP
    >>> report.counts()["ingested"]                                    # doctest: +SKIP
    28
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from haystack import Document

from ingest.chunk import chunk_provision
from ingest.convert import convert_file
from ingest.detect import parse_converted
from ingest.document import ParsedDocument
from kb.embedding import Encoder
from kb.errors import IngestError, StaleIndexError, StoreError
from kb.models import Chunk, Provision, SourceRecord
from kb.settings import Settings
from kb.stores.base import KnowledgeStore

IDENTITY_KEY = "index_identity"
# Bookkeeping files, not documents: ingest.fetch's state and the corpus manifest of official sources.
SKIP_NAMES = {".DS_Store", "Thumbs.db", "fetch-state.json", "sources.toml"}
SKIP_SUFFIXES = (".meta.toml", ".meta.json", ".tmp", ".part")


@dataclass
class FileResult:
    path: str
    status: str  # ingested | replaced | unchanged | duplicate | removed | failed
    reason: str | None = None
    doc_id: str | None = None
    title: str | None = None
    provisions: int = 0
    chunks: int = 0
    seconds: float = 0.0


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    encode_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("ingested", "replaced", "unchanged", "duplicate", "removed", "failed")}
        for f in self.files:
            out[f.status] += 1
        return out

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def provisions(self) -> int:
        return sum(f.provisions for f in self.files)

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files)

    def to_dict(self) -> dict:
        secs = max(self.seconds, 1e-9)
        return {
            "counts": self.counts(),
            "provisions": self.provisions,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "encode_seconds": round(self.encode_seconds, 3),
            "chunks_per_second": round(self.chunks / secs, 1),
            "files": [f.__dict__ for f in self.files],
        }


def discover(paths: Iterable[Path], max_files: int) -> tuple[list[Path], list[FileResult]]:
    """Files under ``paths`` in a stable order, and results for paths that do not exist."""
    found: list[Path] = []
    missing: list[FileResult] = []
    for root in paths:
        root = Path(root)
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.is_file() and not _skipped(p):
                    found.append(p.resolve())
        elif root.is_file():
            found.append(root.resolve())
        else:
            missing.append(FileResult(str(root), "failed", reason="no such file or directory"))
        if len(found) > max_files:
            raise IngestError(f"more than {max_files} files (ingest.max_files)", path=str(root))
    return list(dict.fromkeys(found)), missing


def _skipped(path: Path) -> bool:
    return path.name in SKIP_NAMES or path.name.startswith(".") or path.name.endswith(SKIP_SUFFIXES) or any(
        part.startswith(".") for part in path.parent.parts[-3:]
    )


def text_id(text: str) -> str:
    """Identity of a document's content: whitespace differences do not make a new document."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


class Ingestor:
    """Indexes files into a store. Overrides given to :meth:`ingest` win over file metadata."""

    def __init__(self, store: KnowledgeStore, encoder: Encoder, settings: Settings) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.identity = settings.index_identity()

    # -- identity ------------------------------------------------------------------------
    def check_identity(self) -> None:
        """Raise :class:`StaleIndexError` when the store was built with other settings."""
        stored = self.store.get_meta(IDENTITY_KEY)
        if stored is None or stored == self.identity:
            return
        if self.store.count_documents() == 0:
            return
        raise StaleIndexError(
            f"the index was built as {stored!r} but the settings now give {self.identity!r}; "
            "run `kb ingest --rebuild` to re-embed",
            stored=stored,
            expected=self.identity,
        )

    # -- batch ---------------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[Path],
        *,
        doc_type: str | None = None,
        audiences: list[str] | None = None,
        prune: bool = True,
        on_file: Callable[[FileResult, int, int], None] | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        paths = [Path(p) for p in paths]
        self.check_identity()
        files, missing = discover(paths, self.settings.ingest.max_files)
        report = IngestReport(files=list(missing))
        with self.store.writer_lock(timeout_s=self.settings.store.busy_timeout_ms / 1000):
            self.store.set_meta(IDENTITY_KEY, self.identity)

            def record(result: FileResult) -> None:
                report.files.append(result)
                if on_file:
                    on_file(result, len(report.files) - len(missing), len(files))

            group: list[FileResult | _Prepared] = []
            waiting = 0  # chunks of the group's prepared files
            for path in files:
                group.append(outcome := self._prepare_safely(path, doc_type=doc_type, audiences=audiences))
                waiting += len(outcome.chunks) if isinstance(outcome, _Prepared) else 0
                if waiting >= self.group_chunks:
                    self._commit_group(group, report, record)
                    group, waiting = [], 0
            self._commit_group(group, report, record)
            if prune:
                report.files.extend(self._prune([p for p in paths if p.is_dir()], set(map(str, files))))
        report.seconds = time.perf_counter() - started
        return report

    def _prune(self, roots: list[Path], present: set[str]) -> list[FileResult]:
        """Forget files that were indexed under an ingested folder and are gone from it."""
        results = []
        prefixes = [str(r.resolve()) + "/" for r in roots]
        if not prefixes:
            return results
        for source in self._all_sources():
            for path in source.paths:
                if any(path.startswith(p) for p in prefixes) and path not in present and not Path(path).exists():
                    self.store.remove_source_path(path)
                    results.append(FileResult(path, "removed", doc_id=source.doc_id, title=source.title))
        return results

    def _all_sources(self) -> list[SourceRecord]:
        out, offset = [], 0
        while batch := self.store.list_sources(offset=offset, limit=500):
            out.extend(batch)
            offset += len(batch)
        return out

    # -- groups of files -------------------------------------------------------------------
    @property
    def group_chunks(self) -> int:
        """Chunks of several files are embedded in one call of about this many (8 batches): the
        encoder sorts them by length, so batches carry less padding and fewer end in a partial
        batch than file by file. Each file is still written in its own transaction, in order."""
        return 8 * self.settings.embedding.batch_size

    def _prepare_safely(self, path: Path, *, doc_type: str | None, audiences: list[str] | None) -> FileResult | _Prepared:
        started = time.perf_counter()
        try:
            outcome = self._prepare(path, doc_type=doc_type, audiences=audiences)
        except IngestError as err:
            outcome = FileResult(str(path), "failed", reason=err.reason)
        except StoreError as err:
            outcome = FileResult(str(path), "failed", reason=f"store: {err}")
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _commit_group(self, group: list[FileResult | _Prepared], report: IngestReport,
                      record: Callable[[FileResult], None]) -> None:  # fmt: skip
        """Embed the group's chunks in one call, then write its files one by one, in order."""
        prepared = [g for g in group if isinstance(g, _Prepared)]
        texts = [c.embed_text or c.text for g in prepared for c in g.chunks]
        encode_started = time.perf_counter()
        try:
            vectors = self.encoder.embed_texts(texts)
        finally:
            encode_seconds = time.perf_counter() - encode_started
            report.encode_seconds += encode_seconds
        offset = 0
        for item in group:
            if isinstance(item, FileResult):
                record(item)
                continue
            started = time.perf_counter()
            result = self._commit_safely(item, vectors[offset : offset + len(item.chunks)])
            offset += len(item.chunks)
            # Its share of the group's encoding, by chunks, plus its own preparing and writing.
            result.seconds = item.seconds + encode_seconds * len(item.chunks) / max(1, len(texts)) \
                + time.perf_counter() - started  # fmt: skip
            record(result)

    # -- one file ------------------------------------------------------------------------
    def ingest_file(
        self, path: Path, *, doc_type: str | None = None, audiences: list[str] | None = None,
        report: IngestReport | None = None,
    ) -> FileResult:
        """Index one file in its own transaction (``ingest`` does this for a group of files)."""
        results: list[FileResult] = []
        self._commit_group([self._prepare_safely(path, doc_type=doc_type, audiences=audiences)],
                           report if report is not None else IngestReport(), results.append)  # fmt: skip
        return results[0]

    def _prepare(self, path: Path, *, doc_type: str | None, audiences: list[str] | None) -> FileResult | _Prepared:
        """Everything before embedding: skip an unchanged file, convert, parse, chunk."""
        key = str(path)
        raw_hash = _file_hash(path)
        previous = self.store.source_for_path(key)
        if previous and previous.file_hash == raw_hash and previous.index_identity == self.identity:
            return FileResult(key, "unchanged", doc_id=previous.doc_id, title=previous.title)

        converted = convert_file(path, self.settings.ingest)
        parsed = parse_converted(converted, doc_type=doc_type, audiences=audiences)
        if not parsed.provisions:
            raise IngestError("no text could be extracted (no sections or headed blocks found)", path=key)
        doc_id = text_id(converted.text)
        existing = self.store.get_source(doc_id)
        if self._is_current(existing):
            return self._duplicate(key, doc_id, existing, previous)
        return _Prepared(key, raw_hash, converted.media_type, parsed, doc_id, self._chunks(parsed))

    def _is_current(self, existing: SourceRecord | None) -> bool:
        return existing is not None and existing.index_identity == self.identity

    def _duplicate(self, key: str, doc_id: str, existing: SourceRecord, previous: SourceRecord | None) -> FileResult:
        """The same text is already stored with these settings: remember the path, store nothing."""
        if previous and previous.doc_id != doc_id:
            self.store.remove_source_path(key)
        if key not in existing.paths:
            self.store.add_source_path(doc_id, key)
        return FileResult(key, "duplicate", doc_id=doc_id, title=existing.title)

    def _commit_safely(self, item: _Prepared, embeddings: list[list[float]]) -> FileResult:
        try:
            return self._commit(item, embeddings)
        except StoreError as err:
            # A store failure (disk full, read-only) is per file too: the transaction rolled back.
            return FileResult(item.key, "failed", reason=f"store: {err}")

    def _commit(self, item: _Prepared, embeddings: list[list[float]]) -> FileResult:
        """Write one prepared file. The store is read again first: a file earlier in the same
        group may have stored the same text (then this one is a duplicate) or moved a path."""
        key, doc_id, parsed, chunks, raw_hash = item.key, item.doc_id, item.parsed, item.chunks, item.raw_hash
        previous = self.store.source_for_path(key)
        existing = self.store.get_source(doc_id)
        if self._is_current(existing):
            return self._duplicate(key, doc_id, existing, previous)

        replaces: list[str] = []
        if existing:
            replaces.append(doc_id)
        if previous and previous.doc_id != doc_id:
            if set(previous.paths) <= {key}:
                replaces.append(previous.doc_id)
            else:
                self.store.remove_source_path(key)
        source = self._source_record(parsed, converted_hash=raw_hash, doc_id=doc_id, path=key,
                                     media_type=item.media_type, n_chunks=len(chunks),
                                     other_paths=existing.paths if existing else [])
        documents = [
            _document(chunk, index, source, embedding, parsed)
            for index, (chunk, embedding) in enumerate(zip(chunks, embeddings, strict=True))
        ]
        self.store.write_source(source, parsed.provisions, documents, replaces=replaces)
        status = "replaced" if replaces and previous else "ingested"
        return FileResult(key, status, doc_id=doc_id, title=parsed.title,
                          provisions=len(parsed.provisions), chunks=len(documents))

    def _chunks(self, parsed: ParsedDocument) -> list[Chunk]:
        chunks: list[Chunk] = []
        for provision in parsed.provisions:
            chunks.extend(chunk_provision(provision, self.settings.chunking))
        return chunks

    def _source_record(self, parsed: ParsedDocument, *, converted_hash: str, doc_id: str, path: str,
                       media_type: str, n_chunks: int, other_paths: list[str]) -> SourceRecord:
        return SourceRecord(
            doc_id=doc_id,
            title=parsed.title,
            doc_type=parsed.doc_type,
            act_key=parsed.act_key,
            audiences=list(parsed.audiences),
            paths=list(dict.fromkeys([*other_paths, path])),
            source_url=parsed.source_url,
            file_hash=converted_hash,
            media_type=media_type,
            language=parsed.language,
            ocr=parsed.ocr,
            n_provisions=len(parsed.provisions),
            n_chunks=n_chunks,
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            index_identity=self.identity,
            links=list(parsed.links),
            extra={k: v for k, v in parsed.metadata.items() if isinstance(v, (str, int, float, bool, list))},
        )

    # -- rebuild -------------------------------------------------------------------------
    def rebuild(self, on_source: Callable[[SourceRecord, int, int], None] | None = None) -> IngestReport:
        """Re-chunk and re-embed every stored source from its stored provisions (no files needed)."""
        started = time.perf_counter()
        report = IngestReport()
        with self.store.writer_lock(timeout_s=self.settings.store.busy_timeout_ms / 1000):
            sources = self._all_sources()
            for index, source in enumerate(sources, start=1):
                t0 = time.perf_counter()
                provisions = self._stored_provisions(source)
                chunks = [c for p in provisions for c in chunk_provision(p, self.settings.chunking)]
                encode_started = time.perf_counter()
                embeddings = self.encoder.embed_texts([c.embed_text or c.text for c in chunks])
                report.encode_seconds += time.perf_counter() - encode_started
                source.index_identity = self.identity
                source.n_chunks = len(chunks)
                parsed = ParsedDocument(title=source.title, doc_type=source.doc_type, provisions=provisions,
                                        act_key=source.act_key, audiences=source.audiences, language=source.language,
                                        ocr=source.ocr)
                documents = [_document(c, i, source, e, parsed) for i, (c, e) in enumerate(zip(chunks, embeddings, strict=True))]
                self.store.write_source(source, provisions, documents, replaces=[source.doc_id])
                result = FileResult(source.paths[0] if source.paths else source.doc_id, "replaced", doc_id=source.doc_id,
                                    title=source.title, provisions=len(provisions), chunks=len(documents),
                                    seconds=time.perf_counter() - t0)
                report.files.append(result)
                if on_source:
                    on_source(source, index, len(sources))
            self.store.set_meta(IDENTITY_KEY, self.identity)
        report.seconds = time.perf_counter() - started
        return report

    def _stored_provisions(self, source: SourceRecord) -> list[Provision]:
        return self.store.provisions_of_source(source.doc_id)


@dataclass
class _Prepared:
    """A file converted, parsed and chunked, waiting for its vectors and its write."""

    key: str
    raw_hash: str
    media_type: str
    parsed: ParsedDocument
    doc_id: str
    chunks: list[Chunk]
    seconds: float = 0.0


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise IngestError(f"cannot read file: {err.strerror or err}", path=str(path)) from err
    return digest.hexdigest()


def _document(chunk: Chunk, index: int, source: SourceRecord, embedding: list[float], parsed: ParsedDocument) -> Document:
    meta = chunk.locator.to_meta()
    meta.update(
        doc_id=source.doc_id,
        chunk_index=index,
        audience=list(parsed.audiences),
        language=chunk.language or parsed.language,
        ocr=bool(chunk.ocr or parsed.ocr),
        title=source.title,
    )
    return Document(id=chunk.chunk_id(source.doc_id, index), content=chunk.text, meta=meta, embedding=embedding)
