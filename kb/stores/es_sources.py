"""Sources, paths and source writes of :class:`~kb.stores.elasticsearch.ElasticsearchKnowledgeStore`
(a mixin). Provisions, acts and the integrity check are in :mod:`kb.stores.es_provisions`.

Every document a source write creates carries the write's generation (see
:mod:`kb.stores.es_state`) and an ``_id`` that includes it (``<doc_id>@<generation>`` for the
source record, ``<chunk id>@<generation>`` for a chunk), so a new copy of a source never
overwrites the old one in place: the old copy stays whole and visible until the ledger
switches to the new one.

**What a crash leaves behind.** Readers always see, for every source, either its complete old
copy or its complete new copy, never both and never a half-written one:

* crash while writing: the new generation is still ``pending`` (invisible); the old copy is
  visible. Rerunning the ingest writes the source again; the orphaned documents are deleted
  once the write has been pending for 15 minutes (checked at every source write and whenever
  the writer lock is taken).
* crash after the switch, before the old copy is deleted: the old generation is ``retired``
  (invisible) and is deleted by the next source write or the next taking of the writer lock.
* crash between the switch and moving a shared path away from another source: both sources
  list the path for a while; :meth:`source_for_path` answers with the most recently written,
  and the next ingest of that folder converges.

Unlike the embedded store's single transaction, the switch is eventually followed by cleanup
rather than being one step; disk space of a crashed write is reclaimed late, never visibly.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from datetime import datetime, timezone
from typing import Any

from elasticsearch import Elasticsearch, helpers
from haystack import Document

from kb.errors import NotFoundError, QueryError, StoreError
from kb.models import Provision, SourceRecord
from kb.stores.es_mapping import GENERATION_FIELD, IndexNames, visible_query
from kb.stores.es_state import GenerationLedger, es_errors, scan
from kb.stores.sqlite_text import natural_sort_key

logger = logging.getLogger(__name__)
_RECORD_EXCLUDED = ("paths", "n_provisions", "n_chunks")
BULK_CHUNK = 500  # documents per bulk request


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def chunk_source(doc: Document, generation: str | None) -> dict[str, Any]:
    """The ``_source`` of a chunk: Haystack's flattened ``to_dict`` without empty fields."""
    data = doc.to_dict()
    for name in ("embedding", "blob", "score", "sparse_embedding"):
        if data.get(name) is None:
            data.pop(name, None)
    if generation is not None:
        data[GENERATION_FIELD] = generation
    return data


def source_body(record: SourceRecord, generation: str, seq: int) -> dict[str, Any]:
    stored = {k: v for k, v in record.to_dict().items() if k not in _RECORD_EXCLUDED}
    return {
        GENERATION_FIELD: generation, "doc_id": record.doc_id, "title": record.title, "doc_type": record.doc_type,
        "act_key": record.act_key, "paths": sorted(record.paths), "n_provisions": record.n_provisions,
        "n_chunks": record.n_chunks, "written_seq": seq, "record": stored,
    }  # fmt: skip


def provision_body(provision: Provision, doc_id: str, generation: str, seq: int, ordinal: int) -> dict[str, Any]:
    try:
        key = provision.key
    except ValueError as err:
        raise StoreError(f"source {doc_id}: {err}", doc_id=doc_id) from err
    section = provision.locator.section or ""
    return {
        GENERATION_FIELD: generation, "doc_id": doc_id, "provision_key": key, "act_key": provision.locator.act_key,
        "section": section, "sort_key": natural_sort_key(section), "ordinal": ordinal, "written_seq": seq,
        "cross_refs": sorted({ref for ref in provision.cross_refs if ref != key}), "payload": provision.to_dict(),
    }  # fmt: skip


def record_from_hit(hit: dict[str, Any]) -> SourceRecord:
    src = hit["_source"]
    return SourceRecord.from_dict({**src["record"], "paths": list(src.get("paths", [])),
                                   "n_provisions": src["n_provisions"], "n_chunks": src["n_chunks"]})  # fmt: skip


