"""The embedded store beyond Haystack's contract: sources and provisions, atomic replacement,
dense search, cache coherence between instances, integrity checks and locking between
processes. Real SQLite files in tmp_path, no mocks. (BM25: test_sqlite_bm25.py.)
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from haystack import Document
from sqlite_store_data import (DIM, IT, POCSO, S15, S19, S67A, S67B, chunk, provision, raw_connection, source, vec,
                               write_two_acts)  # fmt: skip

from kb.errors import NotFoundError, QueryError, StoreBusyError, StoreError
from kb.stores.sqlite import SQLiteKnowledgeStore
from kb.stores.sqlite_text import natural_sort_key


@pytest.fixture
def store(tmp_path: Path) -> SQLiteKnowledgeStore:
    opened = SQLiteKnowledgeStore(tmp_path / "kb.sqlite3", embedding_dim=DIM, busy_timeout_ms=2000)
    yield opened
    opened.close()


@pytest.fixture
def loaded(store: SQLiteKnowledgeStore) -> SQLiteKnowledgeStore:
    return write_two_acts(store)


# --- sources and provisions ------------------------------------------------------------------
def test_source_and_provisions_round_trip(loaded: SQLiteKnowledgeStore) -> None:
    record = loaded.get_source("it-md")
    assert (record.title, record.act_key, record.paths, record.n_provisions, record.n_chunks) == (
        "IT Act", "it", ["/corpus/it.md"], 2, 2)
    assert record.ingested_at is not None
    assert loaded.source_for_path("/corpus/pocso.md").doc_id == "pocso-md"
    assert loaded.source_for_path("/nowhere.md") is None
    assert loaded.get_provision("it:67B") == S67B
    assert loaded.get_provisions(["it:67A", "pocso:19", "it:999"]) == {"it:67A": S67A, "pocso:19": S19}
    assert loaded.provisions_of_source("pocso-md") == [S15, S19]
    assert [s.doc_id for s in loaded.list_sources()] == ["it-md", "pocso-md"]
    assert [s.doc_id for s in loaded.list_sources(offset=1, limit=1)] == ["pocso-md"]
    assert loaded.count_sources() == 2 and loaded.count_documents() == 4
    assert loaded.check().ok and loaded.check(deep=True).ok


def test_most_recent_source_wins_and_older_copy_returns_when_it_is_deleted(loaded: SQLiteKnowledgeStore) -> None:
    pdf_text = provision(IT, "67B", "Text of s. 67B as read from the PDF.", "Punishment for material depicting children")
    loaded.write_source(source("it-pdf", "IT Act (PDF)", "/corpus/it.pdf"), [pdf_text], [chunk("it-pdf", pdf_text, vec(4))])
    assert loaded.get_provision("it:67B").text == "Text of s. 67B as read from the PDF."
    assert [p.locator.section for p in loaded.list_provisions("it")] == ["67A", "67B"]  # one per key
    assert loaded.delete_source("it-pdf") is True
    assert loaded.get_provision("it:67B") == S67B
    assert loaded.delete_source("it-pdf") is False


def test_list_provisions_is_in_natural_section_order(store: SQLiteKnowledgeStore) -> None:
    sections = ["10", "2A", "42A", "1", "3", "42", "2"]
    provisions = [provision(POCSO, s, f"Text of section {s}.", f"Heading {s}") for s in sections]
    store.write_source(source("p", "POCSO", "/p.md", act_key="pocso"), provisions,
                       [chunk("p", p, vec(0)) for p in provisions])  # fmt: skip
    assert [p.locator.section for p in store.list_provisions("pocso")] == ["1", "2", "2A", "3", "10", "42", "42A"]


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [("2", "2A"), ("2A", "3"), ("9", "10"), ("42", "42A"), ("42A", "100"), ("2A", "2B"), ("3.2", "3.10"), ("99", "Schedule")],
)
def test_natural_sort_key(smaller: str, larger: str) -> None:
    assert natural_sort_key(smaller) < natural_sort_key(larger)


def test_referring_provisions_and_acts(loaded: SQLiteKnowledgeStore) -> None:
    assert loaded.referring_provisions("pocso:15") == ["it:67B", "pocso:19"]
    assert loaded.referring_provisions("it:67A") == ["it:67B"]
    assert loaded.referring_provisions("it:1") == []
    acts = {a.act_key: a for a in loaded.list_acts()}
    assert (acts["it"].title, acts["it"].short_name, acts["it"].year, acts["it"].sections, acts["it"].chunks) == (
        "The Information Technology Act, 2000", "IT Act", 2000, 2, 2)
    assert (acts["pocso"].sections, acts["pocso"].chunks, acts["pocso"].doc_type) == (2, 2, "act")


def test_paths_dedup_and_pathless_sources_are_deleted(loaded: SQLiteKnowledgeStore) -> None:
    loaded.add_source_path("it-md", "/copy/it.md")
    assert loaded.get_source("it-md").paths == ["/copy/it.md", "/corpus/it.md"]
    assert loaded.remove_source_path("/corpus/it.md") == "it-md"
    assert loaded.get_source("it-md").paths == ["/copy/it.md"]
    assert loaded.remove_source_path("/copy/it.md") == "it-md"  # last path: source goes with its rows
    assert loaded.get_source("it-md") is None and loaded.get_provision("it:67A") is None
    assert loaded.count_documents() == 2
    assert loaded.remove_source_path("/copy/it.md") is None
    # The only path of pocso-md now holds other content: pocso-md is found nowhere any more.
    loaded.write_source(source("other", "Other", "/elsewhere.md"), [], [])
    loaded.add_source_path("other", "/corpus/pocso.md")
    assert loaded.get_source("pocso-md") is None and loaded.count_documents() == 0
    with pytest.raises(NotFoundError, match="missing"):
        loaded.add_source_path("missing", "/x.md")
    assert loaded.check().ok


def test_failed_replacement_leaves_the_previous_state(loaded: SQLiteKnowledgeStore) -> None:
    new_67b = provision(IT, "67B", "Amended text of section 67B.", "Punishment for material depicting children")
    good = chunk("it-v2", new_67b, vec(5))
    bad = chunk("it-v2", new_67b, [0.5] * (DIM + 3), n=1)  # wrong size: fails after the old rows were deleted
    with pytest.raises(StoreError, match=f"11 dimensions, the store holds {DIM}"):
        loaded.write_source(source("it-v2", "IT Act", "/corpus/it.md"), [new_67b], [good, bad], replaces=["it-md"])
    assert loaded.get_source("it-md").n_chunks == 2 and loaded.get_source("it-v2") is None
    assert loaded.get_provision("it:67B") == S67B
    assert loaded.source_for_path("/corpus/it.md").doc_id == "it-md"
    assert [d.meta["section"] for d in loaded.bm25_retrieval("browses downloads")] == ["67B"]
    assert loaded.check().ok

    loaded.write_source(source("it-v2", "IT Act", "/corpus/it.md"), [new_67b], [good], replaces=["it-md"])
    assert loaded.get_source("it-md") is None and loaded.get_provision("it:67A") is None
    assert loaded.get_provision("it:67B").text == "Amended text of section 67B."
    assert loaded.bm25_retrieval("browses downloads") == []
    assert loaded.check().ok


def test_write_source_rejects_chunks_of_another_source(store: SQLiteKnowledgeStore) -> None:
    with pytest.raises(StoreError, match="differs from its source"):
        store.write_source(source("a", "A", "/a.md"), [S67A], [chunk("b", S67A, vec(0))])
    with pytest.raises(StoreError, match="has no embedding"):
        store.write_source(source("a", "A", "/a.md"), [S67A], [chunk("a", S67A, None)])
    assert store.count_sources() == 0 and store.count_documents() == 0


# --- dense retrieval ---------------------------------------------------------------------------
def test_embedding_retrieval_with_filters(loaded: SQLiteKnowledgeStore) -> None:
    hits = loaded.embedding_retrieval(vec(1), top_k=4)
    assert [h.meta["section"] for h in hits][:2] == ["67B", "15"]
    assert hits[0].score == pytest.approx(1.0) and hits[1].score == pytest.approx(2**-0.5)
    assert hits[0].embedding is None
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))

    def sections(filters, top_k=10):
        return [h.meta["section"] for h in loaded.embedding_retrieval(vec(1), filters, top_k)]

    assert sections({"field": "meta.act_key", "operator": "==", "value": "pocso"}) == ["15", "19"]
    assert sections({"field": "meta.audience", "operator": "==", "value": "police"}) == ["67B", "19"]
    assert sections({"field": "meta.audience", "operator": "not in", "value": ["police", "ngo"]}) == ["67A"]
    assert sections({"field": "meta.year", "operator": ">", "value": 2005}, top_k=1) == ["15"]
    assert sections({"operator": "AND", "conditions": [
        {"field": "meta.act_key", "operator": "==", "value": "it"},
        {"field": "meta.section", "operator": "!=", "value": "67B"}]}) == ["67A"]  # fmt: skip
    assert sections({"field": "meta.act_key", "operator": "==", "value": "bns"}) == []


def test_embedding_retrieval_rejects_bad_queries(loaded: SQLiteKnowledgeStore) -> None:
    with pytest.raises(StoreError, match=f"3 dimensions, the store holds {DIM}"):
        loaded.embedding_retrieval([0.1, 0.2, 0.3])
    with pytest.raises(QueryError, match="non-zero"):
        loaded.embedding_retrieval([0.0] * DIM)
    with pytest.raises(QueryError, match="top_k"):
        loaded.embedding_retrieval(vec(1), top_k=0)


def test_embedding_cache_sees_writes_of_another_instance(loaded: SQLiteKnowledgeStore, tmp_path: Path) -> None:
    reader = SQLiteKnowledgeStore(tmp_path / "kb.sqlite3", embedding_dim=DIM)
    assert reader.embedding_retrieval(vec(7), top_k=1)[0].score == pytest.approx(0.0)
    loaded.write_documents([Document(id="new", content="new", embedding=vec(7))])
    assert [d.id for d in reader.embedding_retrieval(vec(7), top_k=1)] == ["new"]
    loaded.delete_documents(["new"])
    assert "new" not in [d.id for d in reader.embedding_retrieval(vec(7), top_k=10)]
    reader.close()


def test_reads_from_many_threads(loaded: SQLiteKnowledgeStore) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                results.append([h.id for h in loaded.embedding_retrieval(vec(1), top_k=1)])
                results.append([h.id for h in loaded.bm25_retrieval("browses", top_k=1)])
        except BaseException as err:  # collected and asserted on below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 160
    assert {tuple(r) for r in results} == {("it-md-67B-0",)}


# --- integrity, errors, locking ----------------------------------------------------------------

def test_check_detects_a_missing_fts_row(loaded: SQLiteKnowledgeStore) -> None:
    raw = raw_connection(loaded)
    rid, content, heading = raw.execute("SELECT rid, content, heading FROM documents LIMIT 1").fetchone()
    raw.execute("INSERT INTO documents_fts(documents_fts, rowid, content, heading) VALUES ('delete', ?, ?, ?)",
                (rid, content, heading))  # fmt: skip
    raw.close()
    report = loaded.check()
    assert not report.ok
    assert "full-text index holds 3 rows, documents table 4" in report.problems
    assert any("full-text index does not match" in p for p in loaded.check(deep=True).problems)


def test_check_detects_wrong_counts_and_orphan_chunks(loaded: SQLiteKnowledgeStore) -> None:
    raw = raw_connection(loaded)
    raw.execute("UPDATE sources SET n_chunks = 7 WHERE doc_id = 'it-md'")
    raw.execute("UPDATE bm25_docs SET content_len = 99 WHERE rid = (SELECT rid FROM documents WHERE id = 'it-md-67A-0')")
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("DELETE FROM sources WHERE doc_id = 'pocso-md'")
    raw.close()
    problems = loaded.check().problems
    assert "source it-md records 7 chunks but holds 2" in problems
    assert "chunk pocso-md-15-0 belongs to source pocso-md which does not exist" in problems
    assert "document it-md-67A-0: full-text index counts [17, 6] tokens, BM25 counts [99, 6]" in problems


def test_disk_full_is_a_store_error_and_writes_nothing(loaded: SQLiteKnowledgeStore) -> None:
    conn = loaded._db.connection()  # the store's own connection: cap the file at its current size
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = [Document(content=f"{i} " + "filler text " * 500, embedding=vec(i % DIM)) for i in range(50)]
    with pytest.raises(StoreError, match="disk full") as info:
        loaded.write_documents(big)
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert loaded.count_documents() == 4 and loaded.check().ok


def test_unwritable_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the database file"):
        SQLiteKnowledgeStore(blocker / "kb.sqlite3")


def test_reserved_meta_keys(store: SQLiteKnowledgeStore) -> None:
    store.set_meta("index_identity", "all-minilm-l6-v2-abc")
    assert store.get_meta("index_identity") == "all-minilm-l6-v2-abc"
    with pytest.raises(StoreError, match="reserved"):
        store.set_meta("store.generation", "0")


def test_delete_all_documents_empties_sources_too(loaded: SQLiteKnowledgeStore) -> None:
    loaded.delete_all_documents()
    assert (loaded.count_documents(), loaded.count_sources(), loaded.list_acts()) == (0, 0, [])
    assert loaded.check().ok


def _hold_writer_lock(path: str, ready, release) -> None:
    holder = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    with holder.writer_lock(timeout_s=5):
        ready.set()
        release.wait(20)


def _write_batches(path: str, prefix: str) -> None:
    writer = SQLiteKnowledgeStore(path, embedding_dim=DIM, busy_timeout_ms=20_000)
    for batch in range(10):
        writer.write_documents([Document(id=f"{prefix}-{batch}-{i}", content=f"{prefix} {i}", embedding=vec(i % DIM))
                                for i in range(20)])  # fmt: skip


def test_writer_lock_between_processes(store: SQLiteKnowledgeStore) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_writer_lock, args=(str(store.path), ready, release))
    child.start()
    try:
        assert ready.wait(20)
        with pytest.raises(StoreBusyError, match=f"pid {child.pid}"):
            with store.writer_lock(timeout_s=0.3):
                pass
    finally:
        release.set()
        child.join(20)
    assert child.exitcode == 0
    with store.writer_lock(timeout_s=5), store.writer_lock(timeout_s=0):  # re-entrant in one thread
        store.set_meta("ingest", "running")


def test_two_processes_writing_at_once_both_succeed(store: SQLiteKnowledgeStore) -> None:
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=_write_batches, args=(str(store.path), p)) for p in ("a", "b")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    assert [w.exitcode for w in writers] == [0, 0]
    assert store.count_documents() == 400
    assert len(store.embedding_retrieval(vec(3), top_k=400)) == 400
    assert store.check().ok


def test_files_without_bm25_counts_are_indexed_on_open(loaded: SQLiteKnowledgeStore, tmp_path: Path) -> None:
    raw = raw_connection(loaded)  # what a file written before BM25 term counts existed looks like
    raw.execute("DELETE FROM bm25_docs")
    raw.execute("DELETE FROM meta WHERE key = 'store.bm25'")
    raw.close()
    assert "4 documents have no BM25 term counts" in loaded.check().problems
    reopened = SQLiteKnowledgeStore(tmp_path / "kb.sqlite3", embedding_dim=DIM)
    assert [d.meta["section"] for d in reopened.bm25_retrieval("browses downloads")] == ["67B"]
    assert reopened.check().ok
    reopened.close()


def _hold_write_transaction(path: str, ready, release) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("UPDATE meta SET value = value WHERE key = 'store.generation'")
    ready.set()
    release.wait(20)
    raw.execute("ROLLBACK")


def test_readers_keep_working_while_another_process_writes(loaded: SQLiteKnowledgeStore) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_hold_write_transaction, args=(str(loaded.path), ready, release))
    writer.start()
    try:
        assert ready.wait(20)
        started = time.monotonic()
        reader = SQLiteKnowledgeStore(loaded.path, embedding_dim=DIM, busy_timeout_ms=2000)  # opening reads only
        assert [d.meta["section"] for d in reader.bm25_retrieval("browses downloads")] == ["67B"]
        assert reader.embedding_retrieval(vec(3), top_k=1)[0].meta["section"] == "19"
        assert reader.get_provision("pocso:19") == S19 and reader.check().sources == 2
        assert time.monotonic() - started < 1.5  # never waited for the writer's lock
        with pytest.raises(StoreBusyError, match="another writer"):
            reader.set_meta("note", "blocked")  # a second writer does wait, then fails clearly
        reader.close()
    finally:
        release.set()
        writer.join(20)


def _open_new_store(path: str, start, results) -> None:
    start.wait(20)
    try:
        SQLiteKnowledgeStore(path, embedding_dim=DIM, busy_timeout_ms=60_000).close()
        results.put("ok")
    except StoreError as err:
        results.put(str(err))


def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Two `kb ingest` runs started together on an empty data directory both create the file and
    switch it to WAL. SQLite refuses the second switch at once ("database is locked") without
    waiting; before the store retried it, about one start in ten failed (33 of 300 measured)."""
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for round_ in range(30):
        path = str(tmp_path / f"round-{round_}" / "kb.sqlite3")
        Path(path).parent.mkdir()
        start, results = ctx.Barrier(3), ctx.Queue()
        openers = [ctx.Process(target=_open_new_store, args=(path, start, results)) for _ in range(3)]
        for opener in openers:
            opener.start()
        outcomes += [results.get(timeout=60) for _ in openers]
        for opener in openers:
            opener.join(20)
    assert outcomes == ["ok"] * 90, [o for o in outcomes if o != "ok"][:3]
