"""Each format converts to text with its structure (pages, headings) and metadata."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ingest import sniff as media
from ingest.convert import convert_file, split_page_blocks
from ingest.frontmatter import is_sidecar, split_front_matter
from kb.errors import IngestError
from kb.settings import IngestSettings
from make_docs import MODEL_ACT_FOOTNOTES, MODEL_ACT_PAGES, docx_bytes, text_pdf

SETTINGS = IngestSettings()


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_pdf_has_one_span_per_page_with_that_page_text(tmp_path: Path) -> None:
    data = text_pdf(MODEL_ACT_PAGES, MODEL_ACT_FOOTNOTES)
    converted = convert_file(_write(tmp_path, "model.pdf", data), SETTINGS)
    assert converted.media_type == media.PDF
    assert [p.page for p in converted.pages] == [1, 2, 3, 4]
    assert converted.file_hash == hashlib.sha256(data).hexdigest()
    assert converted.metadata["page_count"] == 4
    for span, lines in zip(converted.pages, MODEL_ACT_PAGES):
        page_text = converted.text[span.start : span.end]
        assert lines[-1] in page_text  # the last line of each page sits inside that page's span
    third = converted.text[converted.pages[2].start : converted.pages[2].end]
    assert "1. Ins. by Act 3 of 2025" in third  # footnotes are still there: the Act parser moves them
    assert converted.page_at(third_start := converted.pages[2].start) == 3 and third_start > 0
    assert converted.ocr is False


def test_owner_password_only_pdf_opens(tmp_path: Path) -> None:
    from make_docs import encrypted_pdf

    converted = convert_file(_write(tmp_path, "locked.pdf", encrypted_pdf(user_password="")), SETTINGS)
    assert "This Act is locked." in converted.text


def test_markdown_front_matter_and_sidecar(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "sop.md",
        "---\ntitle: Police SOP\naudiences: [police, ngo]\ncites:\n  - pocso:19\n  - pocso:21\ndoc_type: sop\n---\n# Police SOP\n\nText.\n",
    )
    converted = convert_file(path, SETTINGS)
    assert converted.media_type == media.MARKDOWN
    assert converted.metadata == {"title": "Police SOP", "audiences": ["police", "ngo"], "cites": ["pocso:19", "pocso:21"], "doc_type": "sop"}
    assert converted.text.startswith("# Police SOP")
    (tmp_path / "sop.md.meta.json").write_text(json.dumps({"doc_type": "guideline", "source_url": "https://example.org/sop"}))
    converted = convert_file(path, SETTINGS)
    assert converted.metadata["doc_type"] == "guideline"  # the sidecar wins over front matter
    assert converted.metadata["source_url"] == "https://example.org/sop"
    assert converted.metadata["audiences"] == ["police", "ngo"]
    assert is_sidecar(tmp_path / "sop.md.meta.json") and not is_sidecar(path)


def test_toml_sidecar_describes_a_pdf(tmp_path: Path) -> None:
    path = _write(tmp_path, "circular.pdf", text_pdf([["Circular on reporting duties."]]))
    (tmp_path / "circular.meta.toml").write_text('title = "Reporting circular"\naudiences = ["police"]\n')
    converted = convert_file(path, SETTINGS)
    assert converted.metadata["title"] == "Reporting circular"
    assert converted.metadata["audiences"] == ["police"]


@pytest.mark.parametrize(
    ("front", "error"),
    [
        ("---\ntitle Police SOP\n---\nx", "front matter line 2 is not 'key: value'"),
    ],
)
def test_bad_front_matter_is_an_error(front: str, error: str) -> None:
    with pytest.raises(IngestError, match=error):
        split_front_matter(front, path="sop.md")


def test_page_blocks_become_page_spans(tmp_path: Path) -> None:
    text = "# Some Act\n\nIntro.\n\n## Page 1\n\n1\nTHE SOME ACT\n\n## Page 2\n\n2\n1. Short title.\u2014Text.\n"
    converted = convert_file(_write(tmp_path, "act.md", text), SETTINGS)
    assert [p.page for p in converted.pages] == [1, 2]
    assert "## Page" not in converted.text
    assert converted.text[converted.pages[1].start : converted.pages[1].end] == "2\n1. Short title.\u2014Text."
    assert converted.page_at(converted.text.index("Short title")) == 2
    assert converted.page_at(converted.text.index("Intro")) is None


def test_page_headings_out_of_order_are_left_alone() -> None:
    text = "## Page 2\nb\n## Page 1\na\n"
    assert split_page_blocks(text) == (text, [])


def test_html_keeps_headings_drops_chrome(tmp_path: Path) -> None:
    html = """<!doctype html><html lang="en"><head><title>Reporting SOP</title>
    <meta name="author" content="Child Rights Cell"><style>p{color:red}</style><script>var x = "<h1>no</h1>";</script></head>
    <body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
    <h1>Reporting SOP</h1><p>Every report is recorded.</p>
    <h2>Steps</h2><ol><li>Record the complaint</li><li>Inform the CWC</li></ol>
    <h3>Timeline</h3><table><tr><th>Step</th><th>Time</th></tr><tr><td>FIR</td><td>24 hours</td></tr></table>
    </body></html>"""
    converted = convert_file(_write(tmp_path, "sop.html", html), SETTINGS)
    assert converted.media_type == media.HTML
    assert converted.metadata == {"title": "Reporting SOP", "author": "Child Rights Cell", "language": "en"}
    assert converted.text.split("\n\n") == [
        "# Reporting SOP",
        "Every report is recorded.",
        "## Steps",
        "- Record the complaint",
        "- Inform the CWC",
        "### Timeline",
        "Step | Time",
        "FIR | 24 hours",
    ]


def test_docx_headings_lists_tables_and_core_properties(tmp_path: Path) -> None:
    import io

    import docx

    data = docx_bytes(
        [("Heading 1", "NGO Guide"), ("", "Who we help."), ("Heading 2", "Referral"), ("List Bullet", "Call 1098")],
        title="NGO Guide",
        author="Programme team",
    )
    document = docx.Document(io.BytesIO(data))
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "CWC", "within 24 hours"
    buffer = io.BytesIO()
    document.save(buffer)
    converted = convert_file(_write(tmp_path, "guide.docx", buffer.getvalue()), SETTINGS)
    assert converted.media_type == media.DOCX
    assert converted.text.split("\n\n") == ["# NGO Guide", "Who we help.", "## Referral", "- Call 1098", "CWC | within 24 hours"]
    assert converted.metadata["title"] == "NGO Guide"
    assert converted.metadata["author"] == "Programme team"


def test_devanagari_text_is_nfc(tmp_path: Path) -> None:
    decomposed = "\u0928\u093c"  # NA + NUKTA: NFC composes it to NNNA (U+0929)
    converted = convert_file(_write(tmp_path, "hi.txt", "बालकों का संरक्षण " + decomposed), SETTINGS)
    assert converted.text == "बालकों का संरक्षण \u0929"
