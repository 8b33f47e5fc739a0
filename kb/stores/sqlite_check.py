"""Integrity check of the embedded store's file (``kb check``).

Everything is read in one snapshot, so checking never waits for or blocks a writer:

* SQLite's ``quick_check`` and ``foreign_key_check``;
* every chunk's source exists; stored per-source provision and chunk counts match the rows;
* every chunk linked to a source has an embedding of the store's size (and no document has one
  of another size);
* the full-text index has one row per document, every document has BM25 term counts, and the
  token counts of the two agree row by row (both come from the same tokenizer).

``deep=True`` adds FTS5's own ``integrity-check`` (every token of every row against the index).
It is an INSERT command, so it needs the write lock and takes seconds at 100k chunks.
"""

from __future__ import annotations

import sqlite3

from kb.errors import StoreBusyError, StoreError
from kb.stores.base import IntegrityReport
from kb.stores.sqlite_db import SQLiteDatabase

MAX_LISTED = 20  # problems of one kind listed before "... and N more"


def check_store(db: SQLiteDatabase, embedding_dim: int, *, deep: bool = False) -> IntegrityReport:
    problems: list[str] = []
    with db.read("checking the store") as conn:
        totals = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("sources", "provisions", "documents")]
        _check_sqlite(conn, problems)
        _check_rows(conn, problems, embedding_dim)
        _check_text_indexes(conn, problems, n_documents=totals[2])
    if deep:
        _check_fts_content(db, problems)
    return IntegrityReport(not problems, totals[0], totals[1], totals[2], problems)


def _listed(problems: list[str], found: list[str]) -> None:
    problems.extend(found[:MAX_LISTED])
    if len(found) > MAX_LISTED:
        problems.append(f"... and {len(found) - MAX_LISTED} more like the above")


def _check_sqlite(conn: sqlite3.Connection, problems: list[str]) -> None:
    verdict = [r[0] for r in conn.execute("PRAGMA quick_check")]
    if verdict != ["ok"]:
        _listed(problems, [f"sqlite quick_check: {line}" for line in verdict])
    rows = conn.execute("PRAGMA foreign_key_check").fetchall()
    _listed(problems, [f"{table} row {rowid} points to a missing {parent} row" for table, rowid, parent, _ in rows])


def _check_rows(conn: sqlite3.Connection, problems: list[str], dim: int) -> None:
    size = 4 * dim
    checks = [
        ("SELECT id, doc_id FROM documents WHERE doc_id IS NOT NULL AND doc_id NOT IN (SELECT doc_id FROM sources)",
         "chunk {} belongs to source {} which does not exist"),
        (f"SELECT id, length(embedding) / 4 FROM documents WHERE doc_id IS NOT NULL AND "
         f"(embedding IS NULL OR length(embedding) != {size})",
         f"chunk {{}} has an embedding of {{}} dimensions, expected {dim}"),
        (f"SELECT id, length(embedding) / 4 FROM documents WHERE doc_id IS NULL AND embedding IS NOT NULL "
         f"AND length(embedding) != {size}",
         f"document {{}} has an embedding of {{}} dimensions, expected {dim}"),
        ("SELECT doc_id, n_provisions, (SELECT COUNT(*) FROM provisions AS p WHERE p.doc_id = s.doc_id) AS n "
         "FROM sources AS s WHERE n != n_provisions", "source {} records {} provisions but holds {}"),
        ("SELECT doc_id, n_chunks, (SELECT COUNT(*) FROM documents AS d WHERE d.doc_id = s.doc_id) AS n "
         "FROM sources AS s WHERE n != n_chunks", "source {} records {} chunks but holds {}"),
    ]  # fmt: skip
    for sql, message in checks:
        _listed(problems, [message.format(*row) for row in conn.execute(sql)])


def _varints(blob: bytes) -> list[int]:
    """The column sizes FTS5 keeps in ``*_docsize.sz`` (SQLite varints, 7 bits a byte)."""
    values, value = [], 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    return values


def _check_text_indexes(conn: sqlite3.Connection, problems: list[str], *, n_documents: int) -> None:
    indexed = conn.execute("SELECT COUNT(*) FROM documents_fts_docsize").fetchone()[0]
    if indexed != n_documents:
        problems.append(f"full-text index holds {indexed} rows, documents table {n_documents}")
    unranked = conn.execute("SELECT COUNT(*) FROM documents WHERE rid NOT IN (SELECT rid FROM bm25_docs)").fetchone()[0]
    if unranked:
        problems.append(f"{unranked} documents have no BM25 term counts")
    rows = conn.execute(
        "SELECT d.id, f.sz, b.content_len, b.heading_len FROM documents AS d "
        "JOIN documents_fts_docsize AS f ON f.id = d.rid JOIN bm25_docs AS b ON b.rid = d.rid"
    )
    _listed(problems, [
        f"document {doc_id}: full-text index counts {_varints(sz)} tokens, BM25 counts {[content, heading]}"
        for doc_id, sz, content, heading in rows if _varints(sz) != [content, heading]
    ])  # fmt: skip


def _check_fts_content(db: SQLiteDatabase, problems: list[str]) -> None:
    try:
        with db.write("checking the full-text index") as conn:
            conn.execute("INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)")
    except StoreBusyError:
        raise
    except StoreError as err:  # SQLITE_CORRUPT_VTAB, translated by the database layer
        problems.append(f"full-text index does not match the documents table ({err.__cause__ or err})")
