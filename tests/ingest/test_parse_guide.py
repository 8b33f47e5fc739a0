"""Guides, SOPs and policies: heading blocks as locators, links to the provisions they cite."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.convert import convert_file
from ingest.detect import parse_converted
from ingest.document import ConvertedText
from ingest.parse_guide import doc_key_for, find_links, parse_guide
from kb.errors import IngestError
from kb.settings import IngestSettings
from make_docs import docx_bytes, text_pdf

GUIDE = """---
title: Police SOP on Child Sexual Abuse Complaints
doc_type: sop
audiences: [police]
cites: [pocso:19, pocso:21]
---
# Police SOP on Child Sexual Abuse Complaints

This SOP is for station house officers.

## Receiving the complaint

Record every complaint in writing, as section 19 of the POCSO Act requires.

### Language

Use the child's own words (POCSO s. 24).

## Medical examination

Arrange it under s. 27 of the POCSO Act; see also Section 94 JJ Act for age.

## Online material

Report links to the nodal agency; s. 67B of the IT Act applies.

## Notes

Section 19 again, and a bare section 12 with no Act named.
"""

# ordinal, heading, heading_path, cross_refs
EXPECTED_BLOCKS = [
    ("1", "Police SOP on Child Sexual Abuse Complaints", (), []),
    ("2", "Receiving the complaint", ("Receiving the complaint",), ["pocso:19"]),
    ("3", "Language", ("Receiving the complaint", "Language"), ["pocso:24"]),
    ("4", "Medical examination", ("Medical examination",), ["pocso:27", "jj:94"]),
    ("5", "Online material", ("Online material",), ["it:67B"]),
    ("6", "Notes", ("Notes",), []),
]


def test_guide_blocks_table(tmp_path: Path) -> None:
    path = tmp_path / "sop.md"
    path.write_text(GUIDE, encoding="utf-8")
    parsed = parse_converted(convert_file(path, IngestSettings()))
    got = [(p.locator.section, p.locator.heading, p.locator.heading_path, p.cross_refs) for p in parsed.provisions]
    assert got == EXPECTED_BLOCKS
    assert parsed.doc_type == "sop" and parsed.audiences == ["police"]
    assert parsed.act_key == "doc-police-sop-on-child-sexual-abuse-complaints"
    assert parsed.links == ["pocso:19", "pocso:24", "pocso:27", "jj:94", "it:67B", "pocso:21"]  # detected, then declared
    language = parsed.provisions[2]
    assert language.key == "doc-police-sop-on-child-sexual-abuse-complaints:3"
    assert language.locator.citation() == "Police SOP on Child Sexual Abuse Complaints › Receiving the complaint › Language"
    assert language.locator.doc_type == "sop"
    assert language.text == "Use the child's own words (POCSO s. 24)."


def test_arguments_win_over_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "sop.md"
    path.write_text(GUIDE, encoding="utf-8")
    parsed = parse_converted(convert_file(path, IngestSettings()), doc_type="guideline", audiences=["NGOs", "lawyer"])
    assert parsed.doc_type == "guideline" and parsed.audiences == ["ngo", "lawyer"]
    assert all(p.locator.doc_type == "guideline" for p in parsed.provisions)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"doc_type": "novel"}, "given doc_type 'novel' is not one of"),
        ({"audiences": ["judges"]}, "given audience 'judges' is not one of lawyer, police, ngo"),
        ({"doc_type": "act"}, "doc_type 'act' needs numbered sections"),
    ],
)
def test_bad_metadata_is_refused(kwargs: dict, error: str) -> None:
    converted = ConvertedText(path="g.md", text="# Guide\n\nText.", media_type="text/markdown")
    with pytest.raises(IngestError, match=error):
        parse_guide(converted, **kwargs)


def test_guide_from_pdf_keeps_pages(tmp_path: Path) -> None:
    pages = [["# NGO Referral Guide", "Who this guide is for."], ["## Calling 1098", "Call Childline first; see section 19 of the POCSO Act."]]
    path = tmp_path / "guide.pdf"
    path.write_bytes(text_pdf(pages))
    parsed = parse_converted(convert_file(path, IngestSettings()), doc_type="guideline", audiences=["ngo"])
    assert [(p.locator.heading, p.locator.page) for p in parsed.provisions] == [("NGO Referral Guide", 1), ("Calling 1098", 2)]
    assert parsed.links == ["pocso:19"]


def test_guide_from_docx_uses_core_title(tmp_path: Path) -> None:
    data = docx_bytes(
        [("Heading 1", "Overview"), ("", "What schools must do."), ("Heading 2", "Reporting"), ("", "Report under s. 21 of POCSO.")],
        title="School Safety Policy",
    )
    path = tmp_path / "policy.docx"
    path.write_bytes(data)
    parsed = parse_converted(convert_file(path, IngestSettings()), doc_type="policy")
    assert parsed.title == "School Safety Policy" and parsed.act_key == "doc-school-safety-policy"
    assert [(p.locator.heading, p.locator.heading_path) for p in parsed.provisions] == [
        ("Overview", ("Overview",)),
        ("Reporting", ("Overview", "Reporting")),
    ]
    assert parsed.provisions[1].cross_refs == ["pocso:21"]


def test_html_guide_title_from_title_tag(tmp_path: Path) -> None:
    path = tmp_path / "faq.html"
    path.write_text("<html><head><title>Cyber Safety FAQ</title></head><body><h2>Is sharing a crime?</h2>"
                    "<p>Yes, under section 67B of the IT Act.</p></body></html>", encoding="utf-8")
    parsed = parse_converted(convert_file(path, IngestSettings()), doc_type="faq")
    assert parsed.title == "Cyber Safety FAQ"
    assert [(p.locator.heading, p.cross_refs) for p in parsed.provisions] == [("Is sharing a crime?", ["it:67B"])]


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("section 19 of the POCSO Act", ["pocso:19"]),
        ("sections 19 and 21 of the POCSO Act, 2012", ["pocso:19", "pocso:21"]),
        ("s. 67B of the IT Act", ["it:67B"]),
        ("POCSO s. 21", ["pocso:21"]),
        ("Section 94 JJ Act", ["jj:94"]),
        ("a bare section 12", []),
        ("call 1098 in 2012", []),
    ],
)
def test_find_links(text: str, links: list[str]) -> None:
    assert find_links(text) == links


def test_declared_cites_must_name_registered_acts() -> None:
    converted = ConvertedText(path="g.md", text="# Guide\n\nText.", media_type="text/markdown", metadata={"cites": ["pocso:19", "xyz:4"]})
    with pytest.raises(IngestError, match="cites entry 'xyz:4' is not 'act_key:section'"):
        parse_guide(converted)


def test_doc_key_is_a_valid_act_key() -> None:
    assert doc_key_for("SOP: Reporting under POCSO (2024)") == "doc-sop-reporting-under-pocso-2024"
    long_title = "Juvenile Justice (Care and Protection of Children) Act, 2015: a plain-language guide"
    assert doc_key_for(long_title) == "doc-juvenile-justice-care-and-protection-of-children-act-2015-a"
    assert doc_key_for("बालकों का संरक्षण").startswith("doc-") and len(doc_key_for("बालकों का संरक्षण")) == 16
    converted = ConvertedText(path="g.md", text="# Guide\n\nText.", media_type="text/markdown", metadata={"doc_key": "Bad Key!"})
    with pytest.raises(IngestError, match="doc_key 'Bad Key!' must be"):
        parse_guide(converted)
