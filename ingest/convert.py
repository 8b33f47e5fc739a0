"""Files -> :class:`ConvertedText`: text, page spans and metadata, or a clear :class:`IngestError`.

Formats are told apart by content (:mod:`ingest.sniff`), never by the file name alone.

Why not Haystack's converters (``PyPDFToDocument``, ``DOCXToDocument``, ``HTMLToDocument``,
``TextFileToDocument``, ``MarkdownToDocument``)? They log a warning and *skip* a file they cannot
read, so the reason (encrypted, truncated, ZIP bomb) never reaches the user, and they flatten what
the parsers need: ``PyPDFToDocument`` gives one string with form feeds and no way to OCR single
pages; ``HTMLToDocument`` needs trafilatura, which drops heading levels; ``DOCXToDocument`` does not
mark heading levels as ``#`` lines. So PDF is read with pypdf directly (one text per page, page
spans kept), HTML with BeautifulSoup+lxml and DOCX with python-docx (:mod:`ingest.convert_markup`).

Rules every converter follows:

* every failure is an ``IngestError(reason, path=...)``: empty, over ``ingest.max_file_bytes``,
  binary or unknown type, corrupt/encrypted PDF, a scanned PDF when OCR is unavailable,
  undecodable text, HTML nested deeper than ``ingest.max_html_depth``, a DOCX that would expand
  like a ZIP bomb;
* text is NFC-normalised with ``\\n`` line ends; ``file_hash`` is the SHA-256 of the raw bytes;
* metadata comes from the file itself (front matter, ``<title>``, DOCX core properties) and is
  overridden by a ``NAME.meta.toml``/``NAME.meta.json`` sidecar;
* a Markdown/text file whose body is ``## Page N`` blocks (page-wise Act text exported from a
  PDF) gets one :class:`PageSpan` per block and loses the ``## Page N`` lines.

    >>> converted = convert_file(Path("corpus/guides/reporting.md"), IngestSettings())  # doctest: +SKIP
    >>> converted.media_type, converted.metadata["audiences"]                            # doctest: +SKIP
    ('text/markdown', ['police', 'ngo'])
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path

from ingest import sniff as media
from ingest.decode import UndecodableText, decode_text
from ingest.document import ConvertedText, PageSpan
from ingest.frontmatter import read_sidecar, split_front_matter
from kb.errors import IngestError
from kb.settings import IngestSettings

_PAGE_HEADING = re.compile(r"^#{1,3}[ \t]+Page[ \t]+(\d{1,5})[ \t]*$", re.M)
_MIN_PAGE_CHARS = 20  # fewer non-space characters than this on an image page: treat as scanned
_TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".csv", ".html", ".htm", ".json", ".xml", ".rtf"}


def convert_file(path: Path, settings: IngestSettings) -> ConvertedText:
    """Read ``path`` and turn it into text with pages and metadata (see module docstring)."""
    path = Path(path)
    name = str(path)
    data = _read_bytes(path, settings)
    kind = media.sniff(path, data[: media.SNIFF_BYTES])
    converter = _CONVERTERS.get(kind)
    if converter is None:
        raise IngestError(_refusal(kind, data, path), path=name, media_type=kind)
    converted = converter(data, name, settings)
    converted.text = unicodedata.normalize("NFC", converted.text)
    if not converted.text.strip():
        raise IngestError(f"no text could be extracted ({kind})", path=name, media_type=kind)
    converted.file_hash = hashlib.sha256(data).hexdigest()
    converted.metadata = {**converted.metadata, **read_sidecar(path)}
    return converted


def _read_bytes(path: Path, settings: IngestSettings) -> bytes:
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as err:
        raise IngestError("no such file", path=name) from err
    except OSError as err:
        raise IngestError(f"cannot read file: {err.strerror or err}", path=name) from err
    if not path.is_file():
        raise IngestError("not a regular file", path=name)
    if size == 0:
        raise IngestError("empty file (0 bytes)", path=name)
    if size > settings.max_file_bytes:
        raise IngestError(
            f"file is {size:,} bytes, over the limit of {settings.max_file_bytes:,} (ingest.max_file_bytes)",
            path=name, size=size,
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise IngestError(f"cannot read file: {err.strerror or err}", path=name) from err


def _refusal(kind: str, data: bytes, path: Path) -> str:
    suffix = path.suffix.lower()
    if kind == media.ZIP:
        return "ZIP archive that is not a Word (.docx) document; unpack it and ingest the files inside"
    what = media.binary_kind(data) or "binary data"
    if suffix in _TEXT_SUFFIXES:
        return f"binary content ({what}) in a file named {suffix}; refusing to read it as text"
    return f"unsupported file type: {what} (supported: PDF, DOCX, HTML, Markdown, plain text)"


# ---------------------------------------------------------------------------- text / Markdown


def convert_text(data: bytes, path: str, settings: IngestSettings, *, kind: str = media.TEXT) -> ConvertedText:
    """Plain text or Markdown: decode, lift front matter into metadata, find ``## Page N`` blocks."""
    try:
        decoded = decode_text(data)
    except UndecodableText as err:
        raise IngestError(f"undecodable text: {err}", path=path) from err
    metadata, body = split_front_matter(decoded.text, path=path)
    if decoded.encoding not in ("utf-8", "utf-8-sig"):
        metadata.setdefault("encoding", decoded.encoding)
    text, pages = split_page_blocks(body)
    return ConvertedText(path=path, text=text, media_type=kind, pages=pages, metadata=metadata)


