"""BM25 of the embedded store: user text never acts as query syntax, section numbers and Hindi
words stay whole, and scores equal FTS5's own ``bm25()`` (the reference implementation) on
team-written texts and, when present, on real Acts."""

from __future__ import annotations

from pathlib import Path

import pytest
from haystack import Document
from sqlite_store_data import DIM, IT, S15, S19, S67A, S67B, chunk, provision, raw_connection, vec, write_two_acts

from kb.errors import QueryError
from kb.stores.sqlite import SQLiteKnowledgeStore
from kb.stores.sqlite_text import fts_match_query, query_terms


@pytest.fixture
def store(tmp_path: Path) -> SQLiteKnowledgeStore:
    opened = SQLiteKnowledgeStore(tmp_path / "kb.sqlite3", embedding_dim=DIM, busy_timeout_ms=2000)
    yield opened
    opened.close()


@pytest.fixture
def loaded(store: SQLiteKnowledgeStore) -> SQLiteKnowledgeStore:
    return write_two_acts(store)


HOSTILE = [
    '"', '""', '"unterminated phrase', "*", "child*", "NEAR(child material)", "child NEAR material", "content:child",
    "{content heading}: child", "^child", "((((child", "child)))", "AND OR NOT", "-child +material", "\x00child\x00",
    "x" * 100_000, "child " * 20_000, "बच्चों\u200d😀\u202e", "ﷺ \U0001f600 \u0301\u0301", "   ", "", "what is the",
]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_bm25_never_raises_on_user_text(loaded: SQLiteKnowledgeStore, query: str) -> None:
    for field in ("content", "heading"):
        hits = loaded.bm25_retrieval(query, {"field": "meta.act_key", "operator": "==", "value": "it"}, 5, field=field)
        assert all(hit.score > 0 and hit.meta["act_key"] == "it" for hit in hits)


def test_bm25_scores_are_positive_and_ordered(loaded: SQLiteKnowledgeStore) -> None:
    hits = loaded.bm25_retrieval("punished for sexually explicit material depicting children", top_k=10)
    assert [h.meta["section"] for h in hits][:2] == ["67B", "67A"]
    assert all(a.score >= b.score > 0 for a, b in zip(hits, hits[1:]))
    assert loaded.bm25_retrieval("the of and what is") == []  # only stopwords


def test_bm25_keeps_67a_and_67b_apart(loaded: SQLiteKnowledgeStore) -> None:
    extra = [provision(IT, s, f"Section {s} applies.", f"Heading {s}") for s in ("67A", "67B")]
    loaded.write_documents([chunk("plain", p, None, n=9) for p in extra])
    assert {h.meta["section"] for h in loaded.bm25_retrieval("67B")} == {"67B"}
    assert {h.meta["section"] for h in loaded.bm25_retrieval("section 67a")} >= {"67A"}
    assert "67B" not in {h.meta["section"] for h in loaded.bm25_retrieval("67A")}


def test_bm25_heading_field(loaded: SQLiteKnowledgeStore) -> None:
    assert [h.meta["section"] for h in loaded.bm25_retrieval("reporting", field="heading")] == ["19"]
    assert loaded.bm25_retrieval("Juvenile", field="heading") == []  # only in the body of s. 19
    with pytest.raises(QueryError, match="'title'"):
        loaded.bm25_retrieval("x", field="title")


def test_hindi_keyword_search_matches_whole_words(store: SQLiteKnowledgeStore) -> None:
    store.write_documents([
        Document(content="बच्चों के विरुद्ध लैंगिक अपराधों की सूचना पुलिस को दी जाएगी।", meta={"language": "hi"}),
        Document(content="बालक की पहचान प्रकट नहीं की जाएगी।", meta={"language": "hi"}),
        Document(content="Children shall be protected.", meta={"language": "en"}),
    ])  # fmt: skip
    assert query_terms("बच्चों के विरुद्ध") == ["बच्चों", "के", "विरुद्ध"]
    assert [h.meta["language"] for h in store.bm25_retrieval("लैंगिक अपराधों")] == ["hi"]
    assert "पहचान" in store.bm25_retrieval("पहचान")[0].content
    assert store.bm25_retrieval("बच्च") == []  # a fragment of a word is not a word


