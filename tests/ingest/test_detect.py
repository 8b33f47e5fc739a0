"""Parser choice: India Code Markdown > printed Act > guide; a declared type decides first."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.convert import convert_file
from ingest.detect import parse_converted
from ingest.document import ConvertedText
from kb.errors import IngestError
from kb.settings import IngestSettings

PRINTED = "THE MODEL ACT, 2024\n1. Short title.\u2014This Act may be called the Model Act.\n2. Definitions.\u2014In this Act nothing."
GUIDE = "# Reporting guide\n\nReport under section 19 of the POCSO Act.\n\n## Steps\n\n1. Call the police.\n2. Tell the CWC."


@pytest.mark.parametrize(
    ("text", "metadata", "kwargs", "parser", "doc_type"),
    [
        (PRINTED, {}, {}, "printed", "act"),
        (GUIDE, {}, {}, "guide", "other"),
        (GUIDE, {"doc_type": "faq"}, {}, "guide", "faq"),
        (GUIDE, {"doc_type": "faq"}, {"doc_type": "sop"}, "guide", "sop"),
        (PRINTED, {}, {"doc_type": "case_study"}, "guide", "case_study"),  # declared: a case study quoting an Act
    ],
)
def test_parser_choice(text: str, metadata: dict, kwargs: dict, parser: str, doc_type: str) -> None:
    converted = ConvertedText(path="doc.md", text=text, media_type="text/markdown", metadata=metadata)
    parsed = parse_converted(converted, **kwargs)
    assert (parsed.metadata["parser"], parsed.doc_type) == (parser, doc_type)


def test_declared_act_without_sections_is_an_error() -> None:
    converted = ConvertedText(path="doc.md", text=GUIDE, media_type="text/markdown")
    with pytest.raises(IngestError, match="no numbered sections"):
        parse_converted(converted, doc_type="act")


def test_audiences_apply_to_statutes_too() -> None:
    converted = ConvertedText(path="act.txt", text=PRINTED, media_type="text/plain", metadata={"audiences": "lawyer, police"})
    assert parse_converted(converted).audiences == ["lawyer", "police"]
    assert parse_converted(converted, audiences=["ngo"]).audiences == ["ngo"]


def test_child_labour_page_text_goes_to_the_printed_parser(shared_sources: Path) -> None:
    path = shared_sources / "indiacode-md/the-child-and-adolescent-labour-prohibition-and-regulation-act-1986/part-001.md"
    parsed = parse_converted(convert_file(path, IngestSettings()))
    assert parsed.metadata["parser"] == "printed" and parsed.act_key == "clpra"


def test_detect_routes_indiacode_markdown(shared_sources: Path) -> None:
    path = shared_sources / "indiacode-md/the-protection-of-children-from-sexual-offences-act-2012/part-001.md"
    parsed = parse_converted(convert_file(path, IngestSettings()))
    assert parsed.metadata.get("parser") != "printed" and parsed.act_key == "pocso"
    assert len(parsed.provisions) == 47
