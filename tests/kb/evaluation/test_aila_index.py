"""How AILA statutes become store documents (no model needed: the passages are only cut here)."""

from __future__ import annotations

import pytest
from haystack import Document

from kb.evaluation.aila_data import Statute
from kb.evaluation.aila_index import best_per_statute, cut_words, statute_documents


@pytest.mark.parametrize(
    ("text", "max_chars", "expected"),
    [
        ("one two three", 100, ["one two three"]),
        ("one two three", 7, ["one two", "three"]),
        ("one two three", 3, ["one", "two", "three"]),
        ("unbreakableword x", 5, ["unbreakableword", "x"]),  # a longer word stays whole
        ("", 10, [""]),
    ],
)
def test_cut_words(text, max_chars, expected):
    assert cut_words(text, max_chars) == expected


def test_a_statute_becomes_one_whole_document_and_titled_passages():
    statute = Statute(id="S7", title="Theft", description="Whoever dishonestly takes property commits theft.")
    docs = statute_documents(statute, max_chars=25)
    assert [(d.id, d.meta["kind"]) for d in docs] == [("S7", "statute"), ("S7#1", "passage"), ("S7#2", "passage")]
    assert docs[0].content == "Theft. Whoever dishonestly takes property commits theft."
    assert [d.content for d in docs[1:]] == ["Theft. Whoever dishonestly takes", "Theft. property commits theft."]
    assert {d.meta["provision_key"] for d in docs} == {"S7"}
    assert {d.meta["heading"] for d in docs} == {"Theft"}


def test_best_per_statute_keeps_each_statutes_best_passage():
    docs = [
        Document(id="S1#1", content="", meta={"provision_key": "S1"}, score=0.2),
        Document(id="S2#1", content="", meta={"provision_key": "S2"}, score=0.5),
        Document(id="S1#2", content="", meta={"provision_key": "S1"}, score=0.7),
    ]
    assert best_per_statute(docs) == {"S1": 0.7, "S2": 0.5}