def _convert_markdown(data: bytes, path: str, settings: IngestSettings) -> ConvertedText:
    return convert_text(data, path, settings, kind=media.MARKDOWN)


def split_page_blocks(body: str) -> tuple[str, list[PageSpan]]:
    """Remove ``## Page N`` heading lines and return the page spans they delimited.

    Only applies when the page numbers run upwards (1, 2, 3 ...); a guide that happens to have
    a heading called "Page 2" keeps its text untouched.

    >>> text, pages = split_page_blocks("Intro\\n## Page 1\\nalpha\\n## Page 2\\nbeta\\n")
    >>> [(p.page, text[p.start:p.end].strip()) for p in pages]
    [(1, 'alpha'), (2, 'beta')]
    """
    marks = list(_PAGE_HEADING.finditer(body))
    numbers = [int(m.group(1)) for m in marks]
    if len(marks) < 2 or numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        return body, []
    parts: list[str] = [body[: marks[0].start()]]
    pages: list[PageSpan] = []
    offset = len(parts[0])
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        chunk = body[mark.end() : end].strip("\n") + "\n\n"
        pages.append(PageSpan(int(mark.group(1)), offset, offset + len(chunk.rstrip("\n"))))
        parts.append(chunk)
        offset += len(chunk)
    return "".join(parts), pages


# ---------------------------------------------------------------------------- PDF

def _pdf_errors() -> tuple[type[BaseException], ...]:
    from pypdf.errors import PyPdfError

    # pypdf reports damaged files through its own errors but also through plain Python errors
    # raised deep in its object parser; each of them means "this PDF cannot be read".
    # NotImplementedError: a stream names a filter pypdf does not know (a damaged "/FlateDecode").
    return (PyPdfError, ValueError, KeyError, IndexError, TypeError, AttributeError, OSError, zlib.error, RecursionError,
            NotImplementedError)


