"""parse_citations: a table of the ways users write references to provisions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.acts import registry
from kb.query.citations import MAX_RANGE, CitationRef, parse_citations

# (query, [(act_key, section, subsection), ...]) — kind "section" unless the row says otherwise.
FOUND = [
    ("s. 67B IT Act", [("it", "67B", None)]),
    ("section 19(1) of POCSO", [("pocso", "19", "(1)")]),
    ("POCSO 2(1)(da)", [("pocso", "2", "(1)(da)")]),
    ("BNSS 173", [("bnss", "173", None)]),
    ("Sec 4 POCSO", [("pocso", "4", None)]),
    ("sec. 21 of the Juvenile Justice Act", [("jj", "21", None)]),
    ("u/s 354D IPC", [("ipc", "354D", None)]),
    ("354D IPC", [("ipc", "354D", None)]),
    ("IPC 354D", [("ipc", "354D", None)]),
    ("Section 67-B of IT Act", [("it", "67B", None)]),
    ("s.67B", [(None, "67B", None)]),
    ("§ 19", [(None, "19", None)]),
    ("sections 19 and 21 of POCSO", [("pocso", "19", None), ("pocso", "21", None)]),
    ("ss. 3 to 5 POCSO", [("pocso", "3", None), ("pocso", "4", None), ("pocso", "5", None)]),
    ("POCSO Act section 19", [("pocso", "19", None)]),
    ("section 2(1)(d) of the POCSO Act, 2012", [("pocso", "2", "(1)(d)")]),
    ("CrPC 164", [("crpc", "164", None)]),
    ("section 164 Cr.P.C.", [("crpc", "164", None)]),
    ("BNS s. 64", [("bns", "64", None)]),
    ("66E of the Information Technology Act, 2000", [("it", "66E", None)]),
    ("under section 8", [(None, "8", None)]),
    ("POCSO sec 19 (1)", [("pocso", "19", "(1)")]),
    ("SECTION 19 OF POCSO", [("pocso", "19", None)]),
    ("pocso 19(1)", [("pocso", "19", "(1)")]),
    ("sec 376AB ipc", [("ipc", "376AB", None)]),
    ("u/s 376 r/w 34 IPC", [("ipc", "376", None), ("ipc", "34", None)]),
    ("376/511 IPC", [("ipc", "376", None), ("ipc", "511", None)]),
    ("clause (d) of sub-section (1) of section 2 of POCSO", [("pocso", "2", "(1)(d)")]),
    ("IPC section 354D and 509", [("ipc", "354D", None), ("ipc", "509", None)]),
    ("section 4 of POCSO and section 67B of IT Act", [("pocso", "4", None), ("it", "67B", None)]),
    ("punishment under BNS 64 for rape of a child under 12", [("bns", "64", None)]),
    ("Section 2(14) JJ Act", [("jj", "2", "(14)")]),
    ("POCSO 2012 s 19", [("pocso", "19", None)]),
    ("section 7 & 8 POCSO", [("pocso", "7", None), ("pocso", "8", None)]),
    ("sec.354-D IPC", [("ipc", "354D", None)]),
    ("S. 23 BSA", [("bsa", "23", None)]),
    ("IPC 1860 s. 375", [("ipc", "375", None)]),
    ("JJ Act sec 2(12)", [("jj", "2", "(12)")]),
    ("under the POCSO Act section 19 mandatory reporting", [("pocso", "19", None)]),
    ("section 19 POCSO 24 hours", [("pocso", "19", None)]),
    ("section 498A IPC and 85 BNS", [("ipc", "498A", None), ("bns", "85", None)]),
    ("s. 19 of pocso act", [("pocso", "19", None)]),
    ("is section 377 IPC valid", [("ipc", "377", None)]),
    ("s. 4, 6 & 8 POCSO", [("pocso", "4", None), ("pocso", "6", None), ("pocso", "8", None)]),
    ("2 (1) (d) of POCSO", [("pocso", "2", "(1)(d)")]),
    ("Section 66 A of the IT Act, 2000", [("it", "66A", None)]),
    ("section 43 a of IT act", [("it", "43A", None)]),
    ("is it an offence under section 67 of it act", [("it", "67", None)]),
    ("IT 67B", [("it", "67B", None)]),
    ("67B IT", [("it", "67B", None)]),
    ("POCSO section 4 and IPC 376", [("pocso", "4", None), ("ipc", "376", None)]),
    ("s 19 pocso and 354D ipc", [("pocso", "19", None), ("ipc", "354D", None)]),
    ("booked under 354D IPC", [("ipc", "354D", None)]),
    ("Sec. 164 CrPC statement", [("crpc", "164", None)]),
    ("section 19 and section 21 of POCSO", [("pocso", "19", None), ("pocso", "21", None)]),
    ("ss. 66-67 IT", [("it", "66", None), ("it", "67", None)]),
    ("sec 4(2) pocso", [("pocso", "4", "(2)")]),
    ("section 4 A person who", [(None, "4", None)]),
    ("POCSO section 19 child reporting duty", [("pocso", "19", None)]),
]

# (query, expected [(act_key, section, subsection, kind)]) for rules and articles.
KINDS = [
    ("rule 11 of the POCSO Rules", [("pocso_rules", "11", None, "rule")]),
    ("Rule 4(2) POCSO Rules 2020", [("pocso_rules", "4", "(2)", "rule")]),
    ("rule 11 of POCSO", [("pocso_rules", "11", None, "rule")]),
    ("rule 11 of JJ Rules", [(None, "11", None, "rule")]),  # JJ Rules are not in the registry
    ("Article 21", [(None, "21", None, "article")]),
    ("Article 21 of the Constitution", [(None, "21", None, "article")]),
    ("Art. 15(3)", [(None, "15", "(3)", "article")]),
]

NOT_CITATIONS = [
    "children under 18 years under POCSO",
    "report within 24 hours under POCSO",
    "Part II of the JJ Act",
    "call 1098 or 112",
    "POCSO Act, 2012",
    "the Information Technology Act, 2000 and the JJ Act, 2015",
    "top 10 POCSO cases",
    "under 18 POCSO",
    "fine of Rs 500 under POCSO",
    "what replaced it",
    "kids 5 years",
    "it's 5 pm",
    "children's 3 homes",
    "victims aged 12 to 18 under POCSO",
    "as a rule 5 children",
    "in 2019 the POCSO act was amended",
    "the 3rd schedule",
    "a 16-year-old girl",
    "within 2 months",
    "3 children under POCSO",
    "POCSO 5 of them",
    "",
]


def _triples(refs: list[CitationRef]) -> list[tuple[str | None, str, str | None]]:
    return [(r.act_key, r.section, r.subsection) for r in refs]


@pytest.mark.parametrize(("query", "expected"), FOUND, ids=[q for q, _ in FOUND])
def test_finds_citation(query: str, expected: list[tuple[str | None, str, str | None]]) -> None:
    refs = parse_citations(query)
    assert _triples(refs) == expected
    assert all(r.kind == "section" for r in refs)


@pytest.mark.parametrize(("query", "expected"), KINDS, ids=[q for q, _ in KINDS])
def test_rules_and_articles(query: str, expected: list[tuple[str | None, str, str | None, str]]) -> None:
    assert [(r.act_key, r.section, r.subsection, r.kind) for r in parse_citations(query)] == expected


@pytest.mark.parametrize("query", NOT_CITATIONS)
def test_numbers_that_are_not_sections(query: str) -> None:
    assert parse_citations(query) == []


@pytest.mark.parametrize("query", [q for q, _ in FOUND] + [q for q, _ in KINDS])
def test_span_and_raw_point_into_the_query(query: str) -> None:
    for ref in parse_citations(query):
        start, end = ref.span
        assert query[start:end] == ref.raw
        assert ref.act_key is None or ref.act_key in registry()


def test_span_covers_marker_number_and_act() -> None:
    (ref,) = parse_citations("what replaced IPC 354D today")
    assert ref.raw == "IPC 354D"
    (ref,) = parse_citations("read sec. 21 of the Juvenile Justice Act, 2015 first")
    assert ref.raw == "sec. 21 of the Juvenile Justice Act, 2015"


def test_list_members_share_the_span_of_the_whole_list() -> None:
    refs = parse_citations("sections 19 and 21 of POCSO")
    assert {r.span for r in refs} == {(0, len("sections 19 and 21 of POCSO"))}


def test_long_ranges_keep_only_their_ends() -> None:
    refs = parse_citations(f"ss. 3 to {3 + MAX_RANGE + 1} POCSO")
    assert [r.section for r in refs] == ["3", str(3 + MAX_RANGE + 1)]


def test_articles_have_no_provision_key() -> None:
    (ref,) = parse_citations("Article 21")
    assert ref.provision_key is None
    (ref,) = parse_citations("POCSO 2(1)(da)")
    assert (ref.provision_key, ref.pinpoint) == ("pocso:2", "2(1)(da)")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("sS.§ 0123456789()abcdIPCOTofunder/,-&")), max_size=40))
def test_any_text_parses_without_error(text: str) -> None:
    for ref in parse_citations(text):
        assert text[ref.span[0] : ref.span[1]] == ref.raw
        assert ref.section[0].isdigit()
