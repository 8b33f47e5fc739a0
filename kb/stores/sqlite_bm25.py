"""BM25 ranking for the embedded store: FTS5's tokenizer and FTS5's ``bm25()`` formula, scored
from postings arrays in numpy.

Why not ``ORDER BY rank`` on the FTS5 table: FTS5 computes ``bm25()`` for every matching row
before it can sort. In legal text the words of a question ("punishment", "child", "offence")
occur in half the chunks, so at 100k chunks a four-word question scores 40-80k rows and takes
250-700 ms. Here each document's term counts are stored once at write time (``bm25_docs``,
tokenised by FTS5 itself through a TEMP fts5 table, so tokens are identical), and a query adds
the precomputed weights of its terms' postings with ``np.bincount``: about a millisecond.

Scores equal ``-bm25()`` of the FTS5 table for the query ``{field} : ("t1" OR "t2" ...)``
(checked in tests): with ``k1 = 1.2``, ``b = 0.75`` (``ext/fts5/fts5_aux.c``),

    score(d) = sum over query terms t of idf(t) * f(t,d) * (k1 + 1) / (f(t,d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln((N - n(t) + 0.5) / (n(t) + 0.5)), replaced by 1e-6 when <= 0

where f counts t in the searched column, n(t) is the number of rows with t in that column,
|d| and avgdl count tokens of all columns, and N is the number of rows (Robertson & Zaragoza,
"The Probabilistic Relevance Framework: BM25 and Beyond", 2009). A query word that FTS5 splits
into several tokens is scored as separate terms (FTS5 would require the phrase).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence

import numpy as np

from kb.stores.sqlite_db import read_generation

K1, B = 1.2, 0.75
POSTING = np.dtype([("tid", "<i4"), ("tf_content", "<u2"), ("tf_heading", "<u2")])
FIELDS = ("content", "heading")
_TOKENIZE_BATCH = 1000  # rows through the TEMP table at once: bounds memory of the vocab scan
_STEM_CACHE_LIMIT = 100_000


def _token_rows(conn: sqlite3.Connection, rows: Sequence[tuple[int, str | None, str | None]], sql: str) -> list[tuple]:
    """Run ``rows`` through the store's FTS5 tokenizer (a TEMP fts5 table) and read ``sql`` from
    its ``fts5vocab`` instance table."""
    out: list[tuple] = []
    for start in range(0, len(rows), _TOKENIZE_BATCH):
        conn.executemany("INSERT INTO temp.tokenize(rowid, content, heading) VALUES (?, ?, ?)", rows[start : start + _TOKENIZE_BATCH])
        try:
            out.extend(conn.execute(sql))
        finally:
            conn.execute("DELETE FROM temp.tokenize")
    return out


def index_documents(conn: sqlite3.Connection, rids: Sequence[int]) -> None:
    """(Re)write the ``bm25_docs`` rows of documents ``rids`` after their text or heading changed."""
    if not rids:
        return
    rows = conn.execute(
        "SELECT rid, content, heading FROM documents WHERE rid IN (SELECT value FROM json_each(?)) ORDER BY rid",
        (json.dumps(list(rids)),),
    ).fetchall()
    counts = _token_rows(conn, rows, "SELECT doc, term, SUM(col = 'content'), SUM(col = 'heading') "
                                     "FROM temp.tokenize_terms GROUP BY doc, term ORDER BY doc")  # fmt: skip
    terms = json.dumps(sorted({row[1] for row in counts}))
    conn.execute("INSERT OR IGNORE INTO bm25_terms(term) SELECT value FROM json_each(?)", (terms,))
    tids = dict(conn.execute("SELECT term, tid FROM bm25_terms WHERE term IN (SELECT value FROM json_each(?))", (terms,)))
    postings = np.empty(len(counts), dtype=POSTING)
    postings["tid"] = [tids[row[1]] for row in counts]
    postings["tf_content"] = np.minimum([row[2] for row in counts], 65535)
    postings["tf_heading"] = np.minimum([row[3] for row in counts], 65535)
    docs = np.fromiter((row[0] for row in counts), dtype=np.int64, count=len(counts))
    bounds = np.searchsorted(docs, [rid for rid, _c, _h in rows] + [np.iinfo(np.int64).max])
    conn.executemany(
        "INSERT OR REPLACE INTO bm25_docs(rid, content_len, heading_len, postings) VALUES (?, ?, ?, ?)",
        (
            (rid, int(part["tf_content"].sum()), int(part["tf_heading"].sum()), part.tobytes())
            for (rid, _c, _h), part in ((row, postings[bounds[i] : bounds[i + 1]]) for i, row in enumerate(rows))
        ),
    )


def positions_of(rids: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Positions in the sorted array ``rids`` of the sorted row ids ``allowed`` that it holds."""
    positions = np.searchsorted(rids, allowed)
    inside = positions < len(rids)
    positions, wanted = positions[inside], allowed[inside]
    return positions[rids[positions] == wanted]