def test_bm25_language_filter_and_diacritics(store: SQLiteKnowledgeStore) -> None:
    store.write_documents([Document(content="A naïve café rule", meta={"audience": ["ngo"]}),
                           Document(content="naive rule for police", meta={"audience": ["police"]})])  # fmt: skip
    assert len(store.bm25_retrieval("naive")) == 2
    hits = store.bm25_retrieval("naive", {"field": "meta.audience", "operator": "in", "value": ["police"]})
    assert [h.meta["audience"] for h in hits] == [["police"]]



# --- BM25 against FTS5's own bm25() ----------------------------------------------------------------
REFERENCE_QUERIES = ["punishment for child sexual abuse", "report offence to magistrate", "material depicting children",
                     "browses downloads", "stores pornographic material fine", "Juvenile Police Unit",
                     "punished punishment punishes", "IT Act 67B", "the", "बच्चों"]  # fmt: skip


def _fts5_ranking(store: SQLiteKnowledgeStore, query: str, field: str, k: int) -> list[tuple[str, float]]:
    match = fts_match_query(query, column=field)
    if match is None:
        return []
    raw = raw_connection(store)
    rows = raw.execute("SELECT d.id, -bm25(documents_fts) FROM documents_fts JOIN documents AS d ON d.rid = documents_fts.rowid "
                       "WHERE documents_fts MATCH ? ORDER BY rank LIMIT ?", (match, k)).fetchall()  # fmt: skip
    raw.close()
    return rows


def _reference_corpus(store: SQLiteKnowledgeStore, extra_texts: list[str]) -> None:
    docs = [chunk("ref", p, vec(i % DIM), n=i) for i, p in enumerate([S67A, S67B, S15, S19])]
    docs += [Document(content=text, meta={"heading": text.split(".")[0][:60]}) for text in extra_texts]
    docs.append(Document(content=None, meta={"heading": "Punishment heading only"}))
    store.write_documents(docs)


@pytest.mark.parametrize("field", ["content", "heading"])
def test_bm25_scores_equal_fts5_bm25(store: SQLiteKnowledgeStore, field: str) -> None:
    offences = ["theft", "assault", "harassment", "trafficking", "abduction", "abuse", "neglect"]
    actors = ["police", "magistrate", "guardian", "teacher", "child welfare committee"]
    extra = [f"Punishment for {offences[i % 7]}: whoever commits {offences[(i * 3) % 7]} against a child shall be "
             f"punished; the {actors[i % 5]} shall report it. {'Repeat offenders are punished twice. ' * (i % 3)}"
             for i in range(40)] + ["बच्चों के विरुद्ध अपराधों की सूचना", "बच्चों की पहचान गोपनीय रहेगी"]  # fmt: skip
    _reference_corpus(store, extra)
    for query in REFERENCE_QUERIES:
        ours = [(d.id, d.score) for d in store.bm25_retrieval(query, top_k=15, field=field)]
        reference = _fts5_ranking(store, query, field, 15)
        assert [s for _, s in ours] == pytest.approx([s for _, s in reference], rel=1e-5), query
        reference_scores = dict(reference)
        for doc_id, score in ours:
            if doc_id in reference_scores:
                assert score == pytest.approx(reference_scores[doc_id], rel=1e-5)


def test_bm25_scores_equal_fts5_bm25_on_real_acts(store: SQLiteKnowledgeStore, shared_sources: Path) -> None:
    texts = []
    for path in sorted((shared_sources / "indiacode-md").glob("*/part-001.md"))[:6]:
        body = path.read_text(encoding="utf-8")
        texts += [block.strip() for block in body.split("\n## ")[1:60]]
    _reference_corpus(store, texts)
    for query in ["punishment for sexual assault on a child", "Special Juvenile Police Unit", "bail",
                  "obscene material in electronic form", "free and compulsory education", "penetrative sexual assault"]:  # fmt: skip
        ours = [d.score for d in store.bm25_retrieval(query, top_k=25)]
        assert ours == pytest.approx([s for _, s in _fts5_ranking(store, query, "content", 25)], rel=1e-5), query
        assert ours, query
