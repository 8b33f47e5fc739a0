"""India Code Markdown -> provisions, on the team-written sample Acts in tests/fixtures/indiacode."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import ConvertedText, ParsedDocument
from ingest.frontmatter import split_front_matter
from ingest.parse_indiacode import looks_like_indiacode, parse_indiacode_markdown
from kb.errors import IngestError
from kb.models import Provision


def _parse(path: Path) -> ParsedDocument:
    return parse_indiacode_markdown(ConvertedText(path=str(path), text=path.read_text("utf-8"), media_type="text/markdown"))


@pytest.fixture(scope="module")
def samples(fixtures_dir: Path) -> dict[str, dict[str, Provision]]:
    """{"pocso-sample/part-001.md": {section: provision}}"""
    root = fixtures_dir / "indiacode"
    names = ["pocso-sample/part-001.md", "it-sample/part-001.md", "it-sample/part-002.md", "bns-sample/part-001.md"]
    return {name: {p.locator.section: p for p in _parse(root / name).provisions} for name in names}


# (file, section) -> heading, status, subunit paths, footnotes, cross references
PROVISION_CASES = [
    ("pocso-sample/part-001.md", "1", "Short title, extent and commencement", "in_force", ["(1)", "(2)", "(3)"],
     ['1. The words "except the State of Jammu and Kashmir" omitted by Act 34 of 2019, s. 95 (w.e.f. 31-10-2019).',
      "2. 14th November, 2012, vide notification No. S.O. 2705(E)."], []),
    ("pocso-sample/part-001.md", "2", "Definitions", "in_force",
     ["(1)", "(1)(a)", "(1)(b)", "(1)(c)", "(1)(d)", "(1)(da)", "(1)(e)", "(1)(f)", "(1)(g)", "(1)(h)", "(1)(i)", "(1)(j)", "(2)"],
     ["1. Ins. by Act 25 of 2019, s. 2 (w.e.f. 16-08-2019)."],
     ["pocso:5", "pocso:28", "pwdva:2", "pocso:3", "pocso:7", "pocso:11"]),
    ("pocso-sample/part-001.md", "4", "Punishment for penetrative sexual assault", "in_force", ["(1)", "(2)", "(3)"],
     ["1. Section 4 renumbered as sub-section (1) by s. 3, ibid (w.e.f. 16-08-2019).",
      '2. Subs. by s. 3, ibid., for "seven years" (w.e.f. 16-08-2019).', "3. Ins. by s. 3, ibid. (w.e.f. 16-08-2019)."], []),
    ("pocso-sample/part-001.md", "5", "Aggravated penetrative sexual assault", "in_force",
     ["(a)", "(a)(i)", "(a)(ii)", "(b)", "(c)", "(c)-Explanation", "(d)", "(e)", "(e)(i)", "(e)(ii)", "(f)"],
     ['1. The word "or" omitted by Act 25 of 2019, s. 4 (w.e.f. 16-08-2019).', "2. Ins. by s. 4, ibid (w.e.f. 16-08-2019)."], []),
    ("pocso-sample/part-001.md", "13", "Use of child for pornographic purposes", "in_force", ["(a)", "(b)", "Explanation"], [], []),
    ("pocso-sample/part-001.md", "19", "Reporting of offences", "in_force",
     ["(1)", "(1)(a)", "(1)(b)", "(2)", "(2)(a)", "(2)(b)", "(2)-proviso", "(2)-proviso-2", "(3)"], [], []),
    ("pocso-sample/part-001.md", "28", "Designation of Special Courts", "in_force", ["(1)", "(2)", "(3)"], [],
     ["pocso:3", "pocso:4", "pocso:5", "pocso:6", "pocso:9", "pocso:11", "it:67B"]),
    ("pocso-sample/part-001.md", "42A", "Act not in derogation of any other law", "in_force", [],
     ["1. Ins. by Act 13 of 2013, s. 29 (w.e.f. 3-2-2013)."], []),
    ("it-sample/part-001.md", "1", "Short title, extent, commencement and application", "in_force",
     ["(1)", "(3)", "(4)", "(4)-proviso", "(5)"],
     ["1. 17 th October, 2000, vide notification No. G.S.R. 788 (E).",
      "2. Subs. by Act 10 of 2009, s. 3, for sub - section ( 4 ) (w.e.f. 27 - 10 - 2009)."], []),
    ("it-sample/part-001.md", "2", "Definitions", "in_force",
     ["(1)", "(1)(w)", "(1)(x)", "(1)(za)", "(1)(zb)", "(1)(zb)(a)", "(1)(zb)(b)", "(1)(zc)", "(2)"],
     ["3. Clause (zz) omitted by Act 7 of 2017, s.169 (w.e.f. 26-5-2017)."], ["it:16"]),
    ("it-sample/part-001.md", "20", "[Omitted.]", "omitted", [], [], []),
    ("it-sample/part-002.md", "52A", "[Omitted.]", "omitted", [], ["1. Ins. by Act 10 of 2009, s. 28 (w.e.f. 27-10-2009)."], []),
    ("it-sample/part-002.md", "66A", "Omitted", "omitted", ["(a)", "(b)"],
     ["1. Section 66A has been struck down by the Supreme Court's order dated 24th March, 2015 in Shreya Singhal vs. Union of India."],
     []),
    ("it-sample/part-002.md", "66F", "Punishment for cyber terrorism", "in_force",
     ["(1)", "(1)(A)", "(1)(A)(i)", "(1)(A)(ii)", "(1)(B)", "(2)"], [], []),
    ("it-sample/part-002.md", "67B",
     "Punishment for publishing or transmitting of material depicting children in sexually explicit act, etc., in electronic form",
     "in_force", ["(a)", "(b)", "proviso", "Explanation"], [], ["it:67", "it:67A"]),
    ("bns-sample/part-001.md", "2", "Definitions", "in_force",
     ["(3)", "(8)", "(8)-Explanation 1", "(8)-Explanation 1(a)", "(8)-Explanation 1(b)", "(8)-Explanation 2",
      "(8)-Explanation 2-Illustration", "(9)"], [], []),
    ("bns-sample/part-001.md", "8", "Amount of fine, liability in default of payment of fine, etc", "in_force",
     ["(5)", "(5)(a)", "(5)(b)", "(6)", "(6)(a)", "(6)(b)", "(6)-Illustration", "(7)"], [], []),
    ("bns-sample/part-001.md", "101", "Murder", "in_force",
     ["(a)", "(b)", "Illustrations", "Illustrations(a)", "Illustrations(b)", "Exception 1", "Exception 1-proviso",
      "Exception 1-proviso(a)", "Exception 1-proviso(b)", "Exception 1-Explanation", "Exception 2"], [], []),
]


@pytest.mark.parametrize(
    "name, section, heading, status, paths, footnotes, cross_refs",
    PROVISION_CASES,
    ids=[f"{c[0].split('/')[0]}-s{c[1]}" for c in PROVISION_CASES],
)
def test_provision_structure(samples, name, section, heading, status, paths, footnotes, cross_refs) -> None:
    provision = samples[name][section]
    assert provision.locator.heading == heading
    assert provision.status == status
    assert [u.path for u in provision.subunits] == paths
    assert provision.footnotes == footnotes
    assert provision.cross_refs == cross_refs


# (file, section, path) -> exact text of the sub-unit (its span in Provision.text)
SPAN_CASES = [
    ("pocso-sample/part-001.md", "2", "(1)(da)",
     '(da) "child pornography" means any visual depiction of sexually explicit conduct involving a child, '
     "including a photograph, video or computer generated image;"),
    ("pocso-sample/part-001.md", "4", "(1)",
     "(1) Whoever commits penetrative sexual assault shall be punished with imprisonment for a term of not less than "
     "ten years, which may extend to imprisonment for life, and shall also be liable to fine."),
    ("pocso-sample/part-001.md", "5", "(e)(i)", "(i) physically incapacitates the child; * * *"),
    ("pocso-sample/part-001.md", "5", "(c)-Explanation",
     "Explanation.-- When a child is assaulted by members of a group in furtherance of their common intention, each "
     "member is deemed to have committed gang penetrative sexual assault; or"),
    ("pocso-sample/part-001.md", "13", "(b)", "(b) the indecent or obscene representation of a child,"),
    ("pocso-sample/part-001.md", "19", "(2)-proviso-2",
     "Provided further that where the child does not understand the language, a translator shall be provided."),
    ("it-sample/part-001.md", "1", "(4)-proviso",
     "Provided that the Central Government may, by notification in the Official Gazette, amend the First Schedule by "
     "adding or deleting entries."),
    ("it-sample/part-001.md", "2", "(1)(x)", '(x) "key pair" means a private key and its related public key;\n\n* * *'),
    ("it-sample/part-002.md", "66F", "(1)(B)",
     "(B) knowingly accesses a computer resource without authorisation and obtains restricted information,"),
    ("bns-sample/part-001.md", "8", "(6)(a)",
     "(a) The imprisonment imposed in default of payment of a fine shall end whenever that fine is paid or levied;"),
]


@pytest.mark.parametrize("name, section, path, text", SPAN_CASES, ids=[f"{c[0].split('/')[0]}-s{c[1]}{c[2]}" for c in SPAN_CASES])
def test_subunit_span(samples, name, section, path, text) -> None:
    provision = samples[name][section]
    unit = next(u for u in provision.subunits if u.path == path)
    assert provision.text[unit.char_start : unit.char_end] == text


def test_section_text_is_cleaned_body_only(samples) -> None:
    provision = samples["pocso-sample/part-001.md"]["42A"]
    assert provision.text == (
        "42A. Act not in derogation of any other law.--The provisions of this Act are in addition to, and not in "
        "derogation of, any other law for the time being in force and, in case of any inconsistency, the provisions of "
        "this Act have overriding effect to that extent."
    )
    for sections in samples.values():
        for p in sections.values():
            assert "^" not in p.text and "Footnotes" not in p.text and "Editorial note" not in p.text


# file -> act key, short name, year, act number, source url, sections in order
DOCUMENT_CASES = [
    ("pocso-sample/part-001.md", "pocso", "POCSO Act", 2012, "32 of 2012", "https://www.indiacode.nic.in/handle/123456789/2079",
     ["1", "2", "4", "5", "13", "19", "28", "42A"]),
    ("it-sample/part-001.md", "it", "Information Technology Act", 2000, "21 of 2000",
     "https://www.indiacode.nic.in/handle/123456789/1999", ["1", "2", "20"]),
    ("it-sample/part-002.md", "it", "Information Technology Act", 2000, "21 of 2000",
     "https://www.indiacode.nic.in/handle/123456789/1999", ["52A", "66A", "66F", "67B"]),
    ("bns-sample/part-001.md", "bns", "Bharatiya Nyaya Sanhita", 2023, "45 of 2023",
     "https://www.indiacode.nic.in/handle/123456789/20062", ["2", "8", "101"]),
]


@pytest.mark.parametrize("name, act_key, short_name, year, act_number, url, sections", DOCUMENT_CASES, ids=[c[0] for c in DOCUMENT_CASES])
def test_document_and_locators(fixtures_dir, name, act_key, short_name, year, act_number, url, sections) -> None:
    path = fixtures_dir / "indiacode" / name
    doc = _parse(path)
    assert (doc.act_key, doc.doc_type, doc.source_url, doc.language) == (act_key, "act", url, "en")
    assert [p.locator.section for p in doc.provisions] == sections
    for p in doc.provisions:
        loc = p.locator
        assert (loc.act_key, loc.short_name, loc.year, loc.act_number) == (act_key, short_name, year, act_number)
        assert (loc.source_file, loc.source_url, loc.doc_type) == (str(path), url, "act")
        assert (loc.part, loc.chapter, loc.subsection, loc.page, loc.char_start) == (None, None, None, None, None)
        assert p.key == f"{act_key}:{loc.section}"


def test_front_matter_already_lifted_by_the_converter(fixtures_dir) -> None:
    path = fixtures_dir / "indiacode" / "pocso-sample" / "part-001.md"
    meta, body = split_front_matter(path.read_text("utf-8"))
    doc = parse_indiacode_markdown(ConvertedText(path=str(path), text=body, media_type="text/markdown", metadata=meta))
    assert doc.act_key == "pocso" and doc.source_url == meta["source"]
    assert [p.key for p in doc.provisions] == [p.key for p in _parse(path).provisions]


def test_citation_of_an_inserted_clause(samples) -> None:
    provision = samples["pocso-sample/part-001.md"]["2"]
    unit = next(u for u in provision.subunits if u.path == "(1)(da)")
    assert provision.locator.narrowed(subsection=unit.path).pinpoint == "2(1)(da)"


ERROR_CASES = [
    ("unknown-act/part-001.md", "names no Act known"),
    ("page-text/part-001.md", "page text"),
]


@pytest.mark.parametrize("name, message", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_refused_files_name_the_file(fixtures_dir, name, message) -> None:
    path = fixtures_dir / "indiacode" / name
    with pytest.raises(IngestError, match=message) as err:
        _parse(path)
    assert err.value.path == str(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("# The Information Technology Act, 2000\n\nSome text without sections.\n", "no '## Section"),
        ("Just a paragraph.\n\n## Section 1 - Title.\n\nText.\n", "no title"),
        ("# The Information Technology Act, 2000\n\n## Section X1 - Bad.\n\nText.\n", "no valid section number"),
        ("# The Information Technology Act, 2000\n\n## Section 3 - A.\n\nOne.\n\n## Section 3 - A.\n\nTwo.\n", "section 3 appears twice"),
    ],
    ids=["no-sections", "no-title", "bad-number", "duplicate"],
)
def test_malformed_markdown(text: str, message: str) -> None:
    with pytest.raises(IngestError, match=message) as err:
        parse_indiacode_markdown(ConvertedText(path="act.md", text=text, media_type="text/markdown"))
    assert str(err.value).startswith("act.md: ")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("pocso-sample/part-001.md", True),
        ("it-sample/part-002.md", True),
        ("unknown-act/part-001.md", True),  # the layout is India Code's; the unknown title is refused when parsing
        ("page-text/part-001.md", False),  # no section headings: the printed-Act parser's job
    ],
)
def test_looks_like_indiacode(fixtures_dir, name, expected) -> None:
    assert looks_like_indiacode((fixtures_dir / "indiacode" / name).read_text("utf-8")) is expected


def test_guide_is_not_indiacode() -> None:
    assert not looks_like_indiacode("# Reporting guide\n\n## Section A - Who must report\n\nEveryone.\n")
