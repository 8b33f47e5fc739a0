"""The embedded default store: one SQLite file holding sources, provisions, chunks (Haystack
documents with their embeddings) and an FTS5 index.

It implements :class:`kb.stores.base.KnowledgeStore` and Haystack's ``DocumentStore`` protocol
(tested with Haystack's own contract suite). Design notes:

* **Concurrency.** WAL journal: any number of readers, in this or other processes, read while
  one writer writes. Each thread has its own connection. Writes are single ``BEGIN IMMEDIATE``
  transactions waiting up to ``busy_timeout_ms`` for another writer; a whole ingest run can take
  :meth:`SQLiteKnowledgeStore.writer_lock` to keep a second ingest out.
* **Search.** BM25 uses the FTS5 tokenizer (:mod:`kb.stores.sqlite_text`) and FTS5's ``bm25()``
  formula, scored from postings arrays cached per process (:mod:`kb.stores.sqlite_bm25`; FTS5's
  own ranking is 20-50x slower at 100k chunks). Dense search is exact cosine over a cached
  matrix (:mod:`kb.stores.sqlite_vectors`). Both caches follow a write-generation counter, so
  another process's writes are seen on the next query. Filters are SQL
  (:mod:`kb.stores.sqlite_filters`).
* **Errors.** SQLite failures become :class:`~kb.errors.StoreError` naming the file (disk full,
  read-only directory, locked), the original error kept as ``__cause__``.

    >>> store = SQLiteKnowledgeStore(tmp_path / "kb.sqlite3")            # doctest: +SKIP
    >>> store.write_documents([Document(content="Punishment for child sexual abuse material")])
    1
    >>> [d.content for d in store.bm25_retrieval("child abuse material")]
    ['Punishment for child sexual abuse material']
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from haystack import default_from_dict, default_to_dict

from kb.cache import LRUCache
from kb.errors import StoreError
from kb.stores.base import IntegrityReport
from kb.stores.sqlite_bm25 import BM25Index, index_documents
from kb.stores.sqlite_check import check_store
from kb.stores.sqlite_db import RESERVED_META_PREFIX, SQLiteDatabase, bump_generation, get_meta, read_generation, set_meta
from kb.stores.sqlite_documents import DocumentsMixin
from kb.stores.sqlite_sources import SourcesMixin
from kb.stores.sqlite_vectors import VectorIndex


class SQLiteKnowledgeStore(DocumentsMixin, SourcesMixin):
    """Knowledge store in one SQLite file (see the module docstring).

        >>> store = SQLiteKnowledgeStore(".kb/kb.sqlite3", embedding_dim=384)   # doctest: +SKIP
        >>> store.write_source(record, provisions, chunks, replaces=[old_doc_id])
        >>> store.get_provision("pocso:19").locator.citation()
        'POCSO Act, 2012, s. 19'
        >>> store.bm25_retrieval("duty to report", {"field": "meta.audience", "operator": "==", "value": "police"})

    :param path: the database file; created with its schema when missing (its directory must exist).
    :param busy_timeout_ms: how long a write waits for another writer before
        :class:`~kb.errors.StoreBusyError`.
    :param embedding_dim: size of every embedding written and searched. Vectors of another size
        already in the file (from a model used before) are left out of dense search and reported
        by :meth:`check` until a rebuild rewrites them.
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 30_000, embedding_dim: int = 384) -> None:
        if embedding_dim <= 0:
            raise StoreError(f"embedding_dim must be > 0, got {embedding_dim}")
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.embedding_dim = embedding_dim
        self._db = SQLiteDatabase(self.path, busy_timeout_ms=busy_timeout_ms)
        self._vectors = VectorIndex(embedding_dim)
        self._bm25 = BM25Index()
        self._allowed_cache = LRUCache(32)  # filter -> allowed row ids, keyed with the write generation
        unindexed = self._db.initialise(embedding_dim)
        if unindexed:
            with self._db.write("indexing older documents for BM25") as conn:
                index_documents(conn, unindexed)
                bump_generation(conn)

    def __repr__(self) -> str:
        return f"SQLiteKnowledgeStore({str(self.path)!r}, embedding_dim={self.embedding_dim})"

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self, path=str(self.path), busy_timeout_ms=self.busy_timeout_ms, embedding_dim=self.embedding_dim
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SQLiteKnowledgeStore:
        return default_from_dict(cls, data)

    # --- housekeeping --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._db.read("reading meta") as conn:
            return get_meta(conn, key)

    def content_version(self) -> str:
        """The write generation: every write of chunks, provisions or sources moves it, in one
        transaction with the write (see :func:`kb.stores.sqlite_db.bump_generation`)."""
        with self._db.read("reading the write generation") as conn:
            return str(read_generation(conn))

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting of the index (e.g. its identity). Keys starting ``store.`` are the store's own."""
        if key.startswith(RESERVED_META_PREFIX):
            raise StoreError(f"meta key {key!r} is reserved for the store itself", key=key)
        if not isinstance(value, str):
            raise StoreError(f"meta value for {key!r} must be a string, got {type(value).__name__}", key=key)
        with self._db.write(f"setting meta {key}") as conn:
            set_meta(conn, key, value)

    @contextmanager
    def writer_lock(self, timeout_s: float = 30.0) -> Iterator[None]:
        """Exclusive lock on ``<file>.lock`` for a whole ingest run; :class:`~kb.errors.StoreBusyError`
        after ``timeout_s``.

            >>> with store.writer_lock(timeout_s=5):                  # doctest: +SKIP
            ...     store.write_source(record, provisions, chunks)
        """
        with self._db.writer_lock(timeout_s):
            yield

    def check(self, *, deep: bool = False) -> IntegrityReport:
        """Verify the file without blocking writers (see :mod:`kb.stores.sqlite_check`);
        ``deep`` adds FTS5's token-by-token check, which takes the write lock."""
        return check_store(self._db, self.embedding_dim, deep=deep)

    def close(self) -> None:
        """Close every thread's connection; the store cannot be used afterwards."""
        self._db.close()
