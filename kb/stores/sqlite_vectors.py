"""Embeddings of the embedded store: BLOB encoding and the cached matrix for exact cosine search.

Vectors are stored as float32 little-endian BLOBs. A vector whose values are not exactly
float32 (a Haystack document written with Python doubles) also keeps a float64 copy so
``filter_documents`` returns exactly what was written; search always uses float32.

The search matrix (rows L2-normalised) is built on first use and kept until the store's write
generation (``meta['store.generation']``, bumped in every transaction that changes documents)
moves on, so writes by another process are seen on the next query at the cost of one
primary-key lookup.

    >>> index = VectorIndex(384)                                   # doctest: +SKIP
    >>> rids, scores = index.search(conn, query, allowed=None, top_k=10)  # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

import numpy as np

from kb.errors import QueryError, StoreError
from kb.stores.sqlite_bm25 import positions_of
from kb.stores.sqlite_db import read_generation

F32 = np.dtype("<f4")
F64 = np.dtype("<f8")


def encode_embedding(embedding: Sequence[float] | None, dim: int, *, doc_id: str) -> tuple[bytes | None, bytes | None]:
    """``(float32 blob, float64 blob or None)`` for a document's embedding; checks size and values."""
    if embedding is None:
        return None, None
    exact = np.asarray(embedding, dtype=F64)
    if exact.ndim != 1 or exact.shape[0] != dim:
        raise StoreError(
            f"document {doc_id}: embedding has {exact.size} dimensions, the store holds {dim}-dimensional vectors",
            doc_id=doc_id,
            dims=int(exact.size),
            expected=dim,
        )
    if not np.isfinite(exact).all():
        raise StoreError(f"document {doc_id}: embedding contains NaN or infinity", doc_id=doc_id)
    single = exact.astype(F32)
    keep_exact = not np.array_equal(single.astype(F64), exact)
    return single.tobytes(), exact.tobytes() if keep_exact else None


def decode_embedding(single: bytes | None, exact: bytes | None) -> list[float] | None:
    if exact is not None:
        return np.frombuffer(exact, dtype=F64).tolist()
    if single is not None:
        return np.frombuffer(single, dtype=F32).astype(F64).tolist()
    return None


class VectorIndex:
    """The normalised float32 matrix of all stored embeddings, rebuilt when the generation moves."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._rids = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, dim), dtype=F32)

    def _current(self, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        generation = read_generation(conn)
        with self._lock:
            if generation != self._generation:
                self._load(conn)
            return self._rids, self._matrix

    def _load(self, conn: sqlite3.Connection) -> None:
        # One snapshot: the generation read and the rows read belong together. Rows are copied
        # straight into a preallocated matrix, so loading needs no second copy of the vectors.
        in_txn = conn.in_transaction
        if not in_txn:
            conn.execute("BEGIN")
        try:
            generation = read_generation(conn)
            size = 4 * self.dim
            n = conn.execute("SELECT COUNT(*) FROM documents WHERE length(embedding) = ?", (size,)).fetchone()[0]
            rids = np.empty(n, dtype=np.int64)
            matrix = np.empty((n, self.dim), dtype=F32)
            rows = conn.execute("SELECT rid, embedding FROM documents WHERE length(embedding) = ? ORDER BY rid", (size,))
            for i, (rid, blob) in enumerate(rows):
                rids[i] = rid
                matrix[i] = np.frombuffer(blob, dtype=F32)
        finally:
            if not in_txn:
                conn.execute("COMMIT")
        for start in range(0, n, 8192):  # normalise in slices: no full-size temporary
            block = matrix[start : start + 8192]
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            block /= np.where(norms == 0.0, 1.0, norms)
        self._rids, self._matrix, self._generation = rids, matrix, generation

    def search(
        self, conn: sqlite3.Connection, query: Sequence[float], *, allowed: np.ndarray | None, top_k: int
    ) -> tuple[list[int], list[float]]:
        """Row ids and cosine scores of the ``top_k`` nearest vectors, best first.

        ``allowed`` (sorted row ids) restricts the search to the rows a filter selected.
        """
        q = self.query_vector(query)
        rids, matrix = self._current(conn)
        if allowed is not None:
            positions = positions_of(rids, allowed)  # allowed rows without a vector drop out
            # Gathering many rows copies most of the matrix: then scoring everything is cheaper.
            scores = matrix[positions] @ q if len(positions) * 8 < len(rids) else (matrix @ q)[positions]
            rids = rids[positions]
        else:
            scores = matrix @ q
        if len(scores) == 0:
            return [], []
        k = min(top_k, len(scores))
        best = np.argpartition(scores, len(scores) - k)[-k:]
        best = best[np.argsort(-scores[best], kind="stable")]
        return rids[best].tolist(), scores[best].astype(float).tolist()

    def query_vector(self, query: Sequence[float]) -> np.ndarray:
        try:
            q = np.asarray(query, dtype=F32)
        except (TypeError, ValueError) as err:
            raise QueryError(f"query embedding must be a list of numbers: {err}") from err
        if q.ndim != 1 or q.shape[0] != self.dim:
            raise StoreError(
                f"query embedding has {q.size} dimensions, the store holds {self.dim}-dimensional vectors",
                dims=int(q.size),
                expected=self.dim,
            )
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0.0:
            raise QueryError(f"query embedding must be finite and non-zero (norm {norm})")
        return q / norm