def convert_pdf(data: bytes, path: str, settings: IngestSettings) -> ConvertedText:
    """One text per page (pypdf), pages without a text layer OCR'd when possible."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    errors = _pdf_errors()
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(reader, path)
        texts = [(page.extract_text() or "") for page in reader.pages]
        if not texts:
            raise IngestError("corrupt PDF: no pages found (truncated file?)", path=path)
        texts = [_tidy_page(t) for t in texts]
        # The info dictionary and page resources are parsed lazily: a damaged one fails here, not above.
        metadata = _pdf_metadata(reader)
        empty = [i + 1 for i, t in enumerate(texts) if len(re.sub(r"\s", "", t)) < _MIN_PAGE_CHARS]
        scanned = [n for n in empty if _has_images(reader.pages[n - 1])]
    except IngestError:
        raise
    except (DependencyError, FileNotDecryptedError) as err:
        raise IngestError(f"encrypted PDF cannot be opened: {err}", path=path) from err
    except errors as err:
        truncated = " (truncated: no %%EOF marker)" if b"%%EOF" not in data[-4096:] else ""
        raise IngestError(f"corrupt PDF{truncated}: {type(err).__name__}: {err}", path=path) from err
    ocr_used = False
    if scanned:
        ocr_used = _ocr_pages(data, texts, scanned, settings, path, metadata, all_scanned=len(empty) == len(texts))
    text, pages = _join_pages(texts)
    return ConvertedText(path=path, text=text, media_type=media.PDF, pages=pages, metadata=metadata, ocr=ocr_used)


def _unlock(reader, path: str) -> None:
    from pypdf import PasswordType

    if not reader.is_encrypted:
        return
    # Many official PDFs carry only an owner password (no printing/copying); they open with "".
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise IngestError("encrypted PDF: a password is required to open it", path=path)


def _ocr_pages(data, texts, scanned, settings, path, metadata, *, all_scanned: bool) -> bool:
    from ingest.ocr import ocr_available, ocr_pdf_pages

    available, reason = ocr_available(settings.ocr_languages)
    if not settings.ocr:
        available, reason = False, "OCR is disabled (ingest.ocr = false)"
    if not available:
        if all_scanned:
            raise IngestError(f"scanned PDF and {reason}", path=path)
        # A scanned cover or signature page beside a real text layer: keep the text, say what was left out.
        metadata["pages_without_text"] = scanned
        metadata["ocr_unavailable"] = reason
        return False
    for number, text in ocr_pdf_pages(data, scanned, settings, path=path).items():
        texts[number - 1] = text
    metadata["ocr_pages"] = scanned
    return True


def _has_images(page) -> bool:
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else {}
    xobjects = resources.get("/XObject") if resources else None
    if not xobjects:
        return False
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image" or obj.get("/Subtype") == "/Form":
            return True
    return False


def _tidy_page(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return unicodedata.normalize("NFC", "\n".join(lines).strip("\n"))


def _join_pages(texts: list[str]) -> tuple[str, list[PageSpan]]:
    parts: list[str] = []
    pages: list[PageSpan] = []
    offset = 0
    for number, text in enumerate(texts, start=1):
        if text.strip():
            pages.append(PageSpan(number, offset, offset + len(text)))
        parts.append(text + "\n\n")
        offset += len(text) + 2
    return "".join(parts), pages


def _pdf_metadata(reader) -> dict:
    info = reader.metadata or {}
    meta: dict = {"page_count": len(reader.pages)}
    title = str(info.get("/Title") or "").strip()
    # Word exports put "Microsoft Word - draft3.docx" or "untitled" here: not a title.
    if title and not re.match(r"(?i)^(microsoft word|untitled|document\d*$)", title):
        meta["title"] = title
    author = str(info.get("/Author") or "").strip()
    if author:
        meta["author"] = author
    return meta


def _convert_html(data: bytes, path: str, settings: IngestSettings) -> ConvertedText:
    from ingest.convert_markup import convert_html

    return convert_html(data, path, settings)


def _convert_docx(data: bytes, path: str, settings: IngestSettings) -> ConvertedText:
    from ingest.convert_markup import convert_docx

    return convert_docx(data, path, settings)


_CONVERTERS: dict[str, Callable[[bytes, str, IngestSettings], ConvertedText]] = {
    media.PDF: convert_pdf,
    media.DOCX: _convert_docx,
    media.HTML: _convert_html,
    media.MARKDOWN: _convert_markdown,
    media.TEXT: convert_text,
}
