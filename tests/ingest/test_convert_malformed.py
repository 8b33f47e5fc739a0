"""A directory of broken and hostile files: each gets a clear reason, or converts where it should."""

from __future__ import annotations

import codecs
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest import sniff as media
from ingest.convert import convert_file
from kb.errors import IngestError
from kb.settings import IngestSettings
from make_docs import docx_bytes, encrypted_pdf, scanned_pdf, text_pdf, zip_bomb_docx

GOOD_PDF = text_pdf([["1. Short title.\u2014This Act may be called the Model Act."], ["2. Definitions.\u2014None."]])


def _corrupt_docx() -> bytes:
    source = io.BytesIO(docx_bytes([("", "text")]))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w") as broken:
        for item in original.infolist():
            data = b"<w:document><unclosed" if item.filename == "word/document.xml" else original.read(item.filename)
            broken.writestr(item, data)
    return out.getvalue()


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "not a word document")
    return out.getvalue()


# (file name, bytes factory, settings overrides, expected reason fragment or None, check on success)
Row = tuple[str, Callable[[], bytes], dict, str | None, Callable | None]
ROWS: list[Row] = [
    ("empty.txt", lambda: b"", {}, "empty file (0 bytes)", None),
    ("blank.md", lambda: b"  \n\n\t\n", {}, "no text could be extracted", None),
    ("binary.txt", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, {}, "binary content (PNG image) in a file named .txt", None),
    ("noise.txt", lambda: bytes(range(1, 32)) * 50, {}, "binary content (binary data) in a file named .txt", None),
    ("program.exe", lambda: b"MZ\x90\x00" + bytes(200), {}, "unsupported file type: Windows executable", None),
    ("truncated.pdf", lambda: GOOD_PDF[: len(GOOD_PDF) // 2], {}, "corrupt PDF (truncated: no %%EOF marker)", None),
    ("garbage.pdf", lambda: b"%PDF-1.7\n" + b"\x00\xff garbage " * 50 + b"\n%%EOF\n", {}, "corrupt PDF", None),
    ("encrypted.pdf", lambda: encrypted_pdf(user_password="secret"), {}, "encrypted PDF: a password is required", None),
    ("huge.txt", lambda: b"section 19 " * 200, {"max_file_bytes": 1000}, "file is 2,200 bytes, over the limit of 1,000", None),
    ("undecodable.txt", lambda: b"Section 19 requires \x81\x8d reporting. " + b"The police record it. " * 20, {},
     "undecodable text: invalid UTF-8 at byte 20 and not cp1252 either (byte 0x81 at 20)", None),
    ("deep.html", lambda: b"<html><body>" + b"<div>" * 500 + b"x" + b"</div>" * 500 + b"</body></html>", {},
     "HTML nested 502 levels deep, over the limit of 400", None),
    ("deep-but-allowed.html", lambda: b"<html><body>" + b"<div>" * 50 + b"deep text" + b"</div>" * 50 + b"</body></html>", {},
     None, lambda c: c.text == "deep text"),
    ("bomb.docx", zip_bomb_docx, {}, "refused as a possible ZIP bomb", None),
    ("corrupt.docx", _corrupt_docx, {}, "corrupt DOCX", None),
    ("archive.docx", _plain_zip, {}, "ZIP archive that is not a Word (.docx) document", None),
    ("scan-no-ocr.pdf", lambda: scanned_pdf([["1. Short title."]], dpi=60), {"ocr": False},
     "scanned PDF and OCR is disabled (ingest.ocr = false)", None),
    ("scan-no-language.pdf", lambda: scanned_pdf([["1. Short title."]], dpi=60), {"ocr_languages": "eng+zzz"},
     "scanned PDF and", None),
    # These convert, correctly:
    ("latin1.txt", lambda: "Café policy — naïve résumé of section 19".encode("cp1252"), {}, None,
     lambda c: "Café policy — naïve résumé" in c.text and c.metadata["encoding"] == "cp1252"),
    ("utf16.txt", lambda: codecs.BOM_UTF16_LE + "बालकों का संरक्षण\nSection 19".encode("utf-16-le"), {}, None,
     lambda c: c.text == "बालकों का संरक्षण\nSection 19" and c.metadata["encoding"] == "utf-16"),
    ("utf16-nobom.txt", lambda: "Section 19 applies".encode("utf-16-be"), {}, None, lambda c: c.text == "Section 19 applies"),
    ("utf8-bom.md", lambda: codecs.BOM_UTF8 + b"# Guide\n\nText", {}, None, lambda c: c.text.startswith("# Guide")),
    ("crlf.txt", lambda: b"line one\r\nline two\r\n", {}, None, lambda c: c.text == "line one\nline two\n"),
    ("really-html.pdf", lambda: b"<!DOCTYPE html><html><head><title>Saved page</title></head><body><h1>FAQ</h1><p>Answer.</p></body></html>",
     {}, None, lambda c: c.media_type == media.HTML and c.text == "# FAQ\n\nAnswer." and c.metadata["title"] == "Saved page"),
    ("cp1252.html", lambda: '<html><head><meta charset="windows-1252"></head><body><p>Café – “quoted”</p></body></html>'.encode("cp1252"),
     {}, None, lambda c: c.text == "Café – “quoted”"),
    ("really-pdf.txt", lambda: GOOD_PDF, {}, None, lambda c: c.media_type == media.PDF and len(c.pages) == 2),
]


@pytest.fixture(scope="module")
def malformed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("malformed")
    for name, make, _, _, _ in ROWS:
        (folder / name).write_bytes(make())
    return folder


@pytest.mark.parametrize(("name", "make", "overrides", "reason", "check"), ROWS, ids=[r[0] for r in ROWS])
def test_malformed_file(malformed_dir: Path, name: str, make, overrides: dict, reason: str | None, check) -> None:
    path = malformed_dir / name
    settings = IngestSettings(**overrides)
    if reason is None:
        converted = convert_file(path, settings)
        assert check(converted), converted
        return
    with pytest.raises(IngestError) as caught:
        convert_file(path, settings)
    assert reason in caught.value.reason, caught.value.reason
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(str(path))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        convert_file(tmp_path / "nope.pdf", IngestSettings())


def test_partly_scanned_pdf_keeps_text_and_names_the_missing_pages(tmp_path: Path) -> None:
    """A scanned cover page beside a text layer: the text is kept, the image-only page is reported."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in (scanned_pdf([["COVER"]], dpi=60), GOOD_PDF):
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(buffer.getvalue())
    converted = convert_file(path, IngestSettings(ocr=False))
    assert [p.page for p in converted.pages] == [2, 3]
    assert converted.metadata["pages_without_text"] == [1]
    assert "OCR is disabled" in converted.metadata["ocr_unavailable"]
