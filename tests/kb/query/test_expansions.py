"""Lay -> statutory phrase expansion, and the reviewed table behind it."""

from __future__ import annotations

import re

import pytest

from kb.errors import ConfigError
from kb.query.expansions import MAX_TERMS, expand, parse_rules, rules

# (query, phrases that must be added, rule ids that must match)
ROWS = [
    ("punishment for storing CSAM", ["child pornography", "sexually explicit act", "material depicting children",
                                     "stores or possesses pornographic material"], ["csam", "storing"]),
    ("is child porn on my phone a crime", ["child pornography"], ["csam"]),
    ("Child Sexual Abuse Material online", ["material depicting children"], ["csam"]),
    ("teacher beat students in class", ["physical punishment", "mental harassment"], ["corporal_punishment"]),
    ("can a teacher hit a child", ["physical punishment"], ["corporal_punishment"]),
    ("corporal punishment in schools", ["physical punishment", "mental harassment"], ["corporal_punishment"]),
    ("how to file an FIR", ["information in cognizable cases", "first information"], ["fir"]),
    ("online grooming of a minor", ["cultivates, entices or induces children to online relationship"], ["grooming"]),
    ("sextortion of a teenager", ["criminal intimidation", "extortion"], ["sextortion"]),
    ("morphed images of a schoolgirl", ["image created, adapted, or modified"], ["morphed_images"]),
    ("anticipatory bail in POCSO", ["bail bond", "apprehending arrest"], ["bail"]),
    ("medical exam of the victim", ["medical examination"], ["medical_exam"]),
    ("recording statement of the child", ["recording of statement of a child"], ["child_statement"]),
    ("is the trial in camera", ["court to be open"], ["in_camera"]),
    ("compensation for child victims", ["victim compensation scheme"], ["compensation"]),
    ("child marriage in villages", ["contracting party"], ["child_marriage"]),
    ("working children in dhabas", ["adolescent", "employment"], ["child_labour"]),
    ("child labour in factories", ["adolescent", "employment"], ["child_labour"]),
    ("human trafficking of girls", ["trafficking of person"], ["trafficking"]),
    ("cyber bullying on instagram", ["stalking"], ["stalking"]),
    ("cyber-bullying", ["stalking"], ["stalking"]),
    ("mandatory reporting by doctors", ["failure to report", "reporting of offences"], ["mandatory_reporting"]),
    ("what if a school does not report abuse", ["failure to report"], ["mandatory_reporting"]),
    ("juvenile who stole a phone", ["child in conflict with law"], ["juvenile"]),
    ("who can adopt a child", ["prospective adoptive parents"], ["adoption"]),
    ("orphans and abandoned babies", ["orphan, abandoned and surrendered"], ["orphan"]),
    ("surrendered by parents", ["surrendered child"], ["orphan"]),
    ("missing child complaint", ["missing or run away child"], ["missing_child"]),
    ("school fees and capitation fee", ["screening procedure"], ["school_fees"]),
    ("age proof for a POCSO victim", ["determination of age", "birth certificate"], ["age_determination"]),
    ("age determination of accused", ["birth certificate"], ["age_determination"]),
    ("sexting between teenagers", ["sexually explicit act"], ["sexting"]),
    ("nude photos shared in a group", ["image of a private area"], ["sexting"]),
    ("obscene messages to a girl", ["lascivious"], ["obscene"]),
    ("hidden camera in hostel", ["voyeurism"], ["voyeurism"]),
    ("private tuition by government teacher", [], ["private_tuition"]),
    ("children's data and parental consent", ["verifiable consent"], ["children_data"]),
]

# Words that must not trigger an entry (word boundaries, no substring matches).
NO_MATCH = ["white paper", "bailiff fees", "firmware update", "the adoptedness", "shitting", "teenagers and exams"]


@pytest.mark.parametrize(("query", "phrases", "rule_ids"), ROWS, ids=[q for q, _, _ in ROWS])
def test_expands(query: str, phrases: list[str], rule_ids: list[str]) -> None:
    result = expand(query)
    assert set(rule_ids) <= set(result.rules)
    assert set(phrases) <= set(result.terms_added)
    assert result.text == " ".join(result.terms_added)
    assert [legal for _, legal in result.matched] == result.terms_added


@pytest.mark.parametrize("query", NO_MATCH)
def test_no_substring_matches(query: str) -> None:
    assert expand(query).terms_added == []


def test_phrases_already_in_the_query_are_not_added() -> None:
    result = expand("bail")
    assert "bail" not in result.terms_added
    assert "non-bailable offence" in result.terms_added


def test_matched_pairs_name_the_lay_phrase_from_the_table() -> None:
    assert ("csam", "child pornography") in expand("storing CSAM").matched


def test_act_hints_come_with_the_match() -> None:
    assert expand("corporal punishment").acts == ["rte", "jj"]


def test_added_terms_are_capped() -> None:
    crowded = "CSAM sextortion morphed bail FIR grooming adoption trafficking child marriage child labour"
    assert len(expand(crowded).terms_added) == MAX_TERMS


def test_table_is_broad_and_reviewed() -> None:
    table = rules()
    assert len(table) >= 40
    assert all(rule.note and rule.terms and rule.expand_to for rule in table)


def _normalise(text: str) -> str:
    text = re.sub(r"\^\d+\[?|\^\d+\*+|\*{3}|\]", "", text)
    text = text.translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"', 0x2014: "-"}).replace("--", "-")
    return re.sub(r"\s+", " ", text.lower())


@pytest.fixture(scope="module")
def act_texts(legal_texts) -> dict[str, str]:
    return {key: _normalise(legal_texts.act_text(key)) for key in legal_texts.md_keys}


@pytest.mark.parametrize("rule", rules(), ids=[r.id for r in rules()])
def test_expansion_phrases_occur_in_the_hinted_acts(rule, act_texts: dict[str, str]) -> None:
    acts = rule.acts or tuple(act_texts)
    for phrase in rule.expand_to:
        found = [key for key in acts if _normalise(phrase) in act_texts[key]]
        assert found, f"{rule.id}: {phrase!r} occurs in none of {acts}"


BAD = [
    ({}, "no \\[\\[expansion\\]\\]"),
    ({"expansion": [{"id": "x", "terms": [], "expand_to": ["a"], "note": "n"}]}, "'terms'"),
    ({"expansion": [{"id": "x", "terms": ["a"], "expand_to": ["b"], "note": ""}]}, "'note'"),
    ({"expansion": [{"id": "x", "terms": ["a"], "expand_to": ["b"], "acts": ["nope"], "note": "n"}]}, "unknown act"),
    ({"expansion": [{"id": "Bad Id", "terms": ["a"], "expand_to": ["b"], "note": "n"}]}, "'id'"),
    ({"expansion": [{"id": "x", "terms": ["a"], "expand_to": [" "], "note": "n"}]}, "blank"),
    ({"expansion": [{"id": "x", "terms": ["a"], "expand_to": ["b"], "note": "n", "extra": 1}]}, "unknown field"),
    ({"expansion": [{"id": "x", "terms": ["a"], "expand_to": ["b"], "note": "n"},
                    {"id": "x", "terms": ["c"], "expand_to": ["d"], "note": "n"}]}, "unique"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_table_is_reported_with_file_and_field(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_rules(data, source="exp.toml")
    assert "exp.toml" in str(err.value)
