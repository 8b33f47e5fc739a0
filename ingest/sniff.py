"""Identify a file's format from its content; the extension only breaks ties.

Content wins because uploads are mislabelled: a ``.pdf`` that is really a saved HTML page, a
``.txt`` that is a binary blob. Binary content is reported as :data:`BINARY` whatever the name
says, and the converter refuses it.

    >>> sniff(Path("act.txt"), b"%PDF-1.7\\n...")
    'application/pdf'
    >>> sniff(Path("notes.txt"), b"# Reporting duties\\n\\nEvery person ...")
    'text/markdown'
    >>> sniff(Path("photo.txt"), bytes(range(256)))
    'application/octet-stream'
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ingest.decode import UndecodableText, bom_encoding, bomless_utf16, decode_text, looks_like_text

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
ZIP = "application/zip"
BINARY = "application/octet-stream"

SNIFF_BYTES = 8192  # how much of the head callers should pass

_MARKDOWN_EXT = {".md", ".markdown", ".mdown", ".mkd"}
_HTML_EXT = {".html", ".htm", ".xhtml"}
_STRONG_HTML = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
_ANY_HTML = re.compile(r"<(?:html|head|body|title|meta|div|p|h[1-6]|table|ul|ol|span|article|section)\b[^>]*>", re.I)
_FRONT_MATTER = re.compile(r"^---[ \t]*\n(?:[^\n]*\n){0,60}?---[ \t]*(?:\n|$)")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.M)

# Magic numbers of binary formats we know we cannot ingest (to name them in the error).
_BINARY_MAGIC = {
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"\xd0\xcf\x11\xe0": "legacy MS Office (OLE) file",
    b"\x1f\x8b": "gzip archive",
    b"7z\xbc\xaf": "7-zip archive",
    b"Rar!": "RAR archive",
    b"\x7fELF": "executable",
    b"MZ": "Windows executable",
}


def binary_kind(head: bytes) -> str | None:
    """A human name for a known binary format (for error messages), or None."""
    for magic, name in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def sniff(path: Path, head: bytes) -> str:
    """The media type of a file given its first bytes (pass at least :data:`SNIFF_BYTES`)."""
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path, head)
    if binary_kind(head):
        return BINARY
    text = _head_as_text(head)
    if text is None:
        return BINARY
    return _sniff_text(text, Path(path).suffix.lower())


def _sniff_zip(path: Path, head: bytes) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        # Unreadable or truncated archive: fall back to the local headers in the head.
        return DOCX if b"word/" in head else ZIP
    return DOCX if "word/document.xml" in names else ZIP


def _head_as_text(head: bytes) -> str | None:
    sample = head[:SNIFF_BYTES]
    encoding = bom_encoding(sample) or bomless_utf16(sample)
    if encoding:
        # Cut to a whole number of code units so a truncated head still decodes.
        unit = 4 if "32" in encoding else 2
        body = sample[: len(sample) - (len(sample) % unit)]
        try:
            return body.decode(encoding, errors="strict").lstrip("\ufeff")
        except UnicodeDecodeError:
            return None
    # A multi-byte UTF-8 sequence may be cut at the end of the head: drop up to 3 bytes.
    for cut in range(4):
        try:
            text = sample[: len(sample) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return text if looks_like_text(text) else None
    try:
        return decode_text(sample).text  # legacy single-byte text (cp1252), judged by content
    except UndecodableText:
        pass
    # Text with a few bytes that fit no encoding is still text: the converter names the bad bytes.
    printable = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    if b"\x00" not in sample and printable / max(len(sample), 1) >= 0.95:
        return sample.decode("ascii", errors="replace")
    return None


def _sniff_text(text: str, suffix: str) -> str:
    if _STRONG_HTML.match(text):
        return HTML
    if suffix in _HTML_EXT and _ANY_HTML.search(text):
        return HTML
    if _FRONT_MATTER.match(text) or _MD_HEADING.search(text):
        return MARKDOWN
    if suffix in _MARKDOWN_EXT:
        return MARKDOWN
    if suffix in _HTML_EXT:
        return TEXT  # named .html but without any markup: it is plain text
    return TEXT
