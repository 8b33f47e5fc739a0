"""Sources, provisions and acts of
:class:`~kb.stores.sqlite.SQLiteKnowledgeStore` (a mixin; see ``kb.stores.base`` for the contract).

A provision key (``act:section``) may be held by several sources; every source write takes the
next ``write_seq``, and "the" provision of a key is the one with the highest (written_seq, pid).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from haystack import Document

from kb.errors import NotFoundError, QueryError, StoreError
from kb.models import Provision, SourceRecord
from kb.stores.base import ActSummary
from kb.stores.sqlite_bm25 import index_documents
from kb.stores.sqlite_db import SQLiteDatabase, bump_generation, next_write_seq
from kb.stores.sqlite_rows import INSERT_SQL, document_row
from kb.stores.sqlite_text import natural_sort_key

# The current version of every provision key: most recently written source wins.
CURRENT = """SELECT p.*, ROW_NUMBER() OVER (
    PARTITION BY p.provision_key ORDER BY p.written_seq DESC, p.pid DESC) AS version FROM provisions AS p"""
_SOURCE_COLUMNS = "doc_id, n_provisions, n_chunks, record"


def _json(value: Any, *, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise StoreError(f"{what} cannot be stored as JSON ({err})") from err


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SourcesMixin:
    """Sources with their paths, provisions with their cross references, acts."""

    _db: SQLiteDatabase
    embedding_dim: int

    # --- writing -------------------------------------------------------------------------------
    def write_source(
        self,
        source: SourceRecord,
        provisions: list[Provision],
        chunks: list[Document],
        *,
        replaces: list[str] = (),
    ) -> None:
        """In ONE transaction: delete the sources ``replaces`` and any earlier copy of
        ``source.doc_id`` (keeping that copy's paths), then store ``source``, its provisions and its
        chunks. Stored ``n_provisions``/``n_chunks`` are the lengths of the lists given. Any failure
        (a chunk with a wrong-sized embedding, a chunk id another source owns) rolls everything back.
        """
        if not isinstance(source, SourceRecord):
            raise StoreError(f"write_source expects a SourceRecord, got {type(source).__name__}")
        with self._db.write(f"writing source {source.doc_id}") as conn:
            seq = next_write_seq(conn)
            kept = {r[0] for r in conn.execute("SELECT path FROM source_paths WHERE doc_id = ?", (source.doc_id,))}
            for doc_id in dict.fromkeys([*replaces, source.doc_id]):
                self._delete_source_rows(conn, doc_id)
            record = dataclasses.replace(
                source,
                paths=sorted(kept | set(source.paths)),
                n_provisions=len(provisions),
                n_chunks=len(chunks),
                ingested_at=source.ingested_at or _now(),
            )
            self._insert_source(conn, record, seq)
            self._insert_provisions(conn, record.doc_id, provisions, seq)
            self._insert_chunks(conn, record.doc_id, chunks)
            bump_generation(conn)

    def _insert_source(self, conn: sqlite3.Connection, record: SourceRecord, seq: int) -> None:
        stored = {k: v for k, v in record.to_dict().items() if k not in ("paths", "n_provisions", "n_chunks")}
        conn.execute(
            "INSERT INTO sources(doc_id, title, doc_type, act_key, n_provisions, n_chunks, written_seq, record) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record.doc_id, record.title, record.doc_type, record.act_key, record.n_provisions, record.n_chunks,
             seq, _json(stored, what=f"source {record.doc_id}")),
        )  # fmt: skip
        # A path now holding this content no longer holds whatever it held before.
        conn.executemany(
            "INSERT INTO source_paths(path, doc_id) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET doc_id = excluded.doc_id",
            [(path, record.doc_id) for path in record.paths],
        )

    def _insert_provisions(self, conn: sqlite3.Connection, doc_id: str, provisions: list[Provision], seq: int) -> None:
        for provision in provisions:
            try:
                key = provision.key
            except ValueError as err:
                raise StoreError(f"source {doc_id}: {err}", doc_id=doc_id) from err
            pid = conn.execute(
                "INSERT INTO provisions(doc_id, provision_key, act_key, section, sort_key, written_seq, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc_id, key, provision.locator.act_key, provision.locator.section,
                 natural_sort_key(provision.locator.section or ""), seq,
                 _json(provision.to_dict(), what=f"provision {key} of source {doc_id}")),
            ).lastrowid  # fmt: skip
            conn.executemany(
                "INSERT OR IGNORE INTO provision_refs(target_key, pid) VALUES (?, ?)",
                [(target, pid) for target in provision.cross_refs if target != key],
            )

    def _insert_chunks(self, conn: sqlite3.Connection, doc_id: str, chunks: list[Document]) -> None:
        ids = [getattr(chunk, "id", None) for chunk in chunks]
        clashes = [r[0] for r in conn.execute(
            "SELECT id FROM documents WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))]  # fmt: skip
        if clashes or len(set(ids)) != len(ids):
            clash = clashes[0] if clashes else next(i for i in ids if ids.count(i) > 1)
            raise StoreError(f"source {doc_id}: chunk id {clash} is already stored or repeated", chunk_id=clash)
        conn.executemany(INSERT_SQL, (self._chunk_row(chunk, doc_id) for chunk in chunks))
        index_documents(conn, [r[0] for r in conn.execute("SELECT rid FROM documents WHERE doc_id = ?", (doc_id,))])

    def _chunk_row(self, chunk: Document, doc_id: str) -> tuple[Any, ...]:
        if not isinstance(chunk, Document):
            raise StoreError(f"source {doc_id}: chunks must be Documents, got {type(chunk).__name__}")
        if chunk.meta.get("doc_id") != doc_id:
            raise StoreError(
                f"chunk {chunk.id}: meta doc_id {chunk.meta.get('doc_id')!r} differs from its source {doc_id!r}",
                chunk_id=chunk.id,
            )
        if chunk.embedding is None:
            raise StoreError(f"chunk {chunk.id} of source {doc_id} has no embedding", chunk_id=chunk.id)
        return document_row(chunk, self.embedding_dim, doc_id)

    def _delete_source_rows(self, conn: sqlite3.Connection, doc_id: str) -> bool:
        # Chunks first and explicitly, so their FTS and meta_index rows go through the triggers;
        # deleting the source cascades to its paths, provisions and cross references.
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return conn.execute("DELETE FROM sources WHERE doc_id = ?", (doc_id,)).rowcount > 0

    # --- paths -----------------------------------------------------------------------------------
    def add_source_path(self, doc_id: str, path: str) -> None:
        """Record that content ``doc_id`` is also at ``path``. If ``path`` held other content that
        is now found nowhere else, that source is deleted with its provisions and chunks."""
        with self._db.write(f"adding path {path}") as conn:
            if conn.execute("SELECT 1 FROM sources WHERE doc_id = ?", (doc_id,)).fetchone() is None:
                raise NotFoundError(f"no source with doc_id {doc_id!r}", doc_id=doc_id)
            previous = self._path_owner(conn, path)
            conn.execute(
                "INSERT INTO source_paths(path, doc_id) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET doc_id = excluded.doc_id",
                (path, doc_id),
            )
            if previous not in (None, doc_id):
                self._drop_if_pathless(conn, previous)

    def remove_source_path(self, path: str) -> str | None:
        with self._db.write(f"removing path {path}") as conn:
            owner = self._path_owner(conn, path)
            if owner is not None:
                conn.execute("DELETE FROM source_paths WHERE path = ?", (path,))
                self._drop_if_pathless(conn, owner)
            return owner

    @staticmethod
    def _path_owner(conn: sqlite3.Connection, path: str) -> str | None:
        row = conn.execute("SELECT doc_id FROM source_paths WHERE path = ?", (path,)).fetchone()
        return None if row is None else row[0]

    def _drop_if_pathless(self, conn: sqlite3.Connection, doc_id: str) -> None:
        if conn.execute("SELECT 1 FROM source_paths WHERE doc_id = ?", (doc_id,)).fetchone() is None:
            self._delete_source_rows(conn, doc_id)
            bump_generation(conn)

    def delete_source(self, doc_id: str) -> bool:
        with self._db.write(f"deleting source {doc_id}") as conn:
            deleted = self._delete_source_rows(conn, doc_id)
            if deleted:
                bump_generation(conn)
            return deleted

    # --- reading sources -------------------------------------------------------------------------
    def _sources(self, conn: sqlite3.Connection, where: str, params: Any) -> list[SourceRecord]:
        rows = conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE {where}", params).fetchall()
        records = []
        for doc_id, n_provisions, n_chunks, record in rows:
            paths = [r[0] for r in conn.execute("SELECT path FROM source_paths WHERE doc_id = ? ORDER BY path", (doc_id,))]
            data = {**json.loads(record), "paths": paths, "n_provisions": n_provisions, "n_chunks": n_chunks}
            records.append(SourceRecord.from_dict(data))
        return records

    def get_source(self, doc_id: str) -> SourceRecord | None:
        with self._db.read("reading a source") as conn:
            found = self._sources(conn, "doc_id = ?", (doc_id,))
        return found[0] if found else None

    def source_for_path(self, path: str) -> SourceRecord | None:
        with self._db.read("reading a source") as conn:
            found = self._sources(conn, "doc_id = (SELECT doc_id FROM source_paths WHERE path = ?)", (path,))
        return found[0] if found else None

    def list_sources(self, *, offset: int = 0, limit: int = 100) -> list[SourceRecord]:
        """Sources by title (case-insensitive), then doc id."""
        if offset < 0 or limit <= 0:
            raise QueryError(f"offset must be >= 0 and limit > 0, got offset={offset} limit={limit}")
        with self._db.read("listing sources") as conn:
            return self._sources(conn, "1 ORDER BY title COLLATE NOCASE, doc_id LIMIT ? OFFSET ?", (limit, offset))

    def count_sources(self) -> int:
        with self._db.read("counting sources") as conn:
            return conn.execute("SELECT COUNT(*) FROM sources").fetchone()[0]

    # --- provisions ------------------------------------------------------------------------------
    def get_provision(self, provision_key: str) -> Provision | None:
        with self._db.read("reading a provision") as conn:
            row = conn.execute(
                "SELECT payload FROM provisions WHERE provision_key = ? ORDER BY written_seq DESC, pid DESC LIMIT 1",
                (provision_key,),
            ).fetchone()
        return None if row is None else Provision.from_dict(json.loads(row[0]))

    def get_provisions(self, provision_keys: list[str]) -> dict[str, Provision]:
        with self._db.read("reading provisions") as conn:
            rows = conn.execute(
                f"SELECT provision_key, payload FROM ({CURRENT} WHERE p.provision_key IN "
                "(SELECT value FROM json_each(?))) WHERE version = 1",
                (json.dumps(list(provision_keys)),),
            ).fetchall()
        return {key: Provision.from_dict(json.loads(payload)) for key, payload in rows}

    def list_provisions(self, act_key: str) -> list[Provision]:
        """The current provisions of an Act in natural section order (1, 2, 2A, 3, 10, 42, 42A)."""
        with self._db.read("listing provisions") as conn:
            rows = conn.execute(
                f"SELECT payload FROM ({CURRENT} WHERE p.act_key = ?) WHERE version = 1 ORDER BY sort_key, provision_key",
                (act_key,),
            ).fetchall()
        return [Provision.from_dict(json.loads(payload)) for (payload,) in rows]

    def provisions_of_source(self, doc_id: str) -> list[Provision]:
        """Every provision stored for one source, in the order they were written."""
        with self._db.read("reading provisions of a source") as conn:
            rows = conn.execute("SELECT payload FROM provisions WHERE doc_id = ? ORDER BY pid", (doc_id,)).fetchall()
        return [Provision.from_dict(json.loads(payload)) for (payload,) in rows]

    def referring_provisions(self, provision_key: str) -> list[str]:
        """Keys of current provisions whose cross references name ``provision_key`` (itself excluded)."""
        with self._db.read("reading cross references") as conn:
            rows = conn.execute(
                f"SELECT DISTINCT c.provision_key, c.act_key, c.sort_key FROM ({CURRENT}) AS c "
                "JOIN provision_refs AS r ON r.pid = c.pid WHERE c.version = 1 AND r.target_key = ? "
                "ORDER BY c.act_key, c.sort_key",
                (provision_key,),
            ).fetchall()
        return [key for key, _act, _sort in rows]

    def list_acts(self) -> list[ActSummary]:
        """One summary per act key with provisions; names come from its most recent provision."""
        with self._db.read("listing acts") as conn:
            chunks = dict(conn.execute("SELECT value, COUNT(*) FROM meta_index WHERE key = 'act_key' GROUP BY value"))
            rows = conn.execute(
                f"""WITH cur AS ({CURRENT}),
                latest AS (SELECT act_key, payload, ROW_NUMBER() OVER (
                    PARTITION BY act_key ORDER BY written_seq DESC, pid DESC) AS n FROM provisions)
                SELECT c.act_key, COUNT(*), l.payload FROM cur AS c JOIN latest AS l ON l.act_key = c.act_key AND l.n = 1
                WHERE c.version = 1 GROUP BY c.act_key ORDER BY c.act_key"""
            ).fetchall()
        summaries = []
        for act_key, sections, payload in rows:
            locator = json.loads(payload)["locator"]
            summaries.append(ActSummary(
                act_key=act_key, title=locator.get("act_title", ""), short_name=locator.get("short_name"),
                year=locator.get("year"), doc_type=locator.get("doc_type", "act"), sections=sections,
                chunks=chunks.get(act_key, 0),
            ))  # fmt: skip
        return summaries
