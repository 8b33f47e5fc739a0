"""Copy a whole knowledge store into another: sources, provisions, chunks and their embeddings,
without re-embedding. ``kb migrate --to elasticsearch`` moves the embedded store to a cluster;
``--to sqlite`` brings it back.

It works between any two :class:`~kb.stores.base.KnowledgeStore` objects, source by source
through :meth:`~kb.stores.base.KnowledgeStore.write_source` (so each source lands whole or not
at all) in batches of about ``batch_chunks`` chunks, in ``doc_id`` order. After every batch the
target's meta ``migrate.checkpoint`` records the last source copied; an interrupted run started
again skips what was done. Re-copying a source replaces it, so a batch repeated after a crash
leaves no duplicates.

    >>> report = migrate(sqlite_store, es_store, source_label="sqlite:/data/kb.sqlite3",
    ...                  identity=settings.index_identity())                 # doctest: +SKIP
    >>> report.sources_copied, report.chunks_copied                          # doctest: +SKIP
    (41, 5210)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kb.errors import ConfigError, StaleIndexError, StoreError
from kb.models import SourceRecord
from kb.settings import Settings
from kb.stores.base import KnowledgeStore

CHECKPOINT_KEY = "migrate.checkpoint"
# The meta key ingest records the index identity under (ingest.pipeline.IDENTITY_KEY).
IDENTITY_KEY = "index_identity"
DEFAULT_BATCH_CHUNKS = 500
_PAGE = 500


@dataclass(frozen=True)
class Batch:
    """Sources copied together before the checkpoint moves on."""

    doc_ids: tuple[str, ...]
    chunks: int


@dataclass
class BatchDone:
    """Progress after a batch, given to ``on_batch``."""

    number: int  # 1-based, counting only this run's batches
    batches: int
    last_doc_id: str
    chunks_done: int
    chunks_total: int


@dataclass
class MigrationReport:
    source: str
    sources_total: int = 0
    sources_copied: int = 0
    sources_skipped: int = 0  # done by an earlier, interrupted run
    provisions_copied: int = 0
    chunks_copied: int = 0
    unlinked_documents: int = 0  # written outside any source (Haystack protocol); not copied
    resumed_after: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_batches(sources: list[tuple[str, int]], batch_chunks: int = DEFAULT_BATCH_CHUNKS) -> list[Batch]:
    """Group ``(doc_id, n_chunks)`` into batches of at most ``batch_chunks`` chunks, in doc id order.

    A source is never split (it is written in one atomic step), so one larger than a batch is a
    batch of its own.

    >>> plan_batches([("b", 300), ("a", 300), ("c", 900), ("d", 0)], batch_chunks=500)
    [Batch(doc_ids=('a',), chunks=300), Batch(doc_ids=('b',), chunks=300), Batch(doc_ids=('c',), chunks=900), Batch(doc_ids=('d',), chunks=0)]
    """
    if batch_chunks <= 0:
        raise ConfigError(f"batch size must be > 0 chunks, got {batch_chunks}", value=batch_chunks)
    batches: list[Batch] = []
    current: list[str] = []
    size = 0
    for doc_id, n_chunks in sorted(sources):
        if current and size + n_chunks > batch_chunks:
            batches.append(Batch(tuple(current), size))
            current, size = [], 0
        current.append(doc_id)
        size += n_chunks
    if current:
        batches.append(Batch(tuple(current), size))
    return batches


def all_sources(store: KnowledgeStore) -> list[SourceRecord]:
    records: list[SourceRecord] = []
    while page := store.list_sources(offset=len(records), limit=_PAGE):
        records.extend(page)
    return sorted(records, key=lambda r: r.doc_id)


def read_checkpoint(target: KnowledgeStore, source_label: str) -> str | None:
    """The last doc id copied from ``source_label`` by an unfinished run, if any."""
    raw = target.get_meta(CHECKPOINT_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise StoreError(f"meta {CHECKPOINT_KEY} of the target is not JSON: {raw[:80]!r}") from err
    if data.get("done") or data.get("from") != source_label:
        return None
    return data.get("last_doc_id")


def _write_checkpoint(target: KnowledgeStore, source_label: str, last_doc_id: str | None, *, done: bool) -> None:
    target.set_meta(CHECKPOINT_KEY, json.dumps({"from": source_label, "last_doc_id": last_doc_id, "done": done}))


def _check_identity(source: KnowledgeStore, target: KnowledgeStore, identity: str | None) -> None:
    if identity is None:
        return
    for name, store in (("source", source), ("target", target)):
        stored = store.get_meta(IDENTITY_KEY)
        if stored is not None and stored != identity and store.count_documents() > 0:
            raise StaleIndexError(
                f"the {name} store was built as {stored!r} but the settings give {identity!r}; "
                "migrate with the settings it was built with, or rebuild it (kb ingest --rebuild)",
                stored=stored,
                expected=identity,
            )


def migrate(
    source: KnowledgeStore,
    target: KnowledgeStore,
    *,
    source_label: str,
    identity: str | None = None,
    batch_chunks: int = DEFAULT_BATCH_CHUNKS,
    restart: bool = False,
    on_batch: Callable[[BatchDone], None] | None = None,
    lock_timeout_s: float = 30.0,
) -> MigrationReport:
    """Copy every source of ``source`` into ``target`` (see the module docstring).

    :param source_label: names the source in the checkpoint, so a checkpoint left by a
        migration from another store is not mistaken for this one's.
    :param identity: the index identity of the current settings; both stores must match it.
    :param restart: ignore a checkpoint and copy everything again.
    :param on_batch: called after each batch is stored and checkpointed; an exception it raises
        stops the migration there (the checkpoint already covers that batch).
    """
    started = time.perf_counter()
    report = MigrationReport(source=source_label)
    _check_identity(source, target, identity)
    records = all_sources(source)
    report.sources_total = len(records)
    with target.writer_lock(timeout_s=lock_timeout_s):
        resume = None if restart else read_checkpoint(target, source_label)
        if resume is not None:
            report.resumed_after = resume
            todo = [r for r in records if r.doc_id > resume]
            report.sources_skipped = len(records) - len(todo)
        else:
            todo = records
        by_id = {r.doc_id: r for r in todo}
        batches = plan_batches([(r.doc_id, r.n_chunks) for r in todo], batch_chunks)
        total = sum(b.chunks for b in batches)
        done = 0
        for number, batch in enumerate(batches, start=1):
            for doc_id in batch.doc_ids:
                provisions, chunks = _copy_source(source, target, by_id[doc_id])
                report.sources_copied += 1
                report.provisions_copied += provisions
                report.chunks_copied += chunks
                done += chunks
            _write_checkpoint(target, source_label, batch.doc_ids[-1], done=False)
            if on_batch is not None:
                on_batch(BatchDone(number, len(batches), batch.doc_ids[-1], done, total))
        if identity is not None and records:
            target.set_meta(IDENTITY_KEY, identity)
        _write_checkpoint(target, source_label, records[-1].doc_id if records else None, done=True)
    linked = sum(r.n_chunks for r in records)
    report.unlinked_documents = max(source.count_documents() - linked, 0)
    if report.unlinked_documents:
        report.notes.append(
            f"{report.unlinked_documents} documents in the source belong to no source record (written through the "
            "Haystack protocol, not by ingest) and were not copied"
        )
    report.seconds = time.perf_counter() - started
    return report


def _copy_source(source: KnowledgeStore, target: KnowledgeStore, record: SourceRecord) -> tuple[int, int]:
    """Copy one source with its provisions and chunks (embeddings included). Returns the counts."""
    provisions = source.provisions_of_source(record.doc_id)
    chunks = source.filter_documents({"field": "meta.doc_id", "operator": "==", "value": record.doc_id})
    if len(chunks) != record.n_chunks or len(provisions) != record.n_provisions:
        raise StoreError(
            f"source {record.doc_id} ({record.title}) records {record.n_provisions} provisions and {record.n_chunks} "
            f"chunks but holds {len(provisions)} and {len(chunks)}; run `kb check` on the store migrated from",
            doc_id=record.doc_id,
        )
    missing = [c.id for c in chunks if c.embedding is None]
    if missing:
        raise StoreError(f"source {record.doc_id}: chunk {missing[0]} has no embedding to copy", doc_id=record.doc_id)
    target.write_source(record, provisions, chunks, replaces=[record.doc_id])
    return len(provisions), len(chunks)


def migration_stores(settings: Settings, to: str) -> tuple[KnowledgeStore, KnowledgeStore, str]:
    """``(source, target, source label)`` for ``kb migrate --to <to>`` under ``settings``."""
    from kb.stores.factory import open_store

    if to not in ("elasticsearch", "sqlite"):
        raise ConfigError(f"--to must be 'elasticsearch' or 'sqlite', got {to!r}", value=to)
    sqlite_settings = settings.model_copy(update={"store": settings.store.model_copy(update={"backend": "sqlite"})})
    es_settings = settings.model_copy(update={"store": settings.store.model_copy(update={"backend": "elasticsearch"})})
    if to == "elasticsearch":
        if not settings.sqlite_path.is_file():
            raise ConfigError(f"{settings.sqlite_path}: no embedded store to migrate from (check KB_DATA_DIR)",
                              path=str(settings.sqlite_path))  # fmt: skip
        source = open_store(sqlite_settings)
        try:
            target = open_store(es_settings)
        except BaseException:
            source.close()
            raise
        return source, target, f"sqlite:{settings.sqlite_path.resolve()}"
    source = open_store(es_settings)
    try:
        target = open_store(sqlite_settings)
    except BaseException:
        source.close()
        raise
    names = getattr(source, "names", None)  # the Elasticsearch store's index names
    return source, target, f"elasticsearch:{getattr(source, 'url', '')}/{names.chunks if names else ''}"
