"""Printed Act text -> sections: a team-written PDF fixture, then the real POCSO PDF and the
Child and Adolescent Labour Act page text (skipped when ../shared/sources is absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.convert import convert_file
from ingest.document import ConvertedText
from ingest.parse_printed import looks_like_printed_act, parse_printed_act
from kb.errors import IngestError
from kb.settings import IngestSettings
from make_docs import MODEL_ACT_FOOTNOTES, MODEL_ACT_PAGES, text_pdf

POCSO_PDF = "pocso/POCSO_Act_2012_indiacode_updated_2023-02-28.pdf"
CHILD_LABOUR_MD = "indiacode-md/the-child-and-adolescent-labour-prohibition-and-regulation-act-1986/part-001.md"


@pytest.fixture(scope="module")
def model_act(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("printed") / "model-act.pdf"
    path.write_bytes(text_pdf(MODEL_ACT_PAGES, MODEL_ACT_FOOTNOTES))
    return parse_printed_act(convert_file(path, IngestSettings()))


# section, heading, page, part, start of text, subunit paths
MODEL_SECTIONS = [
    ("1", "Short title and commencement", 2, "I", "(1) This Act may be called the Child Safety (Model) Act, 2024.", ["(1)", "(2)"]),
    ("2", "Definitions", 2, "I", "In this Act, unless the context otherwise requires,\u2014", ["(a)", "(b)", "(c)"]),
    ("3", "Prohibition of harmful content", 3, "II", "No platform shall knowingly host content that sexually exploits a child.", []),
    ("4", "Duty to report", 3, "II", "(1) Every platform shall report harmful content", ["(1)", "(2)"]),
    ("4A", "Designated officers", 3, "II", "The State Government shall, by notification, designate officers", []),
    ("5", "Penalty", 4, "II", "Whoever contravenes section 3 shall be punished", ["proviso"]),
]


def test_model_act_sections_table(model_act) -> None:
    got = [
        (p.locator.section, p.locator.heading, p.locator.page, p.locator.part, p.text[: len(row[4])], [u.path for u in p.subunits])
        for p, row in zip(model_act.provisions, MODEL_SECTIONS)
    ]
    assert got == MODEL_SECTIONS
    assert len(model_act.provisions) == len(MODEL_SECTIONS)  # the arrangement table added nothing


def test_model_act_identity_and_layout(model_act) -> None:
    assert model_act.title == "The Child Safety (Model) Act, 2024"
    assert model_act.act_key == "child_safety_model_act_2024"
    first = model_act.provisions[0].locator
    assert (first.year, first.act_number, first.doc_type) == (2024, "7 of 2024", "act")
    assert model_act.metadata["parts"] == {"I": "PRELIMINARY", "II": "PROHIBITION OF HARMFUL CONTENT"}  # spaced capitals joined
    assert model_act.metadata["schedule"].startswith("THE SCHEDULE")
    everything = "\n".join(p.text for p in model_act.provisions)
    for layout in ("GAZETTE OF MODELSTATE", "ARRANGEMENT OF SECTIONS", "Ins. by Act", "BE it enacted", "prohi-", "Messaging"):
        assert layout not in everything, layout


def test_model_act_footnote_goes_to_the_inserted_section(model_act) -> None:
    by_number = {p.locator.section: p for p in model_act.provisions}
    assert by_number["4A"].footnotes == ["1. Ins. by Act 3 of 2025, s. 2 (w.e.f. 1-4-2025)."]
    assert by_number["4A"].text == "The State Government shall, by notification, designate officers for the purposes of this Act."
    assert all(not p.footnotes for n, p in by_number.items() if n != "4A")


def test_model_act_hyphenated_word_and_cross_refs(model_act) -> None:
    definitions = model_act.provisions[1]
    assert '(b) "designated officer" means an officer designated for the prohibition of harmful content under section 4A;' in definitions.text
    assert definitions.cross_refs == ["child_safety_model_act_2024:4A"]


def test_act_hint_names_a_registered_act(tmp_path: Path) -> None:
    text = "1. Short title.\u2014This Act may be called the Model Act.\n2. Definitions.\u2014In this Act nothing.\n3. Penalty.\u2014None."
    converted = ConvertedText(path="x.txt", text=text, media_type="text/plain")
    parsed = parse_printed_act(converted, act_hint="POCSO")
    assert parsed.act_key == "pocso" and parsed.provisions[2].locator.citation() == "POCSO Act, 2012, s. 3"
    with pytest.raises(IngestError, match="unknown act 'Nonexistent Act'"):
        parse_printed_act(converted, act_hint="Nonexistent Act")


def test_text_without_sections_is_refused() -> None:
    converted = ConvertedText(path="notes.txt", text="Some notes about reporting.\nNothing numbered.", media_type="text/plain")
    assert not looks_like_printed_act(converted.text)
    with pytest.raises(IngestError, match="no numbered sections"):
        parse_printed_act(converted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("THE MODEL ACT, 2024\n1. Short title.\u2014Text.\n2. Definitions.\u2014Text.", True),
        ("1. Short title.\u2014A.\n2. Extent.\u2014B.\n3. Definitions.\u2014C.", True),
        ("1 [ 3. Prohibition of employment. \u2014 ( 1 ) No child\n4. Power to amend. \u2014 The\n5. Committee. \u2014 ( 1 )", True),
        ("# Guide\n\n1. Call the police.\n2. Write down what the child said.", False),
        ("Steps:\n1. Report.\u2014at once.", False),
        ("# FAQ\n## Reporting\n1. Who reports?\u2014Anyone.\n2. When?\u2014At once.\n## After\n3. Then?\u2014The CWC.", False),
    ],
)
def test_looks_like_printed_act(text: str, expected: bool) -> None:
    assert looks_like_printed_act(text) is expected


# ---------------------------------------------------------------------------- real sources


def test_pocso_pdf_every_section(shared_sources: Path) -> None:
    path = shared_sources / POCSO_PDF
    if not path.is_file():
        pytest.skip(f"{path} not found")
    parsed = parse_printed_act(convert_file(path, IngestSettings()))
    numbers = [p.locator.section for p in parsed.provisions]
    assert numbers == [str(n) for n in range(1, 43)] + ["42A"] + [str(n) for n in range(43, 47)]
    assert len(numbers) == 47
    assert parsed.act_key == "pocso" and parsed.doc_type == "act"
    for provision in parsed.provisions:
        assert provision.locator.heading, provision.locator.section
        assert len(provision.text) > 40, provision.locator.section
        assert provision.locator.page is not None
        assert "Ins. by" not in provision.text and "Subs. by" not in provision.text, provision.locator.section
    by_number = {p.locator.section: p for p in parsed.provisions}
    assert by_number["19"].locator.heading == "Reporting of offences"
    assert by_number["42A"].locator.heading == "Act not in derogation of any other law"
    assert by_number["2"].text.startswith("(1) In this Act, unless the context otherwise requires")
    assert "(1)(da)" in [u.path for u in by_number["2"].subunits]  # the inserted clause, marker removed
    assert by_number["2"].footnotes[0].startswith("1. Ins. by Act 25 of 2019, s. 2")
    assert by_number["46"].text.endswith("before each House of Parliament.")  # the Schedule is not part of s. 46
    assert parsed.metadata["chapters"]["V"] == "PROCEDURE FOR REPORTING OF CASES"
    assert by_number["19"].locator.chapter == "V"


def test_pocso_section_19_starts_on_page_10(shared_sources: Path) -> None:
    from pypdf import PdfReader

    path = shared_sources / POCSO_PDF
    if not path.is_file():
        pytest.skip(f"{path} not found")
    # Found by inspection: page 2 lists s. 19 in the arrangement table, page 10 prints the section.
    page_ten = PdfReader(path).pages[9].extract_text()
    assert "19. Reporting of offences.\u2014(1) Notwithstanding" in page_ten
    parsed = parse_printed_act(convert_file(path, IngestSettings()))
    section = next(p for p in parsed.provisions if p.locator.section == "19")
    assert section.locator.page == 10
    assert section.locator.citation(with_page=True) == "POCSO Act, 2012, s. 19, p. 10"


def _arrangement_numbers(raw: str) -> list[str]:
    """Section numbers listed in the arrangement table of the raw page text, ranges expanded."""
    table = raw[raw.index("ARRANGEMENT OF SECTIONS") : raw.index("## Page 2")]
    numbers: list[str] = []
    for line in table.splitlines():
        single = re.match(r"^(\d+[A-Z]?)\.\s", line)
        span = re.match(r"^(\d+) to (\d+) \[", line)
        if single:
            numbers.append(single.group(1))
        elif span:
            numbers.extend(str(n) for n in range(int(span.group(1)), int(span.group(2)) + 1))
    return numbers


def test_child_labour_sections_match_the_arrangement_table(shared_sources: Path) -> None:
    path = shared_sources / CHILD_LABOUR_MD
    if not path.is_file():
        pytest.skip(f"{path} not found")
    expected = _arrangement_numbers(path.read_text("utf-8"))
    assert len(expected) > 25 and "14D" in expected
    parsed = parse_printed_act(convert_file(path, IngestSettings()))
    assert [p.locator.section for p in parsed.provisions] == expected
    assert parsed.act_key == "clpra"
    for provision in parsed.provisions:
        assert provision.locator.heading and provision.text and provision.locator.page, provision.locator.section
    by_number = {p.locator.section: p for p in parsed.provisions}
    assert by_number["3"].locator.heading == "Prohibition of employment of children in any occupation and process"
    assert by_number["3"].text.startswith("(1) No child shall be employed or permitted to work in any occupation or process.")
    assert by_number["3"].locator.page == 3 and by_number["3"].locator.part == "II"
    assert by_number["14C"].locator.heading == "Rehabilitation of rescued child or adolescent"  # printed "1 4C."
    assert by_number["24"].status == "omitted" and "Rep. by the Repealing and Amending Act, 2001" in by_number["24"].text
    assert by_number["14"].footnotes[0] == "2. Subs. by s. 18, ibid., for sub-section (1) (w.e.f. 1-9-2016)."
    assert parsed.metadata["parts"]["I"] == "PRELIMINARY"
