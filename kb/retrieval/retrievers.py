"""Thin retriever components over a :class:`~kb.stores.base.KnowledgeStore`.

The store owns the query primitives; these components only validate arguments and call them,
so the same pipeline runs on the embedded store and on Elasticsearch.

    >>> retriever = StoreBM25Retriever(store, top_k=50)            # doctest: +SKIP
    >>> retriever.run(query="punishment for child pornography")["documents"][0].meta["citation"]  # doctest: +SKIP
    'POCSO Act, 2012, s. 15'
"""

from __future__ import annotations

from typing import Any

import numpy as np
from haystack import Document, component

from kb.stores.base import KnowledgeStore


def _check_top_k(top_k: int) -> int:
    if not isinstance(top_k, int) or top_k <= 0:
        raise ValueError(f"top_k must be > 0, got {top_k!r}")
    return top_k


@component
class StoreBM25Retriever:
    """BM25 over chunk text (``field='content'``) or section headings (``field='heading'``)."""

    def __init__(self, store: KnowledgeStore, *, top_k: int = 100, field: str = "content") -> None:
        if field not in ("content", "heading"):
            raise ValueError(f"field must be 'content' or 'heading', got {field!r}")
        self.store = store
        self.top_k = _check_top_k(top_k)
        self.field = field

    @component.output_types(documents=list[Document])
    def run(self, query: str, filters: dict[str, Any] | None = None, top_k: int | None = None) -> dict[str, Any]:
        k = _check_top_k(top_k if top_k is not None else self.top_k)
        if not query or not query.strip():
            return {"documents": []}
        return {"documents": self.store.bm25_retrieval(query, filters, k, field=self.field)}


@component
class StoreEmbeddingRetriever:
    """Exact cosine similarity over chunk embeddings."""

    def __init__(self, store: KnowledgeStore, *, top_k: int = 100) -> None:
        self.store = store
        self.top_k = _check_top_k(top_k)

    @component.output_types(documents=list[Document])
    def run(
        self, query_embedding: list[float] | np.ndarray, filters: dict[str, Any] | None = None, top_k: int | None = None
    ) -> dict[str, Any]:
        """``query_embedding`` may be a numpy vector, and the stores take it as it is: a pipeline
        deep-copies its inputs, and one array copies in microseconds where a list of 384 floats costs
        milliseconds a search."""
        k = _check_top_k(top_k if top_k is not None else self.top_k)
        return {"documents": self.store.embedding_retrieval(query_embedding, filters, k)}
