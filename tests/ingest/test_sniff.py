"""Format detection by content; the file name only breaks ties."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ingest import sniff as media
from ingest.sniff import sniff
from make_docs import docx_bytes, text_pdf

PDF_BYTES = text_pdf([["1. Short title.\u2014This Act may be called the Model Act."]])
DOCX_BYTES = docx_bytes([("Heading 1", "Reporting"), ("", "Report to the police.")])

ROWS = [
    # (file name, content, expected media type, why)
    ("act.pdf", PDF_BYTES, media.PDF, "PDF magic"),
    ("act.txt", PDF_BYTES, media.PDF, "content wins over a text extension"),
    ("junk-then.pdf", b"\r\n\r\n" + PDF_BYTES, media.PDF, "header after leading junk (allowed in the first KB)"),
    ("guide.docx", DOCX_BYTES, media.DOCX, "PK zip with word/document.xml"),
    ("guide.bin", DOCX_BYTES, media.DOCX, "DOCX content under a wrong name"),
    ("page.html", b"<!DOCTYPE html><html><body><h1>SOP</h1></body></html>", media.HTML, "doctype"),
    ("page.pdf", b"  <html lang='en'><head><title>x</title></head></html>", media.HTML, "a .pdf that is really HTML"),
    ("fragment.html", b"<h2>Steps</h2><p>Call 1098.</p>", media.HTML, "fragment: markup + .html"),
    ("fragment.txt", b"<p>Call 1098.</p> is how the page shows it", media.TEXT, "markup words in a .txt stay text"),
    ("notes.html", b"Plain words only, no markup.", media.TEXT, ".html without markup is text"),
    ("guide.txt", b"---\ntitle: SOP\n---\nBody", media.MARKDOWN, "front matter"),
    ("guide.txt", b"Intro\n\n## Reporting\n\nText", media.MARKDOWN, "ATX heading"),
    ("guide.md", b"No headings at all.", media.MARKDOWN, ".md without Markdown syntax"),
    ("notes.txt", b"Section 19 requires reporting.", media.TEXT, "plain UTF-8"),
    ("notes.txt", codecs.BOM_UTF16_LE + "Section 19".encode("utf-16-le"), media.TEXT, "UTF-16 with BOM"),
    ("notes.txt", "Section 19 reporting".encode("utf-16-le"), media.TEXT, "UTF-16 without BOM"),
    ("notes.txt", "Café naïve résumé".encode("cp1252"), media.TEXT, "legacy cp1252 text"),
    ("notes.txt", "बालकों का संरक्षण".encode("utf-8"), media.TEXT, "Devanagari UTF-8"),
    ("notes.txt", b"Mostly ascii text with one bad byte \x81 here", media.TEXT, "text; the converter names the bad byte"),
    ("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), media.BINARY, "PNG with a text extension"),
    ("blob.txt", bytes(range(256)) * 4, media.BINARY, "random binary with a text extension"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, media.BINARY, "legacy OLE Word file"),
    ("archive.docx", b"PK\x03\x04" + b"\0" * 60, media.ZIP, "zip without word/"),
]


@pytest.mark.parametrize(("name", "content", "expected", "why"), ROWS, ids=[r[3] for r in ROWS])
def test_sniff_by_content(tmp_path: Path, name: str, content: bytes, expected: str, why: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff(path, content[: media.SNIFF_BYTES]) == expected, why


def test_utf8_cut_inside_a_character_is_still_text(tmp_path: Path) -> None:
    content = b"x" + ("बालकों का संरक्षण " * 1000).encode("utf-8")
    head = content[: media.SNIFF_BYTES]
    with pytest.raises(UnicodeDecodeError):
        head.decode("utf-8")  # the head really does end inside a character
    assert sniff(tmp_path / "hindi.txt", head) == media.TEXT
