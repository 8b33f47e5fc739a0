"""Sentence passages and key-term selection for long case narratives."""

from __future__ import annotations

import math

import pytest

from kb.evaluation.narrative import TermStats, key_terms, split_sentences, term_weights, words

# Statute-like headings written for this test.
PROVISIONS = TermStats.of(
    [
        "Punishment for murder. Whoever commits murder shall be punished.",
        "Attempt to murder. Whoever does any act with intent to cause death.",
        "Dowry death. Where the death of a woman is caused by burns within seven years of marriage.",
        "Power of High Courts to issue certain writs. Every High Court shall have power to issue writs.",
    ]
)
# Unlabelled narratives: the words every case story uses.
BACKGROUND = TermStats.of(
    [
        "The appellant filed an appeal before the High Court against the order dated 3 March.",
        "The appellant was convicted by the trial court; the High Court dismissed the appeal.",
        "The accused assaulted the complainant; the trial court convicted him and the High Court agreed.",
        "The appellant, a government servant, challenged his dismissal by a writ petition in the High Court.",
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He fled. The police arrived at 5 p.m. on the same day!", ["He fled.", "The police arrived at 5 p.m. on the same day!"]),
        ("The accused (A-1) struck first. (A-2) followed.", ["The accused (A-1) struck first.", "(A-2) followed."]),
        ("No full stop at the end", ["No full stop at the end"]),
        ("Dated 12.3.1990. On 5.4.1990 he died.", ["Dated 12.3.1990.", "On 5.4.1990 he died."]),
        ("   ", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_words_drop_stopwords_and_short_tokens():
    assert words("The PW-5 saw him at Rs. 500 with a lathi") == ["saw", "him", "lathi"]


def test_idf_is_the_bm25_idf():
    n, df = PROVISIONS.documents, PROVISIONS.df["murder"]
    assert (n, df) == (4, 2)
    assert PROVISIONS.idf("murder") == pytest.approx(math.log(1 + (4 - 2 + 0.5) / (2 + 0.5)))
    assert PROVISIONS.idf("unseen") == pytest.approx(math.log(1 + 4.5 / 0.5))


def test_rarity_is_zero_for_a_word_every_narrative_uses():
    assert BACKGROUND.df["appellant"] == 3
    assert BACKGROUND.rarity("court") == 0.0
    assert BACKGROUND.rarity("burns") == pytest.approx(math.log(4))  # unseen counts as seen once


@pytest.mark.parametrize(
    ("narrative", "n", "expected"),
    [
        # "court" and "appeal" are in every story; "murder" names the offence.
        ("The appellant appealed to the High Court; the trial court held the murder proved.", 3, ["murder"]),
        # Several offence words: the repeated one first.
        ("The dowry was demanded; the wife died of burns; the dowry demand went on.", 2, ["dowry", "burns"]),
        # Words no provision contains are never chosen, however rare.
        ("The lathi and the pharsi were recovered.", 5, []),
    ],
)
def test_key_terms_keep_offence_words_and_drop_story_words(narrative, n, expected):
    assert key_terms(narrative, PROVISIONS, BACKGROUND, n) == expected


def test_term_weights_formula():
    weights = term_weights("murder murder writs", PROVISIONS, BACKGROUND)
    assert weights["murder"] == pytest.approx((1 + math.log(2)) * math.log(4) * PROVISIONS.idf("murder"))
    assert weights["writs"] == pytest.approx(1.0 * math.log(4) * PROVISIONS.idf("writs"))
    assert "writ" not in term_weights("writ", PROVISIONS, BACKGROUND)  # no stemming: only "writs" is a provision word


def test_key_terms_rejects_a_non_positive_count():
    with pytest.raises(ValueError, match="n must be > 0, got 0"):
        key_terms("murder", PROVISIONS, BACKGROUND, 0)