class _FieldPostings:
    """Per-term slices of (document position, BM25 weight) for one column."""

    def __init__(self, tids: np.ndarray, docs: np.ndarray, tf: np.ndarray, doc_len: np.ndarray, n_terms: int) -> None:
        n_docs = len(doc_len)
        avgdl = float(doc_len.sum(dtype=np.float64)) / n_docs if n_docs else 1.0
        order = np.argsort(tids, kind="stable")
        tids, self.docs, tf = tids[order], docs[order], tf[order].astype(np.float32)
        del order
        df = np.bincount(tids, minlength=n_terms)
        self.offsets = np.concatenate(([0], np.cumsum(df)))
        idf = np.log((n_docs - df + 0.5) / (df + 0.5))
        idf[idf <= 0.0] = 1e-6
        # float32 throughout: a query adds a handful of weights, 1e-7 relative error is harmless.
        weights = doc_len[self.docs] * np.float32(B / (avgdl or 1.0))
        weights += np.float32(1.0 - B)
        weights *= np.float32(K1)
        weights += tf
        np.divide(tf * np.float32(K1 + 1.0), weights, out=weights)
        weights *= idf.astype(np.float32)[tids]
        self.weights = weights

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[tid], self.offsets[tid + 1]
        return self.docs[start:end], self.weights[start:end]


class BM25Index:
    """Postings of every stored document, rebuilt when the store's write generation moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._rids = np.empty(0, dtype=np.int64)
        self._fields: dict[str, _FieldPostings] = {}
        self._tids: dict[str, int] = {}
        self._stems: dict[str, list[str]] = {}

    def stems(self, conn: sqlite3.Connection, terms: Sequence[str]) -> list[str]:
        """FTS5 tokens of query words, in order (cached: the tokenizer never changes)."""
        with self._lock:
            known = {t: self._stems[t] for t in terms if t in self._stems}
        missing = [t for t in dict.fromkeys(terms) if t not in known]
        if missing:
            found: dict[int, list[str]] = {}
            tokens = _token_rows(conn, [(i, term, None) for i, term in enumerate(missing)],
                                 "SELECT doc, term FROM temp.tokenize_terms ORDER BY doc, offset")  # fmt: skip
            for doc, token in tokens:
                found.setdefault(doc, []).append(token)
            with self._lock:
                if len(self._stems) > _STEM_CACHE_LIMIT:
                    self._stems.clear()
                for i, term in enumerate(missing):
                    known[term] = self._stems[term] = found.get(i, [])
        return [stem for term in terms for stem in known[term]]

    def search(
        self, conn: sqlite3.Connection, stems: Sequence[str], field: str, *, allowed: np.ndarray | None, top_k: int
    ) -> tuple[list[int], list[float]]:
        """Row ids and BM25 scores of the best ``top_k`` documents with any of ``stems`` in ``field``."""
        rids, postings, tids = self._current(conn)
        parts = [postings[field].postings(tids[s]) for s in stems if s in tids]
        if not parts or len(rids) == 0:
            return [], []
        docs = np.concatenate([p[0] for p in parts])
        weights = np.concatenate([p[1] for p in parts])
        if allowed is not None:
            keep = np.zeros(len(rids), dtype=bool)
            keep[positions_of(rids, allowed)] = True
            docs, weights = docs[keep[docs]], weights[keep[docs]]
        scores = np.bincount(docs, weights=weights, minlength=len(rids))
        hits = np.flatnonzero(scores > 0.0)
        if len(hits) > top_k:
            hits = hits[np.argpartition(-scores[hits], top_k - 1)[:top_k]]
        hits = hits[np.lexsort((rids[hits], -scores[hits]))]  # best first, ties by write order
        return rids[hits].tolist(), scores[hits].tolist()

    def _current(self, conn: sqlite3.Connection) -> tuple[np.ndarray, dict[str, _FieldPostings], dict[str, int]]:
        generation = read_generation(conn)
        with self._lock:
            if generation != self._generation:
                self._load(conn)
            return self._rids, self._fields, self._tids

    def _load(self, conn: sqlite3.Connection) -> None:
        # Postings are copied straight into one preallocated array (no list of blobs, no join).
        in_txn = conn.in_transaction
        if not in_txn:
            conn.execute("BEGIN")
        try:
            generation = read_generation(conn)
            n, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(length(postings)), 0) FROM bm25_docs").fetchone()
            rids = np.empty(n, dtype=np.int64)
            doc_len = np.empty(n, dtype=np.float32)
            sizes = np.empty(n, dtype=np.int64)
            raw = np.empty(total, dtype=np.uint8)
            offset = 0
            rows = conn.execute("SELECT rid, content_len + heading_len, postings FROM bm25_docs ORDER BY rid")
            for i, (rid, length, blob) in enumerate(rows):
                rids[i], doc_len[i], sizes[i] = rid, length, len(blob) // POSTING.itemsize
                raw[offset : offset + len(blob)] = np.frombuffer(blob, dtype=np.uint8)
                offset += len(blob)
            tids = dict(conn.execute("SELECT term, tid FROM bm25_terms"))
        finally:
            if not in_txn:
                conn.execute("COMMIT")
        postings = raw.view(POSTING)
        docs = np.repeat(np.arange(n, dtype=np.int32), sizes)
        n_terms = max(tids.values(), default=0) + 1
        fields = {}
        for field in FIELDS:
            tf = postings[f"tf_{field}"]
            used = tf > 0
            fields[field] = _FieldPostings(postings["tid"][used], docs[used], tf[used], doc_len, n_terms)
        self._rids, self._fields, self._tids, self._generation = rids, fields, tids, generation
