"""Haystack ``DocumentStore`` protocol, its extended operations and the two retrieval primitives
of :class:`~kb.stores.sqlite.SQLiteKnowledgeStore` (a mixin; the class combines it with
:class:`~kb.stores.sqlite_sources.SourcesMixin`).

Documents written through :meth:`write_documents` are plain Haystack documents: they belong to no
source (``documents.doc_id`` is NULL) even if their meta carries a ``doc_id``; only
:meth:`write_source` links chunks to a source.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils.filters import document_matches_filter

from kb.cache import LRUCache
from kb.errors import QueryError
from kb.stores.sqlite_bm25 import BM25Index, index_documents
from kb.stores.sqlite_db import SQLiteDatabase, bump_generation, read_generation
from kb.stores.sqlite_filters import CompiledFilter, compile_filters
from kb.stores.sqlite_rows import DOC_COLUMNS, DOC_COLUMNS_NO_EMBEDDING, INSERT_SQL, UPSERT_SQL, document_row, meta_json, row_document
from kb.stores.sqlite_text import bm25_terms, check_top_k, heading_text
from kb.stores.sqlite_vectors import VectorIndex

_JSON_TYPES = {"true": "boolean", "false": "boolean", "integer": "int", "real": "float"}


def _typed(json_type: str | None, value: Any) -> Any:
    """A value from ``json_extract`` back in its Python type (JSON true is SQL 1)."""
    if json_type in ("true", "false"):
        return json_type == "true"
    if json_type in ("array", "object"):
        return json.loads(value)
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("dict", frozenset((k, _hashable(v)) for k, v in value.items()))
    return value


def _meta_key_path(field: str) -> str:
    """JSON path of a meta key as the metadata helpers name it (``meta.`` optional, dots literal)."""
    key = field.removeprefix("meta.")
    if not key or '"' in key:
        raise QueryError(f"metadata field name {field!r} cannot be addressed (empty or contains '\"')")
    return f'$."{key}"'


class DocumentsMixin:
    """Chunks as Haystack documents: protocol, extended operations, BM25 and dense retrieval."""

    _db: SQLiteDatabase
    _vectors: VectorIndex
    _bm25: BM25Index
    _allowed_cache: LRUCache  # (write generation, filter) -> allowed row ids
    embedding_dim: int

    # --- helpers -----------------------------------------------------------------------------
    def _where(
        self, conn: sqlite3.Connection, filters: dict[str, Any] | None, compiled: CompiledFilter | None = None
    ) -> tuple[str, dict[str, Any]]:
        """A condition on ``documents AS d`` for ``filters``; the odd filters SQL cannot express
        are evaluated in Python here and come back as a list of row ids."""
        compiled = compiled or compile_filters(filters)
        if compiled.sql is not None:
            return compiled.sql, compiled.params
        rids = [rid for rid, doc in self._iter_documents(conn) if document_matches_filter(compiled.python, doc)]
        return "d.rid IN (SELECT value FROM json_each(:fallback_rids))", {"fallback_rids": json.dumps(rids)}

    def _allowed(self, conn: sqlite3.Connection, filters: dict[str, Any] | None) -> np.ndarray | None:
        """Sorted row ids a retrieval filter lets through; ``None`` when there is no filter.

        Kept per write generation: the same few filters (an Act, an audience) come back with
        nearly every query, and at 100k chunks collecting their rows costs more than the search.
        """
        if not filters:
            return None
        key = (read_generation(conn), json.dumps(filters, sort_keys=True, default=repr))
        allowed = self._allowed_cache.get(key)
        if allowed is None:
            compiled = compile_filters(filters)
            if compiled.rowset is not None:
                rows = conn.execute(f"SELECT * FROM ({compiled.rowset}) ORDER BY 1", compiled.rowset_params).fetchall()
            else:
                where, params = self._where(conn, filters, compiled)
                rows = conn.execute(f"SELECT d.rid FROM documents AS d WHERE {where} ORDER BY d.rid", params).fetchall()
            allowed = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            self._allowed_cache.put(key, allowed)
        return allowed

    def _index_text(self, conn: sqlite3.Connection, ids: list[str]) -> None:
        """Refresh the BM25 term counts of the documents ``ids`` just inserted or changed."""
        rids = [r[0] for r in conn.execute(
            "SELECT rid FROM documents WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))]  # fmt: skip
        index_documents(conn, rids)

    def _iter_documents(self, conn: sqlite3.Connection, where: str = "1", params: Any = ()) -> Iterator[tuple[int, Document]]:
        for row in conn.execute(f"SELECT {DOC_COLUMNS} FROM documents AS d WHERE {where} ORDER BY d.rid", params):
            yield row[0], row_document(row)

    def _documents_by_rids(
        self, conn: sqlite3.Connection, ranked: list[tuple[int, float]], *, with_embedding: bool
    ) -> list[Document]:
        """Documents of ``(row id, score)`` pairs, in the given order, each with its score."""
        columns = DOC_COLUMNS if with_embedding else DOC_COLUMNS_NO_EMBEDDING
        rows = {row[0]: row for row in conn.execute(
            f"SELECT {columns} FROM documents AS d WHERE d.rid IN (SELECT value FROM json_each(?))",
            (json.dumps([rid for rid, _ in ranked]),),
        )}  # fmt: skip
        return [row_document(rows[rid], with_embedding=with_embedding, score=score) for rid, score in ranked]

    def _refresh_source_counts(self, conn: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
        conn.execute(
            "UPDATE sources SET n_chunks = (SELECT COUNT(*) FROM documents WHERE documents.doc_id = sources.doc_id) "
            "WHERE doc_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(doc_ids))),),
        )

    def _delete_where(self, conn: sqlite3.Connection, where: str, params: Any) -> int:
        linked = [r[0] for r in conn.execute(f"SELECT DISTINCT d.doc_id FROM documents AS d WHERE {where} AND d.doc_id IS NOT NULL", params)]
        deleted = conn.execute(f"DELETE FROM documents AS d WHERE {where}", params).rowcount
        if linked:
            self._refresh_source_counts(conn, linked)
        if deleted:
            bump_generation(conn)
        return deleted

    # --- Haystack DocumentStore protocol ---------------------------------------------------
    def count_documents(self) -> int:
        with self._db.read("counting documents") as conn:
            return conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Documents matching Haystack ``filters``, in the order they were first written."""
        with self._db.read("filtering documents") as conn:
            where, params = self._where(conn, filters)
            return [doc for _rid, doc in self._iter_documents(conn, where, params)]

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Write documents in one transaction; ``NONE`` means ``FAIL``. Returns how many were written."""
        if isinstance(documents, (str, bytes)) or not isinstance(documents, (list, tuple)):
            raise ValueError(f"write_documents expects a list of Documents, got {type(documents).__name__}")
        for doc in documents:
            if not isinstance(doc, Document):
                raise ValueError(f"write_documents expects a list of Documents, found {type(doc).__name__}: {doc!r:.80}")
        if not documents:
            return 0
        policy = DuplicatePolicy.FAIL if policy == DuplicatePolicy.NONE else policy
        with self._db.write("writing documents") as conn:
            existing = {r[0] for r in conn.execute(
                "SELECT id FROM documents WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps([d.id for d in documents]),),
            )}  # fmt: skip
            chosen = self._apply_policy(documents, existing, policy)
            sql = UPSERT_SQL if policy == DuplicatePolicy.OVERWRITE else INSERT_SQL
            conn.executemany(sql, (document_row(doc, self.embedding_dim, None) for doc in chosen))
            if chosen:
                self._index_text(conn, [doc.id for doc in chosen])
                bump_generation(conn)
            return len(chosen)

    @staticmethod
    def _apply_policy(documents: Iterable[Document], existing: set[str], policy: DuplicatePolicy) -> list[Document]:
        chosen: dict[str, Document] = {}
        for doc in documents:
            seen = doc.id in existing or doc.id in chosen
            if seen and policy == DuplicatePolicy.FAIL:
                raise DuplicateDocumentError(f"ID '{doc.id}' already exists.")
            if seen and policy == DuplicatePolicy.SKIP:
                continue
            chosen.pop(doc.id, None)  # OVERWRITE: the last copy in the batch wins
            chosen[doc.id] = doc
        return list(chosen.values())

    def delete_documents(self, document_ids: list[str]) -> None:
        with self._db.write("deleting documents") as conn:
            self._delete_where(conn, "d.id IN (SELECT value FROM json_each(:ids))", {"ids": json.dumps(list(document_ids))})

    # --- extended operations --------------------------------------------------------------
    def delete_all_documents(self) -> None:
        """Empty the store: every chunk, and with them every source and provision (a provision
        whose chunks are gone could be cited but never found). ``meta`` entries are kept."""
        with self._db.write("deleting all documents") as conn:
            conn.execute("DELETE FROM documents")
            conn.execute("DELETE FROM sources")
            bump_generation(conn)

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        with self._db.write("deleting documents by filter") as conn:
            where, params = self._where(conn, filters)
            return self._delete_where(conn, where, params)

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the meta of every matching document (top-level keys replaced)."""
        if not isinstance(meta, dict):
            raise ValueError(f"meta must be a dict, got {type(meta).__name__}: {meta!r}")
        with self._db.write("updating documents by filter") as conn:
            where, params = self._where(conn, filters)
            rows = conn.execute(f"SELECT d.rid, d.id, d.meta FROM documents AS d WHERE {where}", params).fetchall()
            updates = []
            for rid, doc_id, old in rows:
                merged = {**json.loads(old), **meta}
                updates.append((meta_json(merged, doc_id=doc_id), heading_text(merged), rid))
            conn.executemany("UPDATE documents SET meta = ?, heading = ? WHERE rid = ?", updates)
            if updates:
                index_documents(conn, [rid for _meta, _heading, rid in updates])
                bump_generation(conn)
            return len(updates)

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        with self._db.read("counting documents") as conn:
            where, params = self._where(conn, filters)
            return conn.execute(f"SELECT COUNT(*) FROM documents AS d WHERE {where}", params).fetchone()[0]

    def _field_values(self, field: str, filters: dict[str, Any] | None, *, distinct: bool) -> list[Any]:
        path = _meta_key_path(field)
        with self._db.read("reading metadata values") as conn:
            where, params = self._where(conn, filters)
            rows = conn.execute(
                f"SELECT {'DISTINCT' if distinct else ''} json_type(d.meta, :path) AS t, json_extract(d.meta, :path) "
                f"FROM documents AS d WHERE {where} AND t IS NOT NULL AND t != 'null'",
                {**params, "path": path},
            ).fetchall()
        return [_typed(t, v) for t, v in rows]

    def count_unique_metadata_by_filter(self, filters: dict[str, Any], metadata_fields: list[str]) -> dict[str, int]:
        return {
            field.removeprefix("meta."): len({_hashable(v) for v in self._field_values(field, filters, distinct=True)})
            for field in metadata_fields
        }

    def get_metadata_fields_info(self) -> dict[str, dict[str, str]]:
        """``{field: {"type": keyword|int|float|boolean}}``; a field seen with several types
        reports the type of its most recently written value."""
        with self._db.read("reading metadata fields") as conn:
            rows = conn.execute(
                "SELECT t.key, t.type, MAX(d.rid) FROM documents AS d, json_each(d.meta) AS t "
                "WHERE t.type != 'null' GROUP BY t.key, t.type ORDER BY 3"
            ).fetchall()
        return {key: {"type": _JSON_TYPES.get(kind, "keyword")} for key, kind, _ in rows}

    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]:
        """Smallest and largest value of a numeric or text field; ``None`` for both when the field
        is missing or mixes numbers and text."""
        values = [v for v in self._field_values(metadata_field, None, distinct=True) if isinstance(v, (int, float, str))]
        numbers = [v for v in values if not isinstance(v, str)]
        if not values or (numbers and len(numbers) != len(values)):
            return {"min": None, "max": None}
        return {"min": min(values), "max": max(values)}

    def get_metadata_field_unique_values(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """A page of distinct values (1, 1.0, "1" and True stay distinct) and their total count."""
        unique: dict[tuple[str, Any], Any] = {}
        for value in self._field_values(metadata_field, filters, distinct=True):
            unique.setdefault((type(value).__name__, _hashable(value)), value)
        if search_term:
            needle = search_term.lower()
            unique = {k: v for k, v in unique.items() if needle in str(v).lower()}
        ordered = sorted(unique, key=lambda k: (str(unique[k]), k[0]))
        return [unique[k] for k in ordered[from_ : from_ + size]], len(ordered)

    # --- retrieval ---------------------------------------------------------------------------
    def bm25_retrieval(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int = 10, *, field: str = "content"
    ) -> list[Document]:
        """Chunks ranked by BM25 over ``field`` ('content' or 'heading'), best first.

        ``query`` is user text: it is tokenised, English stopwords are dropped and the remaining
        terms are OR-ed; nothing in it is read as query syntax. ``Document.score`` equals the
        negated FTS5 ``bm25()`` of the quoted terms (see :mod:`kb.stores.sqlite_bm25`): positive,
        higher is better. Nothing searchable left -> ``[]``.
        """
        terms = bm25_terms(field, query, top_k)
        if not terms:
            return []
        with self._db.read("searching documents") as conn:
            stems = self._bm25.stems(conn, terms)
            allowed = self._allowed(conn, filters)
            rids, scores = self._bm25.search(conn, stems, field, allowed=allowed, top_k=top_k)
            return self._documents_by_rids(conn, list(zip(rids, scores, strict=True)), with_embedding=False)

    def embedding_retrieval(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        *,
        return_embedding: bool = False,
    ) -> list[Document]:
        """Chunks ranked by exact cosine similarity to ``query_embedding`` (``Document.score``).

        Raises :class:`~kb.errors.StoreError` naming both sizes when the query has the wrong
        dimension.
        """
        check_top_k(top_k)
        self._vectors.query_vector(query_embedding)  # fail fast, before touching the database
        with self._db.read("searching embeddings") as conn:
            allowed = self._allowed(conn, filters)
            rids, scores = self._vectors.search(conn, query_embedding, allowed=allowed, top_k=top_k)
            return self._documents_by_rids(conn, list(zip(rids, scores, strict=True)), with_embedding=return_embedding)