class EsSourcesMixin:
    """Source records with their paths, and atomic-looking source replacement."""

    _client: Elasticsearch
    _ledger: GenerationLedger
    names: IndexNames
    url: str
    embedding_dim: int

    # --- small helpers -------------------------------------------------------------------------
    def _search(self, index: str, action: str, **body: Any) -> dict[str, Any]:
        with es_errors(self.url, action):
            return self._client.search(index=index, **body)

    def _bulk(self, actions: list[dict[str, Any]], action: str) -> None:
        with es_errors(self.url, action):
            ok, errors = helpers.bulk(self._client, actions, chunk_size=BULK_CHUNK, refresh="wait_for",
                                      raise_on_error=False, stats_only=False)  # fmt: skip
        if errors:
            first = next(iter(errors[0].values()))
            raise StoreError(
                f"Elasticsearch {self.url}: {action}: {len(errors)} of {len(actions)} documents were refused; "
                f"first: {first.get('_id')}: {first.get('error')}",
                errors=len(errors),
            )

    def _source_hits(self, hidden: list[str], filters: list[dict[str, Any]], *, size: int = 100) -> list[dict[str, Any]]:
        """Visible source documents matching ``filters``, most recently written first."""
        query = visible_query(None, hidden, extra=filters)
        result = self._search(self.names.sources, "reading sources", query=query, size=size,
                              sort=[{"written_seq": "desc"}])  # fmt: skip
        return result["hits"]["hits"]

    # --- writing -------------------------------------------------------------------------------
    def write_source(
        self,
        source: SourceRecord,
        provisions: list[Provision],
        chunks: list[Document],
        *,
        replaces: list[str] = (),
    ) -> None:
        """Store ``source`` with its provisions and chunks, replacing the sources ``replaces`` and any
        earlier copy of ``source.doc_id`` (whose paths are kept). Readers switch from the old
        copies to the new one in one step; see the module docstring for what a crash leaves."""
        if not isinstance(source, SourceRecord):
            raise StoreError(f"write_source expects a SourceRecord, got {type(source).__name__}")
        self._check_chunks(source.doc_id, chunks)
        self._ledger.collect()
        targets = list(dict.fromkeys([*replaces, source.doc_id]))
        hidden = self._ledger.load().hidden
        old = self._source_hits(hidden, [{"terms": {"doc_id": targets}}], size=1000)
        old_generations = sorted({hit["_source"][GENERATION_FIELD] for hit in old})
        kept = {p for hit in old if hit["_source"]["doc_id"] == source.doc_id for p in hit["_source"].get("paths", [])}
        self._check_chunk_clashes(source.doc_id, chunks, hidden + old_generations)
        record = dataclasses.replace(
            source,
            paths=sorted(kept | set(source.paths)),
            n_provisions=len(provisions),
            n_chunks=len(chunks),
            ingested_at=source.ingested_at or _now(),
        )
        generation, seq = self._ledger.begin()
        try:
            self._bulk(self._source_actions(record, provisions, chunks, generation, seq), f"writing source {source.doc_id}")
            self._ledger.commit(generation, retire=old_generations)
        except BaseException:
            self._abandon(generation)
            raise
        self._take_paths(record.doc_id, record.paths, drop_pathless=False)
        self._ledger.collect()

    def _source_actions(self, record: SourceRecord, provisions: list[Provision], chunks: list[Document],
                        generation: str, seq: int) -> list[dict[str, Any]]:  # fmt: skip
        actions = [{"_op_type": "create", "_index": self.names.sources, "_id": f"{record.doc_id}@{generation}",
                    "_source": source_body(record, generation, seq)}]  # fmt: skip
        for ordinal, provision in enumerate(provisions):
            actions.append({"_op_type": "create", "_index": self.names.provisions,
                            "_id": f"{record.doc_id}@{generation}#{ordinal}",
                            "_source": provision_body(provision, record.doc_id, generation, seq, ordinal)})  # fmt: skip
        for chunk in chunks:
            actions.append({"_op_type": "create", "_index": self.names.chunks, "_id": f"{chunk.id}@{generation}",
                            "_source": chunk_source(chunk, generation)})  # fmt: skip
        return actions

    def _abandon(self, generation: str) -> None:
        """Hide a failed write's partial documents; if even that fails, they stay pending (hidden)
        and the collection of abandoned writes deletes them later."""
        try:
            self._ledger.retire([generation])
        except StoreError as err:
            logger.warning("could not retire failed write generation %s (deleted later): %s", generation, err)

    def _check_chunks(self, doc_id: str, chunks: list[Document]) -> None:
        """The checks the embedded store makes, before anything is written."""
        seen: set[str] = set()
        for chunk in chunks:
            if not isinstance(chunk, Document):
                raise StoreError(f"source {doc_id}: chunks must be Documents, got {type(chunk).__name__}")
            if chunk.meta.get("doc_id") != doc_id:
                raise StoreError(f"chunk {chunk.id}: meta doc_id {chunk.meta.get('doc_id')!r} differs from its source {doc_id!r}",
                                 chunk_id=chunk.id)  # fmt: skip
            if chunk.embedding is None:
                raise StoreError(f"chunk {chunk.id} of source {doc_id} has no embedding", chunk_id=chunk.id)
            if len(chunk.embedding) != self.embedding_dim:
                raise StoreError(f"document {chunk.id}: embedding has {len(chunk.embedding)} dimensions, the store holds "
                                 f"{self.embedding_dim}-dimensional vectors", doc_id=chunk.id)  # fmt: skip
            if not all(math.isfinite(x) for x in chunk.embedding):
                raise StoreError(f"document {chunk.id}: embedding contains NaN or infinity", doc_id=chunk.id)
            if chunk.id in seen:
                raise StoreError(f"source {doc_id}: chunk id {chunk.id} is already stored or repeated", chunk_id=chunk.id)
            seen.add(chunk.id)

    def _check_chunk_clashes(self, doc_id: str, chunks: list[Document], excluded: list[str]) -> None:
        ids = [c.id for c in chunks]
        for start in range(0, len(ids), 1000):
            query = visible_query(None, excluded, extra=[{"terms": {"id": ids[start : start + 1000]}}])
            hits = self._search(self.names.chunks, "checking chunk ids", query=query, size=1, _source=["id"])["hits"]["hits"]
            if hits:
                clash = hits[0]["_source"]["id"]
                raise StoreError(f"source {doc_id}: chunk id {clash} is already stored or repeated", chunk_id=clash)

    # --- paths ---------------------------------------------------------------------------------
    def _set_paths(self, hit: dict[str, Any], paths: list[str]) -> None:
        with es_errors(self.url, f"updating the paths of source {hit['_source']['doc_id']}"):
            self._client.update(index=self.names.sources, id=hit["_id"], doc={"paths": sorted(paths)}, refresh="wait_for")

    def _take_paths(self, doc_id: str, paths: list[str], *, drop_pathless: bool) -> None:
        """Other sources holding any of ``paths`` lose them (a path holds one content at a time)."""
        if not paths:
            return
        hidden = self._ledger.load().hidden
        holders = self._source_hits(hidden, [{"terms": {"paths": list(paths)}}], size=1000)
        pathless: list[str] = []
        for hit in holders:
            if hit["_source"]["doc_id"] == doc_id:
                continue
            left = [p for p in hit["_source"].get("paths", []) if p not in paths]
            self._set_paths(hit, left)
            if not left:
                pathless.append(hit["_source"][GENERATION_FIELD])
        if drop_pathless and pathless:
            self._ledger.retire(pathless)
            self._ledger.collect()

    def add_source_path(self, doc_id: str, path: str) -> None:
        """Record that content ``doc_id`` is also at ``path``. If ``path`` held other content that
        is now found nowhere else, that source is deleted with its provisions and chunks."""
        hits = self._source_hits(self._ledger.load().hidden, [{"term": {"doc_id": doc_id}}], size=1)
        if not hits:
            raise NotFoundError(f"no source with doc_id {doc_id!r}", doc_id=doc_id)
        paths = hits[0]["_source"].get("paths", [])
        if path not in paths:
            self._set_paths(hits[0], [*paths, path])
        self._take_paths(doc_id, [path], drop_pathless=True)

    def remove_source_path(self, path: str) -> str | None:
        hidden = self._ledger.load().hidden
        holders = self._source_hits(hidden, [{"term": {"paths": path}}], size=1000)
        if not holders:
            return None
        pathless = []
        for hit in holders:
            left = [p for p in hit["_source"].get("paths", []) if p != path]
            self._set_paths(hit, left)
            if not left:
                pathless.append(hit["_source"][GENERATION_FIELD])
        if pathless:
            self._ledger.retire(pathless)
            self._ledger.collect()
        return holders[0]["_source"]["doc_id"]

    def delete_source(self, doc_id: str) -> bool:
        hits = self._source_hits(self._ledger.load().hidden, [{"term": {"doc_id": doc_id}}], size=1000)
        if not hits:
            return False
        self._ledger.retire(sorted({hit["_source"][GENERATION_FIELD] for hit in hits}))
        self._ledger.collect()
        return True

    # --- reading sources -----------------------------------------------------------------------
    def _one_source(self, condition: dict[str, Any]) -> SourceRecord | None:
        hits = self._ledger.read_consistent(lambda hidden: self._source_hits(hidden, [condition], size=1))
        return record_from_hit(hits[0]) if hits else None

    def get_source(self, doc_id: str) -> SourceRecord | None:
        return self._one_source({"term": {"doc_id": doc_id}})

    def source_for_path(self, path: str) -> SourceRecord | None:
        """The source stored for ``path``; the most recently written if a crash left two."""
        return self._one_source({"term": {"paths": path}})

    def list_sources(self, *, offset: int = 0, limit: int = 100) -> list[SourceRecord]:
        """Sources by title (case-insensitive), then doc id."""
        if offset < 0 or limit <= 0:
            raise QueryError(f"offset must be >= 0 and limit > 0, got offset={offset} limit={limit}")

        def read(hidden: list[str]) -> list[SourceRecord]:
            query = visible_query(None, hidden)
            sort = [{"title": "asc"}, {"doc_id": "asc"}]
            with es_errors(self.url, "listing sources"):
                hits = scan(self._client, self.names.sources, query, sort=sort, page=min(offset + limit, 1000))
                records = []
                for index, hit in enumerate(hits):
                    if index >= offset + limit:
                        hits.close()
                        break
                    if index >= offset:
                        records.append(record_from_hit(hit))
            return records

        return self._ledger.read_consistent(read)

    def count_sources(self) -> int:
        return self._ledger.read_consistent(lambda hidden: self._count(self.names.sources, visible_query(None, hidden)))

    def _count(self, index: str, query: dict[str, Any]) -> int:
        with es_errors(self.url, f"counting documents of {index}"):
            return int(self._client.count(index=index, query=query)["count"])

    def _refresh_source_counts(self, doc_ids: set[str]) -> None:
        """Set ``n_chunks`` of each visible source in ``doc_ids`` to the chunks it still holds
        (after chunks were deleted through the document protocol)."""
        for doc_id in sorted(doc_ids):
            hidden = self._ledger.load().hidden
            for hit in self._source_hits(hidden, [{"term": {"doc_id": doc_id}}], size=10):
                generation = hit["_source"][GENERATION_FIELD]
                n = self._count(self.names.chunks, {"bool": {"filter": [{"term": {"doc_id": doc_id}},
                                                                        {"term": {GENERATION_FIELD: generation}}]}})  # fmt: skip
                with es_errors(self.url, f"updating the chunk count of source {doc_id}"):
                    self._client.update(index=self.names.sources, id=hit["_id"], doc={"n_chunks": n}, refresh="wait_for")
