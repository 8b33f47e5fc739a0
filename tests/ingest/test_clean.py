"""Cleaning India Code section bodies: amendment markers out (and recorded), hard line breaks out."""

from __future__ import annotations

import pytest

from ingest.clean import OMISSION, clean_section_body, unwrap_paragraph
from ingest.parse_indiacode import parse_footnotes

# (id, raw body, cleaned text, [(footnote, kind, text of the mark's span in the cleaned text)])
CLEAN_CASES = [
    ("hard-wraps-joined", "(1) This Act may be\ncalled the\nInformation Technology Act, 2000.",
     "(1) This Act may be called the Information Technology Act, 2000.", []),
    ("paragraphs-kept", "(1) First.\n\n\n(2) Second.", "(1) First.\n\n(2) Second.", []),
    ("inserted-clause", '(d) "child" means a minor;\n\n^1[(da) "child pornography" means a\ndepiction;]',
     '(d) "child" means a minor;\n\n(da) "child pornography" means a depiction;',
     [(1, "bracket", '(da) "child pornography" means a depiction;')]),
    ("omission", "(2) It extends to the whole of India, ^1***.", "(2) It extends to the whole of India, * * *.",
     [(1, "omission", OMISSION)]),
    ("omission-on-its-own-line", "(m) last;\n\n^5\n* * * * *\n\n(na) next;", "(m) last;\n\n* * *\n\n(na) next;",
     [(5, "omission", OMISSION)]),
    ("note-marker", "come into force on such date^2\nas the Government appoints.",
     "come into force on such date as the Government appoints.", [(2, "note", "")]),
    ("note-marker-on-its-own-line-is-not-a-paragraph-break", "on such date\n^1\nas the Government appoints.",
     "on such date as the Government appoints.", [(1, "note", "")]),
    ("marker-and-bracket-on-separate-lines", "appoint.\n\n^2\n[(4) Nothing applies to the Schedule.]",
     "appoint.\n\n(4) Nothing applies to the Schedule.", [(2, "bracket", "(4) Nothing applies to the Schedule.")]),
    ("nested-markers-and-plain-bracket", '^1[^4[ (b)["corrective institution" means a home;]]',
     '(b)["corrective institution" means a home;]', [(1, "bracket", '(b)["corrective institution" means a home;]'),
                                                     (4, "bracket", '(b)["corrective institution" means a home;]')]),
    ("plain-brackets-kept", "20. [Controller to act as repository.]Omitted by Act 10 of 2009.",
     "20. [Controller to act as repository.]Omitted by Act 10 of 2009.", []),
    ("opener-typed-as-closing-bracket", "notice to such ^1]person] requiring him",
     "notice to such person requiring him", [(1, "bracket", "person")]),
    ("spaces-collapsed", "in the course of ^1[ communal   or sectarian violence]; or",
     "in the course of communal or sectarian violence; or", [(1, "bracket", "communal or sectarian violence")]),
    ("hyphenated-wrap", "under sub-\nsection (1) of section 4", "under sub-section (1) of section 4", []),
    ("new-clause-on-next-line", "(i) whoever causes hurt; or\n(j) whoever commits it repeatedly.",
     "(i) whoever causes hurt; or\n\n(j) whoever commits it repeatedly.", []),
    ("reference-on-next-line-stays-joined", "appointed under sub-section\n(4) of section 35;",
     "appointed under sub-section (4) of section 35;", []),
    ("proviso-on-next-line", "as may be prescribed:\nProvided that no fee is charged.",
     "as may be prescribed:\n\nProvided that no fee is charged.", []),
    ("unclosed-bracket-runs-to-the-end", "^3[(2) Whoever commits it.\n\n(3) The fine is paid to the victim.",
     "(2) Whoever commits it.\n\n(3) The fine is paid to the victim.",
     [(3, "bracket", "(2) Whoever commits it.\n\n(3) The fine is paid to the victim.")]),
]


@pytest.mark.parametrize("raw, text, marks", [c[1:] for c in CLEAN_CASES], ids=[c[0] for c in CLEAN_CASES])
def test_clean_section_body(raw: str, text: str, marks: list[tuple[int, str, str]]) -> None:
    cleaned = clean_section_body(raw)
    assert cleaned.text == text
    assert [(m.footnote, m.kind, cleaned.text[m.start : m.end]) for m in cleaned.marks] == marks


@pytest.mark.parametrize("raw", [c[1] for c in CLEAN_CASES], ids=[c[0] for c in CLEAN_CASES])
def test_every_kept_character_maps_back_to_the_source(raw: str) -> None:
    cleaned = clean_section_body(raw)
    assert len(cleaned.offsets) == len(cleaned.text)
    assert cleaned.offsets == sorted(cleaned.offsets)
    inserted = {i for m in cleaned.marks if m.kind == "omission" for i in range(m.start, m.end)}
    for i, ch in enumerate(cleaned.text):
        if not ch.isspace() and i not in inserted:
            assert raw[cleaned.offsets[i]] == ch, (i, ch)


def test_raw_span_of_a_clause() -> None:
    raw = '(d) "child" means a minor;\n\n^1[(da) "child pornography" means a\ndepiction;]'
    cleaned = clean_section_body(raw)
    start = cleaned.text.index("(da)")
    a, b = cleaned.raw_span(start, len(cleaned.text))
    assert raw[a:b] == '(da) "child pornography" means a\ndepiction;'
    with pytest.raises(ValueError, match="not inside"):
        cleaned.raw_span(5, 5)


def test_unwrap_paragraph() -> None:
    assert unwrap_paragraph("Subs. by Act 10 of 2009, s. 3\n(w.e.f. 27-10-\n2009).\n") == "Subs. by Act 10 of 2009, s. 3 (w.e.f. 27-10-2009)."


# (id, footnote block, entries)
FOOTNOTE_CASES = [
    ("numbered", "\n1. Ins. by Act 25 of 2019, s. 2 (w.e.f. 16-08-2019).\n2. Subs. by s. 2, ibid., for \"x\".\n",
     ["1. Ins. by Act 25 of 2019, s. 2 (w.e.f. 16-08-2019).", '2. Subs. by s. 2, ibid., for "x".']),
    ("blank-lines-and-wraps", "\n1. The words omitted by Act 34 of 2019 (w.e.f. 31-10-\n2019).\n\n2. 14th November, 2012, see Gazette,"
     " Part\nII, sec. 3(ii).\n",
     ["1. The words omitted by Act 34 of 2019 (w.e.f. 31-10-2019).", "2. 14th November, 2012, see Gazette, Part II, sec. 3(ii)."]),
    ("number-on-its-own-line-and-wrapped-dates", "\n1 17\nth\nOctober, 2000.\n\n2\nSubs. by Act 10 of 2009 (w.e.f. 27\n-\n10\n-\n2009).\n",
     ["1. 17 th October, 2000.", "2. Subs. by Act 10 of 2009 (w.e.f. 27 - 10 - 2009)."]),
    ("numbering-starts-later", "\n3. Clause (n) omitted by Act 7 of 2017.\n", ["3. Clause (n) omitted by Act 7 of 2017."]),
    ("empty", "\n\n", []),
]


@pytest.mark.parametrize("block, entries", [c[1:] for c in FOOTNOTE_CASES], ids=[c[0] for c in FOOTNOTE_CASES])
def test_parse_footnotes(block: str, entries: list[str]) -> None:
    assert parse_footnotes(block) == entries
