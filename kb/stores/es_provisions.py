"""Provisions, acts and the integrity check of
:class:`~kb.stores.elasticsearch.ElasticsearchKnowledgeStore` (a mixin).

"The" provision of a key is the one of the most recently written visible source, as in the
embedded store: sorted by ``written_seq`` then by position in its source, newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch

from kb.models import Provision
from kb.stores.base import ActSummary, IntegrityReport
from kb.stores.es_mapping import GENERATION_FIELD, IndexNames, visible_query
from kb.stores.es_state import GenerationLedger, es_errors, scan

NEWEST_FIRST = [{"written_seq": "desc"}, {"ordinal": "desc"}]
_MAX_LISTED = 20  # problems of one kind listed by check() before "... and N more"
_KEY_BATCH = 1000


class EsProvisionsMixin:
    """Provisions with their cross references, act summaries, integrity. Uses ``_count`` of
    :class:`~kb.stores.es_sources.EsSourcesMixin`."""

    _client: Elasticsearch
    _ledger: GenerationLedger
    names: IndexNames
    url: str
    embedding_dim: int

    def _current(self, hidden: list[str], keys: list[str]) -> dict[str, dict[str, Any]]:
        """The current provision document of each key: one per key by field collapsing."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _KEY_BATCH):
            batch = keys[start : start + _KEY_BATCH]
            query = visible_query(None, hidden, extra=[{"terms": {"provision_key": batch}}])
            with es_errors(self.url, "reading provisions"):
                result = self._client.search(index=self.names.provisions, query=query, size=len(batch),
                                             sort=NEWEST_FIRST, collapse={"field": "provision_key"})  # fmt: skip
            for hit in result["hits"]["hits"]:
                found[hit["_source"]["provision_key"]] = hit["_source"]
        return found

    def get_provision(self, provision_key: str) -> Provision | None:
        return self.get_provisions([provision_key]).get(provision_key)

    def get_provisions(self, provision_keys: list[str]) -> dict[str, Provision]:
        keys = list(dict.fromkeys(provision_keys))
        if not keys:
            return {}
        current = self._ledger.read_consistent(lambda hidden: self._current(hidden, keys))
        return {key: Provision.from_dict(src["payload"]) for key, src in current.items()}

    def _scan_provisions(self, hidden: list[str], condition: dict[str, Any], sort: list[Any]) -> Iterator[dict[str, Any]]:
        with es_errors(self.url, "listing provisions"):
            for hit in scan(self._client, self.names.provisions, visible_query(None, hidden, extra=[condition]), sort=sort):
                yield hit["_source"]

    def list_provisions(self, act_key: str) -> list[Provision]:
        """The current provisions of an Act in natural section order (1, 2, 2A, 3, 10, 42, 42A)."""

        def read(hidden: list[str]) -> list[Provision]:
            sort = [{"sort_key": "asc"}, {"provision_key": "asc"}, *NEWEST_FIRST]
            provisions, seen = [], set()
            for src in self._scan_provisions(hidden, {"term": {"act_key": act_key}}, sort):
                if src["provision_key"] not in seen:  # the first of a key in this order is the newest
                    seen.add(src["provision_key"])
                    provisions.append(Provision.from_dict(src["payload"]))
            return provisions

        return self._ledger.read_consistent(read)

    def referring_provisions(self, provision_key: str) -> list[str]:
        """Keys of current provisions whose cross references name ``provision_key`` (itself excluded)."""

        def read(hidden: list[str]) -> list[str]:
            candidates = {
                src["provision_key"]
                for src in self._scan_provisions(hidden, {"term": {"cross_refs": provision_key}}, [{"provision_key": "asc"}])
            }
            current = self._current(hidden, sorted(candidates - {provision_key}))
            referring = [src for src in current.values() if provision_key in src.get("cross_refs", [])]
            referring.sort(key=lambda src: (src["act_key"], src["sort_key"]))
            return [src["provision_key"] for src in referring]

        return self._ledger.read_consistent(read)

    def provisions_of_source(self, doc_id: str) -> list[Provision]:
        """Every provision stored for one source, in the order they were written."""

        def read(hidden: list[str]) -> list[Provision]:
            found = self._scan_provisions(hidden, {"term": {"doc_id": doc_id}}, [{"ordinal": "asc"}])
            return [Provision.from_dict(src["payload"]) for src in found]

        return self._ledger.read_consistent(read)

    # --- aggregations ------------------------------------------------------------------------
    def _counts_by(self, index: str, field: str, query: dict[str, Any]) -> dict[str, int]:
        """``{value: number of documents}`` for a keyword field, every bucket (composite paging)."""
        counts: dict[str, int] = {}
        after = None
        while True:
            composite: dict[str, Any] = {"size": 1000, "sources": [{"v": {"terms": {"field": field}}}]}
            if after is not None:
                composite["after"] = after
            with es_errors(self.url, f"counting {index} by {field}"):
                result = self._client.search(index=index, query=query, size=0, aggs={"by": {"composite": composite}})
            agg = result["aggregations"]["by"]
            for bucket in agg["buckets"]:
                counts[bucket["key"]["v"]] = bucket["doc_count"]
            after = agg.get("after_key")
            if not agg["buckets"] or after is None:
                return counts

    def list_acts(self) -> list[ActSummary]:
        """One summary per act key with provisions; names come from its most recent provision."""

        def read(hidden: list[str]) -> list[ActSummary]:
            aggs = {
                "acts": {
                    "terms": {"field": "act_key", "size": 10000, "order": {"_key": "asc"}},
                    "aggs": {
                        # exact below the threshold; an Act has at most a few thousand sections
                        "sections": {"cardinality": {"field": "provision_key", "precision_threshold": 40000}},
                        "latest": {"top_hits": {"size": 1, "sort": NEWEST_FIRST, "_source": ["payload.locator"]}},
                    },
                }
            }
            with es_errors(self.url, "listing acts"):
                result = self._client.search(index=self.names.provisions, query=visible_query(None, hidden), size=0, aggs=aggs)
            chunks = self._counts_by(self.names.chunks, "act_key", visible_query(None, hidden))
            summaries = []
            for bucket in result["aggregations"]["acts"]["buckets"]:
                locator = bucket["latest"]["hits"]["hits"][0]["_source"]["payload"]["locator"]
                summaries.append(ActSummary(
                    act_key=bucket["key"], title=locator.get("act_title", ""), short_name=locator.get("short_name"),
                    year=locator.get("year"), doc_type=locator.get("doc_type", "act"),
                    sections=int(bucket["sections"]["value"]), chunks=chunks.get(bucket["key"], 0),
                ))  # fmt: skip
            return summaries

        return self._ledger.read_consistent(read)

    # --- integrity -----------------------------------------------------------------------------
    def check(self) -> IntegrityReport:
        """Compare the indices with each other: every source's recorded provision and chunk
        counts against the documents held, every source-written chunk's source exists and has a
        vector, and the chunk index's vector size matches the store's."""

        def read(hidden: list[str]) -> IntegrityReport:
            visible = visible_query(None, hidden)
            linked = visible_query(None, hidden, extra=[{"exists": {"field": GENERATION_FIELD}}])
            totals = [self._count(index, visible) for index in self.names.data_indices()]
            problems: list[str] = []
            self._check_mapping(problems)
            recorded = self._recorded_counts(visible)
            held_provisions = self._counts_by(self.names.provisions, "doc_id", visible)
            held_chunks = self._counts_by(self.names.chunks, "doc_id", linked)
            listed = [
                *(f"chunks of source {d} are stored but the source is not" for d in sorted(set(held_chunks) - set(recorded))),
                *(f"provisions of source {d} are stored but the source is not"
                  for d in sorted(set(held_provisions) - set(recorded))),
                *(f"source {d} records {n_p} provisions but holds {held_provisions.get(d, 0)}"
                  for d, (n_p, _) in sorted(recorded.items()) if held_provisions.get(d, 0) != n_p),
                *(f"source {d} records {n_c} chunks but holds {held_chunks.get(d, 0)}"
                  for d, (_, n_c) in sorted(recorded.items()) if held_chunks.get(d, 0) != n_c),
            ]  # fmt: skip
            without = self._count(self.names.chunks, {"bool": {**linked["bool"], "must_not": [
                *linked["bool"].get("must_not", []), {"exists": {"field": "embedding"}}]}})  # fmt: skip
            if without:
                listed.append(f"{without} chunks written with their source have no embedding")
            problems.extend(listed[:_MAX_LISTED])
            if len(listed) > _MAX_LISTED:
                problems.append(f"... and {len(listed) - _MAX_LISTED} more like the above")
            return IntegrityReport(not problems, totals[2], totals[1], totals[0], problems)

        return self._ledger.read_consistent(read)

    def _recorded_counts(self, visible: dict[str, Any]) -> dict[str, tuple[int, int]]:
        recorded: dict[str, tuple[int, int]] = {}
        with es_errors(self.url, "reading source counts"):
            hits = scan(self._client, self.names.sources, visible, sort=[{"doc_id": "asc"}],
                        source=["doc_id", "n_provisions", "n_chunks"])  # fmt: skip
            for hit in hits:
                src = hit["_source"]
                recorded[src["doc_id"]] = (int(src["n_provisions"]), int(src["n_chunks"]))
        return recorded

    def _check_mapping(self, problems: list[str]) -> None:
        with es_errors(self.url, f"reading the mapping of {self.names.chunks}"):
            mapping = self._client.indices.get_mapping(index=self.names.chunks)
        properties = mapping[self.names.chunks]["mappings"].get("properties", {})
        vector = properties.get("embedding", {})
        if vector.get("type") != "dense_vector" or vector.get("dims") != self.embedding_dim:
            problems.append(
                f"index {self.names.chunks} maps 'embedding' as {vector.get('type')} with {vector.get('dims')} dimensions, "
                f"expected dense_vector with {self.embedding_dim}"
            )
