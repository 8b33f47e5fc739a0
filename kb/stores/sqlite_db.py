"""The SQLite file behind :class:`~kb.stores.sqlite.SQLiteKnowledgeStore`: schema, connections,
transactions, error translation and the cross-process writer lock.

One connection per thread (``threading.local``); WAL journal so readers in other processes keep
reading while one writer writes; every write is one ``BEGIN IMMEDIATE`` transaction, so a crash
leaves the previous state. SQLite failures become :class:`~kb.errors.StoreError` with the file
named and the original error kept as ``__cause__``.

    >>> db = SQLiteDatabase(tmp / "kb.sqlite3", busy_timeout_ms=5000)   # doctest: +SKIP
    >>> with db.write("saving notes") as conn:                          # doctest: +SKIP
    ...     conn.execute("INSERT INTO meta VALUES ('note', 'x')")
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import StoreBusyError, StoreError
from kb.stores.base import KEYWORD_FIELDS
from kb.stores.sqlite_text import FTS_TOKENIZE

SCHEMA_VERSION = 1
RESERVED_META_PREFIX = "store."
# Top-level chunk meta fields copied into `meta_index` (arrays flattened) so equality, `in` and
# range filters on them are index lookups instead of a JSON parse of every row.
INDEXED_FIELDS = (*KEYWORD_FIELDS, "year")

_INDEXED_SQL = ", ".join(f"'{name}'" for name in INDEXED_FIELDS)
_INDEX_NEW_ROW = f"""
    INSERT OR IGNORE INTO meta_index(doc, key, value)
    SELECT new.rid, t.key, t.value FROM json_each(new.meta) AS t
     WHERE t.key IN ({_INDEXED_SQL}) AND t.type NOT IN ('null', 'array', 'object')
    UNION ALL
    SELECT new.rid, t.key, e.value FROM json_each(new.meta) AS t, json_each(t.value) AS e
     WHERE t.key IN ({_INDEXED_SQL}) AND t.type = 'array' AND e.type NOT IN ('null', 'array', 'object');"""

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS sources (
        doc_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        doc_type TEXT NOT NULL,
        act_key TEXT,
        n_provisions INTEGER NOT NULL,
        n_chunks INTEGER NOT NULL,
        written_seq INTEGER NOT NULL,
        record TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS source_paths (
        path TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES sources(doc_id) ON DELETE CASCADE)""",
    "CREATE INDEX IF NOT EXISTS source_paths_doc ON source_paths(doc_id)",
    """CREATE TABLE IF NOT EXISTS provisions (
        pid INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES sources(doc_id) ON DELETE CASCADE,
        provision_key TEXT NOT NULL,
        act_key TEXT NOT NULL,
        section TEXT NOT NULL,
        sort_key TEXT NOT NULL,
        written_seq INTEGER NOT NULL,
        payload TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS provisions_key ON provisions(provision_key, written_seq)",
    "CREATE INDEX IF NOT EXISTS provisions_act ON provisions(act_key, sort_key)",
    "CREATE INDEX IF NOT EXISTS provisions_doc ON provisions(doc_id)",
    """CREATE TABLE IF NOT EXISTS provision_refs (
        target_key TEXT NOT NULL,
        pid INTEGER NOT NULL REFERENCES provisions(pid) ON DELETE CASCADE,
        PRIMARY KEY (target_key, pid)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS provision_refs_pid ON provision_refs(pid)",
    # embedding: float32 little-endian; embedding_exact: float64, only when the float32 copy
    # would not give back the written floats (Haystack documents must round-trip exactly).
    """CREATE TABLE IF NOT EXISTS documents (
        rid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        content TEXT,
        heading TEXT NOT NULL DEFAULT '',
        meta TEXT NOT NULL DEFAULT '{}',
        embedding BLOB,
        embedding_exact BLOB,
        blob BLOB,
        blob_info TEXT,
        sparse TEXT,
        doc_id TEXT REFERENCES sources(doc_id) ON DELETE CASCADE)""",
    "CREATE INDEX IF NOT EXISTS documents_doc ON documents(doc_id)",
    """CREATE TABLE IF NOT EXISTS meta_index (
        key TEXT NOT NULL,
        value NOT NULL,
        doc INTEGER NOT NULL REFERENCES documents(rid) ON DELETE CASCADE,
        PRIMARY KEY (key, value, doc)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS meta_index_doc ON meta_index(doc)",
    # Term counts per document for BM25 ranking (see kb.stores.sqlite_bm25); written by Python
    # after every insert or update of a document, removed by the triggers below.
    "CREATE TABLE IF NOT EXISTS bm25_terms (tid INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)",
    """CREATE TABLE IF NOT EXISTS bm25_docs (
        rid INTEGER PRIMARY KEY REFERENCES documents(rid) ON DELETE CASCADE,
        content_len INTEGER NOT NULL,
        heading_len INTEGER NOT NULL,
        postings BLOB NOT NULL)""",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
        content, heading, content='documents', content_rowid='rid', tokenize="{FTS_TOKENIZE}")""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
        INSERT INTO documents_fts(rowid, content, heading) VALUES (new.rid, new.content, new.heading);
        {_INDEX_NEW_ROW}
    END""",
    """CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, content, heading)
        VALUES ('delete', old.rid, old.content, old.heading);
        DELETE FROM meta_index WHERE doc = old.rid;
        DELETE FROM bm25_docs WHERE rid = old.rid;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE OF content, heading, meta ON documents BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, content, heading)
        VALUES ('delete', old.rid, old.content, old.heading);
        INSERT INTO documents_fts(rowid, content, heading) VALUES (new.rid, new.content, new.heading);
        DELETE FROM meta_index WHERE doc = old.rid;
        DELETE FROM bm25_docs WHERE rid = old.rid;
        {_INDEX_NEW_ROW}
    END""",
]
# Per connection: FTS5's tokenizer made callable (rows in, token counts out through fts5vocab).
TEMP_SCHEMA = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS temp.tokenize USING fts5(content, heading, tokenize="{FTS_TOKENIZE}")""",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.tokenize_terms USING fts5vocab(temp, tokenize, instance)",
]


def translate_error(err: sqlite3.Error, path: Path, action: str, busy_timeout_ms: int) -> StoreError:
    """A StoreError that says what went wrong with which file, in words an operator can act on."""
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return StoreBusyError(
            f"{path}: another writer holds the database; gave up after {busy_timeout_ms} ms while {action}",
            path=str(path),
        )
    if "full" in text:
        return StoreError(f"{path}: disk full while {action}; nothing was written, free space and retry", path=str(path))
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path}: cannot write while {action}, the file or its directory is read-only ({err})", path=str(path))
    if "unable to open" in text:
        return StoreError(
            f"{path}: cannot open the database file ({err}); check that the directory exists and is writable",
            path=str(path),
        )
    return StoreError(f"{path}: SQLite failed while {action}: {err}", path=str(path))


class SQLiteDatabase:
    """Connections, transactions and schema of one store file."""

    def __init__(self, path: Path, *, busy_timeout_ms: int) -> None:
        if busy_timeout_ms <= 0:
            raise StoreError(f"busy_timeout_ms must be > 0, got {busy_timeout_ms}")
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    # --- connections and transactions -------------------------------------------------------
    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as err:
            raise translate_error(err, self.path, action, self.busy_timeout_ms) from err
        except sqlite3.DatabaseError as err:
            if type(err) is not sqlite3.DatabaseError:  # IntegrityError, ProgrammingError: our callers' business
                raise
            raise translate_error(err, self.path, action, self.busy_timeout_ms) from err

    def connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        if os.getpid() != self._pid:
            # A forked child must not use the parent's connections.
            self._local, self._conns, self._pid = threading.local(), [], os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self.errors("opening the database"):
                conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        for pragma in (
            f"busy_timeout = {int(self.busy_timeout_ms)}",
            "foreign_keys = ON",
            "synchronous = NORMAL",
            "cache_size = -32768",  # 32 MiB page cache per connection
            "mmap_size = 268435456",
            "temp_store = MEMORY",
        ):
            conn.execute(f"PRAGMA {pragma}")
        for statement in TEMP_SCHEMA:
            conn.execute(statement)
        return conn

    @contextmanager
    def write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on success, rolled back on any exception."""
        conn = self.connection()
        if conn.in_transaction:
            raise RuntimeError(f"nested write transaction while {action}")
        with self.errors(action):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self, action: str) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs (joins a write transaction in progress)."""
        conn = self.connection()
        with self.errors(action):
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    # --- schema and bookkeeping -------------------------------------------------------------
    def initialise(self, embedding_dim: int) -> list[int]:
        """Create the schema if missing and check the file is one this code can use.

        An up-to-date file is only read, so opening a store never waits for a running writer.
        Returns the row ids of documents written before the file kept BM25 term counts (files
        made by earlier builds of schema 1); the store indexes them.
        """
        mode = self._switch_to_wal(self.connection())
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: SQLite refused WAL journal mode (got {mode!r}); use a local file system")
        with self.read("reading the schema version") as conn:
            has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            state = [get_meta(conn, k) if has_meta else None for k in ("store.schema", "store.embedding_dim", "store.bm25")]
        if state == [str(SCHEMA_VERSION), str(embedding_dim), "1"]:
            return []
        with self.write("creating the schema") as conn:
            found = get_meta(conn, "store.schema") if has_meta else None
            if found is not None and found != str(SCHEMA_VERSION):
                raise StoreError(
                    f"{self.path}: store schema {found}, this version reads schema {SCHEMA_VERSION}; rebuild the index"
                )
            if found is not None and get_meta(conn, "store.bm25") is None:
                for trigger in ("documents_ai", "documents_ad", "documents_au"):  # recreated below with BM25 upkeep
                    conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            for statement in SCHEMA:
                conn.execute(statement)
            if found is None:
                set_meta(conn, "store.schema", str(SCHEMA_VERSION))
                set_meta(conn, "store.generation", "0")
                set_meta(conn, "store.write_seq", "0")
            # A new dimension is how a rebuild with another model starts: vectors of the old size
            # are left out of dense search and reported by check() until they are rewritten.
            set_meta(conn, "store.embedding_dim", str(embedding_dim))
            set_meta(conn, "store.bm25", "1")
            return [r[0] for r in conn.execute("SELECT rid FROM documents WHERE rid NOT IN (SELECT rid FROM bm25_docs)")]

    def _switch_to_wal(self, conn: sqlite3.Connection) -> str:
        """The journal mode after asking for WAL. SQLite answers "database is locked" at once,
        without its busy handler, while another process is switching the same new file too, so
        the switch is retried here until ``busy_timeout_ms``."""
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        pause = 0.005
        with self.errors("switching to WAL mode"):
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                    if str(mode).lower() != "wal":
                        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    return str(mode)
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err).lower() or time.monotonic() + pause > deadline:
                        raise
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)

    @contextmanager
    def writer_lock(self, timeout_s: float) -> Iterator[None]:
        """Hold an exclusive ``flock`` on ``<db>.lock`` so two ingesting processes take turns.

        Raises :class:`~kb.errors.StoreBusyError` naming the holder's pid after ``timeout_s``.
        Re-entrant within one thread.
        """
        depth = getattr(self._local, "lock_depth", 0)
        if depth:
            self._local.lock_depth = depth + 1
            try:
                yield
            finally:
                self._local.lock_depth -= 1
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise StoreError(f"{lock_path}: cannot create the writer lock file ({err})", path=str(lock_path)) from err
        try:
            _acquire(fd, lock_path, timeout_s)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._local.lock_depth = 1
            try:
                yield
            finally:
                self._local.lock_depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _acquire(fd: int, lock_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + max(timeout_s, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise StoreBusyError(
                    f"{lock_path}: another process (pid {holder}) is writing the store; gave up after {timeout_s} s",
                    path=str(lock_path),
                    holder=holder,
                ) from None
            time.sleep(0.05)


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def bump_generation(conn: sqlite3.Connection) -> None:
    """Mark that documents changed, so every process rebuilds its cached embedding matrix."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'store.generation'")


def read_generation(conn: sqlite3.Connection) -> int:
    return int(get_meta(conn, "store.generation") or 0)


def next_write_seq(conn: sqlite3.Connection) -> int:
    """A number larger than every earlier one: orders sources by when they were written."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'store.write_seq'")
    return int(get_meta(conn, "store.write_seq") or 0)
