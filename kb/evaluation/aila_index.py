"""The AILA statutes in a temporary embedded store, and the per-statute scores read back from it.

Each statute is written twice, as two kinds of Haystack documents:

* ``kind='statute'``: the whole statute (title + description), heading = title, no embedding.
  BM25 runs on these: FTS5 length normalisation then compares statutes, not fragments.
* ``kind='passage'``: the description cut at word boundaries into pieces of at most
  ``chunking.max_chars`` characters, each prefixed with the title (as the product's chunks are)
  and embedded with the product's encoder. Dense search runs on these; a statute scores its
  best passage (the longest statutes run to 28,000 characters, far past the model's 256 tokens).

Every chunk carries ``meta['provision_key'] = 'S<n>'``, so :func:`kb.retrieval.fusion.fuse`
collapses chunks to statutes exactly as it collapses the product's chunks to provisions.

    >>> index = StatuteIndex.build(data.statutes, encoder, tmp_dir / "aila.sqlite3", max_chars=1200)  # doctest: +SKIP
    >>> index.bm25("punishment for murder")["S2"]                                                # doctest: +SKIP
    12.7
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from haystack import Document

from kb.embedding import Encoder
from kb.evaluation.aila_data import Statute
from kb.stores.sqlite import SQLiteKnowledgeStore

STATUTE = {"field": "meta.kind", "operator": "==", "value": "statute"}
PASSAGE = {"field": "meta.kind", "operator": "==", "value": "passage"}


def cut_words(text: str, max_chars: int) -> list[str]:
    """``text`` in pieces of at most ``max_chars`` (a single longer word stays whole)."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for word in text.split():
        if current and length + 1 + len(word) > max_chars:
            pieces.append(" ".join(current))
            current, length = [], 0
        length += len(word) + (1 if current else 0)
        current.append(word)
    if current:
        pieces.append(" ".join(current))
    return pieces or [""]


def statute_documents(statute: Statute, max_chars: int) -> list[Document]:
    meta = {"provision_key": statute.id, "heading": statute.title}
    docs = [Document(id=f"{statute.id}", content=f"{statute.title}. {statute.description}", meta={**meta, "kind": "statute"})]
    for n, piece in enumerate(cut_words(statute.description, max_chars), start=1):
        docs.append(Document(id=f"{statute.id}#{n}", content=f"{statute.title}. {piece}", meta={**meta, "kind": "passage"}))
    return docs


def best_per_statute(docs: list[Document]) -> dict[str, float]:
    """Score of each statute's best document."""
    scores: dict[str, float] = {}
    for doc in docs:
        key = doc.meta["provision_key"]
        score = float(doc.score or 0.0)
        if key not in scores or score > scores[key]:
            scores[key] = score
    return scores


@dataclass
class StatuteIndex:
    """The store holding the statutes, with the size of each kind (BM25/dense fetch everything)."""

    store: SQLiteKnowledgeStore
    encoder: Encoder
    n_statutes: int
    n_passages: int
    _passages: tuple[list[str], np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, statutes: dict[str, Statute], encoder: Encoder, path: Path, *, max_chars: int, dim: int) -> StatuteIndex:
        docs = [d for statute in statutes.values() for d in statute_documents(statute, max_chars)]
        passages = [d for d in docs if d.meta["kind"] == "passage"]
        vectors = encoder.embed_texts([d.content for d in passages])
        embedded = {d.id: v for d, v in zip(passages, vectors, strict=True)}
        store = SQLiteKnowledgeStore(path, embedding_dim=dim)
        store.write_documents([Document(id=d.id, content=d.content, meta=d.meta, embedding=embedded.get(d.id)) for d in docs])
        return cls(store=store, encoder=encoder, n_statutes=len(statutes), n_passages=len(passages))

    # --- raw store results (chunk lists, for kb.retrieval.fusion) ------------------------------
    def bm25_docs(self, text: str, *, field: str = "content") -> list[Document]:
        return self.store.bm25_retrieval(text, STATUTE, self.n_statutes, field=field)

    def dense_docs(self, embedding: list[float]) -> list[Document]:
        return self.store.embedding_retrieval(embedding, PASSAGE, self.n_passages)

    # --- per-statute scores -----------------------------------------------------------------
    def bm25(self, text: str, *, field: str = "content") -> dict[str, float]:
        """BM25 score of every statute matching ``text``; unmatched statutes are absent."""
        return best_per_statute(self.bm25_docs(text, field=field))

    def dense(self, embedding: list[float]) -> dict[str, float]:
        """Cosine of each statute's best passage."""
        return best_per_statute(self.dense_docs(embedding))

    def dense_max_sim(self, sentences: np.ndarray) -> dict[str, float]:
        """Per statute, the best cosine over all (query sentence, statute passage) pairs.

        One matrix product over the stored passage vectors instead of a store query per
        sentence: the same exact cosine as :meth:`dense`, without building ~500 Documents for
        each of a query's ~20 sentences.
        """
        keys, matrix = self._passage_matrix()
        best_passage = (np.asarray(sentences, dtype=np.float32) @ matrix.T).max(axis=0)
        scores: dict[str, float] = {}
        for key, score in zip(keys, best_passage.tolist(), strict=True):
            scores[key] = max(scores.get(key, -1.0), score)
        return scores

    def _passage_matrix(self) -> tuple[list[str], np.ndarray]:
        if self._passages is None:
            docs = self.store.filter_documents(PASSAGE)
            matrix = np.asarray([d.embedding for d in docs], dtype=np.float32)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            self._passages = ([d.meta["provision_key"] for d in docs], matrix)
        return self._passages

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.encoder.embed_texts(texts), dtype=np.float32)

    def close(self) -> None:
        self.store.close()
