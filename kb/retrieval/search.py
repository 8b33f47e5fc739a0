"""Hybrid provision search: query understanding -> BM25 + heading BM25 + dense -> fusion.

    >>> searcher = Searcher(store, encoder, settings)                      # doctest: +SKIP
    >>> result = searcher.search("punishment for storing CSAM", top_k=5)  # doctest: +SKIP
    >>> result.hits[0].citation                                            # doctest: +SKIP
    'POCSO Act, 2012, s. 15'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from haystack import Document, Pipeline

from kb.cache import VersionedCache
from kb.embedding import Encoder
from kb.errors import QueryError
from kb.models import Hit, Locator
from kb.query.understand import QueryPlan, understand
from kb.retrieval.fusion import FusedHit, fuse, heading_coverage_list
from kb.retrieval.terms import terms
from kb.retrieval.retrievers import StoreBM25Retriever, StoreEmbeddingRetriever
from kb.settings import Settings
from kb.stores.base import KnowledgeStore


@dataclass
class SearchFilters:
    """User-facing filters. Each list means 'any of'."""

    acts: list[str] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)
    audience: str | None = None
    year: int | None = None

    def key(self) -> tuple:
        """The filters as a hashable value (part of a cache key)."""
        return (tuple(self.acts), tuple(self.doc_types), self.audience, self.year)

    def to_haystack(self) -> dict[str, Any] | None:
        conditions: list[dict[str, Any]] = []
        if self.acts:
            conditions.append({"field": "meta.act_key", "operator": "in", "value": list(self.acts)})
        if self.doc_types:
            conditions.append({"field": "meta.doc_type", "operator": "in", "value": list(self.doc_types)})
        if self.audience:
            conditions.append({"field": "meta.audience", "operator": "==", "value": self.audience})
        if self.year is not None:
            conditions.append({"field": "meta.year", "operator": "==", "value": int(self.year)})
        if not conditions:
            return None
        if len(conditions) == 1:
            return conditions[0]
        return {"operator": "AND", "conditions": conditions}


@dataclass
class SearchResult:
    query: str
    plan: QueryPlan
    hits: list[Hit]
    total: int
    offset: int
    top_k: int
    filters: SearchFilters
    act_filter_applied: str | None = None


def clean_query(query: str, max_chars: int) -> str:
    if not isinstance(query, str):
        raise QueryError(f"query must be text, got {type(query).__name__}", field="query")
    text = query.replace("\x00", " ").strip()
    if not text:
        raise QueryError("query is empty", field="query")
    if len(text) > max_chars:
        raise QueryError(f"query is {len(text)} characters; the limit is {max_chars}", field="query", limit=max_chars)
    return text


class Searcher:
    """Runs the retrieval pipeline and fuses its lists into provision hits."""

    def __init__(self, store: KnowledgeStore, encoder: Encoder, settings: Settings) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings
        cfg = settings.retrieval
        self.pipeline = Pipeline()
        self.pipeline.add_component("bm25", StoreBM25Retriever(store, top_k=cfg.candidates))
        self.pipeline.add_component("heading", StoreBM25Retriever(store, top_k=cfg.candidates, field="heading"))
        self.pipeline.add_component("dense", StoreEmbeddingRetriever(store, top_k=cfg.candidates))
        # A fresh hits list for each caller; the hits themselves are never changed after a search.
        self.cache: VersionedCache[SearchResult] = VersionedCache(
            cfg.result_cache_size, store, copy=lambda r: replace(r, hits=list(r.hits)))

    def warm_up(self) -> None:
        self.encoder.warm_up()

    def _check_top_k(self, top_k: int) -> int:
        limit = self.settings.retrieval.max_top_k
        if not isinstance(top_k, int) or top_k <= 0 or top_k > limit:
            raise QueryError(f"top_k must be between 1 and {limit}, got {top_k!r}", field="top_k", limit=limit)
        return top_k

    def retrieve(self, plan: QueryPlan, filters: dict[str, Any] | None) -> dict[str, list[Document]]:
        # As an array: the pipeline deep-copies every input (see StoreEmbeddingRetriever.run).
        embedding = np.asarray(self.encoder.embed_query(plan.semantic_text or plan.text), dtype=np.float32)
        out = self.pipeline.run(
            {
                "bm25": {"query": plan.keyword_text, "filters": filters},
                "heading": {"query": plan.keyword_text, "filters": filters},
                "dense": {"query_embedding": embedding, "filters": filters},
            }
        )
        return {name: out[name]["documents"] for name in ("bm25", "heading", "dense")}

    def pinned(self, plan: QueryPlan) -> dict[str, Document]:
        """Best chunk of every provision the query cites explicitly (or whose old-code section it names)."""
        pinned: dict[str, Document] = {}
        for key, subsection in plan.target_provisions():
            chunks = self.store.filter_documents({"field": "meta.provision_key", "operator": "==", "value": key})
            if not chunks:
                continue
            chunks.sort(key=lambda d: (d.meta.get("char_start") or 0))
            pinned.setdefault(key, self._chunk_for(key, subsection, chunks))
        return pinned

    def _chunk_for(self, key: str, subsection: str | None, chunks: list[Document]) -> Document:
        """The chunk holding the cited sub-section, else the provision's first chunk."""
        if not subsection:
            return chunks[0]
        provision = self.store.get_provision(key)
        units = [u for u in (provision.subunits if provision else []) if u.path == subsection]
        if not units:
            units = [u for u in (provision.subunits if provision else []) if u.path.startswith(subsection)]
        if units:
            offset = units[0].char_start
            for chunk in chunks:
                if (chunk.meta.get("char_start") or 0) <= offset < (chunk.meta.get("char_end") or 0):
                    return chunk
        return chunks[0]

    def search(
        self, query: str, *, filters: SearchFilters | None = None, top_k: int | None = None, offset: int = 0
    ) -> SearchResult:
        """One page of provisions for ``query``. A repeat of an earlier search on unchanged content
        is answered from :attr:`cache` (``retrieval.result_cache_size``)."""
        text, filters, top_k, offset = self._checked(query, filters, top_k, offset)
        key = self.cache.key(text, filters.key(), top_k, offset)
        remembered = self.cache.recall(key)
        if remembered is not None:
            return remembered
        return self.cache.remember(key, self._search(text, filters, top_k, offset))

    def cached(
        self, query: str, *, filters: SearchFilters | None = None, top_k: int | None = None, offset: int = 0
    ) -> SearchResult | None:
        """What :meth:`search` would return if it is remembered, else ``None``; never searches.
        Checks its arguments as :meth:`search` does. Cheap (one read of the store's version), so a
        server can answer repeats at once and queue only the searches that need the CPU."""
        text, filters, top_k, offset = self._checked(query, filters, top_k, offset)
        return self.cache.recall(self.cache.key(text, filters.key(), top_k, offset))

    def _checked(self, query: str, filters: SearchFilters | None, top_k: int | None,
                 offset: int) -> tuple[str, SearchFilters, int, int]:  # fmt: skip
        text = clean_query(query, self.settings.api.max_query_chars)
        top_k = self._check_top_k(top_k if top_k is not None else self.settings.retrieval.top_k)
        if not isinstance(offset, int) or offset < 0:
            raise QueryError(f"offset must be >= 0, got {offset!r}", field="offset")
        return text, filters or SearchFilters(), top_k, offset

    def _search(self, text: str, filters: SearchFilters, top_k: int, offset: int) -> SearchResult:
        plan = understand(text)
        act_filter = None
        if plan.act_filter and not filters.acts and not plan.citations:
            act_filter = plan.act_filter
        effective = SearchFilters(
            acts=filters.acts or ([act_filter] if act_filter else []),
            doc_types=filters.doc_types,
            audience=filters.audience,
            year=filters.year,
        )
        fused = self._rank(plan, effective.to_haystack())
        if not fused and act_filter:
            # The act named in the query holds nothing relevant here: search everything instead.
            act_filter = None
            fused = self._rank(plan, filters.to_haystack())
        hits = [self._pinpoint(self._to_hit(h), plan) for h in fused[offset : offset + top_k]]
        return SearchResult(
            query=text, plan=plan, hits=hits, total=len(fused), offset=offset, top_k=top_k,
            filters=filters, act_filter_applied=act_filter,
        )

    def _rank(self, plan: QueryPlan, filters: dict[str, Any] | None) -> list[FusedHit]:
        cfg = self.settings.retrieval
        lists = self.retrieve(plan, filters)
        lists["coverage"] = heading_coverage_list(lists, set(terms(plan.keyword_text)))
        pinned = self.pinned(plan)
        boosts = {key: cfg.explicit_boost for key in pinned}
        fused = fuse(
            lists,
            {"bm25": cfg.bm25_weight, "dense": cfg.dense_weight, "heading": cfg.heading_weight,
             "coverage": cfg.coverage_weight},
            k=cfg.rrf_k,
            boosts=boosts,
            pinned=pinned,
            intent_weight=cfg.intent_weight,
            punishment=plan.is_punishment,
            definition=plan.is_definition,
        )
        # Raw cosine of each provision's best dense chunk: the evidence strength answers abstain on.
        cosine: dict[str, float] = {}
        for doc in lists["dense"]:
            key = doc.meta.get("provision_key") or doc.id
            cosine[key] = max(cosine.get(key, -1.0), float(doc.score or 0.0))
        for hit in fused:
            hit.cosine = cosine.get(hit.key, 0.0)
        return fused

    def _pinpoint(self, hit: Hit, plan: QueryPlan) -> Hit:
        """Narrow a hit's citation to the sub-section the query cites, if the provision has it."""
        wanted = dict(plan.target_provisions()).get(hit.provision_key)
        if not wanted:
            return hit
        provision = self.store.get_provision(hit.provision_key)
        if provision is None or not any(u.path == wanted for u in provision.subunits):
            return hit
        return replace(hit, locator=hit.locator.narrowed(subsection=wanted))

    @staticmethod
    def _to_hit(fused: FusedHit) -> Hit:
        doc = fused.document
        return Hit(
            provision_key=fused.key,
            locator=Locator.from_meta(doc.meta),
            passage=doc.content or "",
            score=round(fused.score, 6),
            chunk_id=doc.id,
            signals={**{k: round(v, 6) for k, v in fused.signals.items()}, "cosine": round(fused.cosine, 4)},
        )
