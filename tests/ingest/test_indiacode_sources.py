"""The India Code Markdown parser and the chunker on the real Acts in ../shared/sources (skipped when absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.chunk import chunk_provision
from ingest.document import ConvertedText, ParsedDocument
from ingest.parse_indiacode import looks_like_indiacode, parse_indiacode_markdown
from kb.errors import IngestError
from kb.models import Provision
from kb.settings import ChunkSettings

ACT_FOLDERS = {
    "the-bharatiya-nagarik-suraksha-sanhita-2023": "bnss",
    "the-bharatiya-nyaya-sanhita-2023": "bns",
    "the-bharatiya-sakshya-adhiniyam-2023": "bsa",
    "the-commissions-for-protection-of-child-rights-act-2005": "cpcr",
    "the-digital-personal-data-protection-act-2023": "dpdp",
    "the-immoral-traffic-prevention-act-1956": "itpa",
    "the-indecent-representation-of-women-prohibition-act-1986": "irwa",
    "the-information-technology-act-2000": "it",
    "the-juvenile-justice-care-and-protection-of-children-act-2015": "jj",
    "the-prohibition-of-child-marriage-act-2006": "pcma",
    "the-protection-of-children-from-sexual-offences-act-2012": "pocso",
    "the-protection-of-women-from-domestic-violence-act-2005": "pwdva",
    "the-right-of-children-to-free-and-compulsory-education-act-2009": "rte",
}
PAGE_TEXT_FOLDER = "the-child-and-adolescent-labour-prohibition-and-regulation-act-1986"
_HEADING = re.compile(r"^## Section (\S+) - (.*)$", re.M)


def _parse(path: Path) -> ParsedDocument:
    return parse_indiacode_markdown(ConvertedText(path=str(path), text=path.read_text("utf-8"), media_type="text/markdown"))


@pytest.fixture(scope="module")
def acts(shared_sources: Path) -> dict[str, list[tuple[Path, ParsedDocument]]]:
    root = shared_sources / "indiacode-md"
    return {folder: [(f, _parse(f)) for f in sorted((root / folder).glob("part-*.md"))] for folder in ACT_FOLDERS}


@pytest.fixture(scope="module")
def by_key(acts) -> dict[str, Provision]:
    return {p.key: p for parts in acts.values() for _, doc in parts for p in doc.provisions}


def test_every_act_folder_is_present(shared_sources: Path) -> None:
    folders = {p.name for p in (shared_sources / "indiacode-md").iterdir() if p.is_dir()}
    assert folders == set(ACT_FOLDERS) | {PAGE_TEXT_FOLDER}


@pytest.mark.parametrize("folder", sorted(ACT_FOLDERS))
def test_one_provision_per_section_heading(acts, folder: str) -> None:
    parts = acts[folder]
    assert parts, f"no part files in {folder}"
    for path, doc in parts:
        headings = _HEADING.findall(path.read_text("utf-8"))
        assert [p.locator.section for p in doc.provisions] == [number for number, _ in headings]
        assert doc.act_key == ACT_FOLDERS[folder]
        assert {p.locator.act_key for p in doc.provisions} == {ACT_FOLDERS[folder]}
    sections = [p.locator.section for _, doc in parts for p in doc.provisions]
    assert len(sections) == len(set(sections)), "a section appears in two part files"


def test_page_text_act_is_refused_with_a_clear_error(shared_sources: Path) -> None:
    path = shared_sources / "indiacode-md" / PAGE_TEXT_FOLDER / "part-001.md"
    assert not looks_like_indiacode(path.read_text("utf-8"))
    with pytest.raises(IngestError, match=r"page text \('## Page N'\) without '## Section' headings"):
        _parse(path)


def test_pocso_inserted_clause(by_key) -> None:
    provision = by_key["pocso:2"]
    unit = next(u for u in provision.subunits if u.path == "(1)(da)")
    assert provision.text[unit.char_start : unit.char_end].startswith('(da) "child pornography" means any visual depiction')
    assert "pwdva:2" in provision.cross_refs
    assert provision.footnotes[0] == "1. Ins. by Act 25 of 2019, s. 2 (w.e.f. 16-08-2019)."


def test_pocso_clause_i_and_subclauses_of_j(by_key) -> None:
    paths = [u.path for u in by_key["pocso:5"].subunits]
    assert paths.index("(h)") < paths.index("(i)") < paths.index("(j)") < paths.index("(j)(i)") < paths.index("(k)")
    assert "(j)(iv)" in paths and "(g)-Explanation" in paths


def test_it_act_inserted_and_omitted_sections(acts, by_key) -> None:
    assert by_key["it:67B"].locator.heading.startswith("Punishment for publishing or transmitting of material depicting children")
    assert by_key["it:66F"].status == "in_force"
    assert [u.path for u in by_key["it:66F"].subunits][:4] == ["(1)", "(1)(A)", "(1)(A)(i)", "(1)(A)(ii)"]
    for key in ("it:20", "it:49", "it:52A", "it:52C", "it:54", "it:66A", "it:91"):
        assert by_key[key].status == "omitted", key
    # Every section whose heading says it was omitted is marked so, and no other IT section is.
    omitted_headings = set()
    for path, _ in acts["the-information-technology-act-2000"]:
        omitted_headings |= {n for n, heading in _HEADING.findall(path.read_text("utf-8")) if "Omitted" in heading}
    assert {p.locator.section for p in by_key.values() if p.locator.act_key == "it" and p.status == "omitted"} == omitted_headings


def test_text_is_clean(by_key) -> None:
    for provision in by_key.values():
        assert not re.search(r"\^\d", provision.text), provision.key
        assert "Editorial note" not in provision.text and "### Footnotes" not in provision.text, provision.key


def test_subunit_spans_and_paths(by_key) -> None:
    for provision in by_key.values():
        paths = [u.path for u in provision.subunits]
        assert len(paths) == len(set(paths)), provision.key
        for unit in provision.subunits:
            assert 0 <= unit.char_start < unit.char_end <= len(provision.text), (provision.key, unit)
            assert not provision.text[unit.char_end - 1].isspace(), (provision.key, unit)


def test_every_chunk_is_an_exact_span_within_the_bound(by_key) -> None:
    settings = ChunkSettings()
    for provision in by_key.values():
        for chunk in chunk_provision(provision, settings):
            loc = chunk.locator
            assert chunk.text == provision.text[loc.char_start : loc.char_end], (provision.key, loc)
            assert 0 < len(chunk.text) <= settings.max_chars, (provision.key, len(chunk.text))
            assert loc.provision_key == provision.key
            assert chunk.embed_text.startswith(f"{loc.short_name} s. {loc.section} ")
