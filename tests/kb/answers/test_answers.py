"""Answers on a real store built from team-written fixture Acts, with the real model."""

from __future__ import annotations

import pytest

from kb.answers.verify import verify_citations
from kb.models import Citation, Locator, Quote


@pytest.fixture(scope="module")
def rt(fixture_runtime):
    return fixture_runtime


def test_quotes_are_verbatim_slices_of_stored_provisions(rt):
    answer = rt.answerer.ask("How is the statement of a child recorded?", audience="lawyer")
    assert not answer.abstained
    assert "pocso:24" in [c.provision_key for c in answer.citations]
    for citation in answer.citations:
        stored = rt.store.get_provision(citation.provision_key)
        assert citation.quotes, citation.provision_key
        for quote in citation.quotes:
            assert stored.text[quote.char_start:quote.char_end] == quote.text


def test_quote_carries_its_subsection(rt):
    answer = rt.answerer.ask("Should the police officer be in uniform while recording the child's statement?")
    quotes = {q.subsection for c in answer.citations if c.provision_key == "pocso:24" for q in c.quotes}
    assert "(2)" in quotes


def test_forged_citations_are_dropped(rt):
    real = rt.store.get_provision("pocso:19")
    start = real.text.index("Any person")
    good = Quote(text=real.text[start:start + 40], char_start=start, char_end=start + 40)
    forged_locator = Locator(act_key="pocso", act_title="Forged", short_name="Forged Act", section="19", heading="Forged heading")
    citations = [
        Citation("pocso:19", forged_locator, [good]),                                   # valid quote, forged locator
        Citation("pocso:99", forged_locator, [good]),                                   # no such provision
        Citation("pocso:19", forged_locator, [Quote("shall be hanged", 0, 15)]),        # text not in the Act
        Citation("pocso:19", forged_locator, [Quote(good.text, start + 1, start + 41)]),  # right words, wrong span
        Citation("it:67B", forged_locator, [good]),                                      # quote from another provision
    ]
    kept, dropped = verify_citations(rt.store, citations)
    assert [c.provision_key for c in kept] == ["pocso:19"]
    assert kept[0].locator.heading == "Reporting of offences"  # the stored locator replaces the forged one
    assert kept[0].quotes == [good]
    reasons = {d.reason for d in dropped}
    assert "no such provision in the store" in reasons
    assert "quote not found verbatim at its span" in reasons


def test_off_topic_question_abstains_with_nearest_matches(rt):
    answer = rt.answerer.ask("What is the speed limit on national highways?")
    assert answer.abstained
    assert answer.citations == []
    assert "no provision" in answer.summary.lower()


def test_explicit_citation_is_ranked_first(rt):
    result = rt.searcher.search("POCSO 19(1) what does it require", top_k=5)
    assert result.hits[0].provision_key == "pocso:19"
    assert result.hits[0].signals.get("explicit")


def test_audience_changes_emphasis_not_facts(rt):
    question = "What must the police do after receiving a report of a sexual offence against a child?"
    answers = {a: rt.answerer.ask(question, audience=a) for a in ("lawyer", "police", "ngo")}
    keys = {a: [c.provision_key for c in ans.citations] for a, ans in answers.items()}
    assert keys["lawyer"] and set(keys["lawyer"]) == set(keys["police"]) == set(keys["ngo"])
    assert answers["police"].steps, "police get numbered steps"
    assert any("twenty-four hours" in step for step in answers["police"].steps)
    assert not answers["lawyer"].steps
    assert "In short" in answers["ngo"].summary


def test_related_provisions_resolve_to_stored_text(rt):
    answer = rt.answerer.ask("What is the definition of child pornography?")
    assert "pocso:2" in [c.provision_key for c in answer.citations]
    related = [c.provision_key for c in answer.related]
    assert "pocso:28" in related  # "Special Court" is defined by reference to section 28
    for key in related:
        assert rt.store.get_provision(key) is not None


def test_bad_audience_is_rejected(rt):
    from kb.errors import QueryError

    with pytest.raises(QueryError, match="audience"):
        rt.answerer.ask("reporting", audience="judge")
