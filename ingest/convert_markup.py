"""HTML and DOCX -> Markdown-ish text whose headings are ``#`` lines.

The guide parser (:mod:`ingest.parse_guide`) splits documents on ``#`` headings, so both
converters keep the heading level of ``<h1>``..``<h6>`` and of Word's "Heading N" styles, list
items as ``- `` lines and table rows as ``cell | cell`` lines; scripts, styles and navigation
are dropped.

Defences against hostile files run *before* parsing: HTML nesting depth is measured with a
tag scan (libxml2 silently flattens very deep trees, so a post-parse check would not see it),
and a DOCX's declared uncompressed size and compression ratio are checked from the ZIP
directory before anything is extracted.

    >>> convert_html(b"<h1>SOP</h1><p>Step one.</p>", "sop.html", IngestSettings()).text
    '# SOP\\n\\nStep one.'
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib

from ingest import sniff as media
from ingest.decode import UndecodableText, decode_text
from ingest.document import ConvertedText
from kb.errors import IngestError
from kb.settings import IngestSettings

_DROP = {"script", "style", "nav", "noscript", "template", "svg", "iframe", "head", "button", "select", "object"}
_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "pre", "ul", "ol",
    "table", "tr", "dl", "dt", "dd", "figure", "figcaption", "form", "address", "br", "hr", "body", "caption",
}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
# Elements whose end tag is optional: an open one is closed by the next of the same kind.
_SELF_CLOSING_SIBLINGS = {"p", "li", "td", "th", "tr", "dt", "dd", "option"}
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)((?:\s[^<>]*?)?)(/?)>")
_RAW_BLOCKS = re.compile(r"<(script|style|textarea)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w-]+)", re.I)

# What reading a damaged archive raises besides BadZipFile: a corrupt deflate stream (zlib.error),
# an unknown compression method (NotImplementedError), a cut member (EOFError), offsets that
# point before the start (ValueError from the seek).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, ValueError, OSError)

MAX_ZIP_ENTRIES = 5000
MAX_ZIP_RATIO = 100  # DOCX XML compresses ~5-20x; 100x over many megabytes is a bomb
_RATIO_APPLIES_ABOVE = 10 * 1024 * 1024


# ---------------------------------------------------------------------------- HTML


def html_depth(html: str) -> int:
    """Deepest element nesting, from a tag scan that tolerates unclosed ``<p>``/``<li>``."""
    stack: list[str] = []
    deepest = 0
    for match in _TAG.finditer(_RAW_BLOCKS.sub("", html)):
        closing, name, _, self_closed = match.groups()
        name = name.lower()
        if closing:
            if name in stack:
                while stack and stack.pop() != name:
                    pass
            continue
        if name in _VOID or self_closed:
            continue
        if name in _SELF_CLOSING_SIBLINGS and stack and stack[-1] == name:
            stack.pop()
        stack.append(name)
        deepest = max(deepest, len(stack))
    return deepest


def _decode_html(data: bytes, path: str) -> str:
    declared = _CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii", "replace")
        try:
            codecs.lookup(name)
            return data.decode(name).replace("\r\n", "\n")
        except LookupError:
            pass  # unknown charset label: decide from the bytes themselves below
        except UnicodeDecodeError as err:
            if name.lower().replace("_", "-") not in ("utf-8", "utf8"):
                raise IngestError(f"HTML declares charset {name} but is not valid {name}: byte {err.start}", path=path) from err
    try:
        return decode_text(data).text
    except UndecodableText as err:
        raise IngestError(f"undecodable HTML: {err}", path=path) from err


def convert_html(data: bytes, path: str, settings: IngestSettings) -> ConvertedText:
    from bs4 import BeautifulSoup

    html = _decode_html(data, path)
    depth = html_depth(html)
    if depth > settings.max_html_depth:
        raise IngestError(
            f"HTML nested {depth} levels deep, over the limit of {settings.max_html_depth} (ingest.max_html_depth)",
            path=path,
        )
    soup = BeautifulSoup(html, "lxml")
    metadata = _html_metadata(soup)
    root = soup.body or soup
    text = "\n\n".join(_html_blocks(root))
    return ConvertedText(path=path, text=text, media_type=media.HTML, metadata=metadata)


def _html_metadata(soup) -> dict:
    meta: dict = {}
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = " ".join(soup.title.get_text().split())
    for name in ("description", "author", "keywords"):
        tag = soup.find("meta", attrs={"name": re.compile(f"^{name}$", re.I)})
        if tag and tag.get("content", "").strip():
            meta[name] = tag["content"].strip()
    html_tag = soup.find("html")
    if html_tag and html_tag.get("lang"):
        meta["language"] = html_tag["lang"].split("-")[0].lower()
    return meta


def _html_blocks(root) -> list[str]:
    """Walk the tree without recursion (depth is bounded but may exceed Python's stack)."""
    from bs4 import NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    skipped_strings = (Comment, Declaration, Doctype, ProcessingInstruction)
    blocks: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buf).split())
        if text and text not in ("-", "|"):
            blocks.append(text)
        buf.clear()

    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if isinstance(node, NavigableString):
            if not isinstance(node, skipped_strings):
                buf.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name.lower()
        if leaving:
            if name in _BLOCKS or name == "li":
                flush()
            continue
        if name in _DROP:
            continue
        heading = re.fullmatch(r"h([1-6])", name)
        if heading:
            flush()
            title = " ".join(node.get_text(" ").split())
            if title:
                blocks.append(f"{'#' * int(heading.group(1))} {title}")
            continue
        if name in _BLOCKS or name == "li":
            flush()
        if name == "li":
            buf.append("- ")
        elif name in ("td", "th") and "".join(buf).strip():
            buf.append(" | ")
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    flush()
    return blocks


# ---------------------------------------------------------------------------- DOCX


def check_zip(data: bytes, path: str, settings: IngestSettings) -> None:
    """Refuse archives that would expand far beyond their size, before extracting anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except _ZIP_ERRORS as err:
        raise IngestError(f"corrupt DOCX (bad ZIP archive): {type(err).__name__}: {err}", path=path) from err
    if len(infos) > MAX_ZIP_ENTRIES:
        raise IngestError(f"DOCX holds {len(infos)} entries, over {MAX_ZIP_ENTRIES}: refused as a possible ZIP bomb", path=path)
    if "word/document.xml" not in {i.filename for i in infos}:
        raise IngestError("ZIP archive without word/document.xml is not a Word document", path=path)
    expanded = sum(i.file_size for i in infos)
    limit = 10 * settings.max_file_bytes
    ratio = expanded / max(len(data), 1)
    if expanded > limit:
        raise IngestError(
            f"DOCX expands to {expanded:,} bytes, over {limit:,} (10 x ingest.max_file_bytes): refused as a possible ZIP bomb",
            path=path,
        )
    if expanded > _RATIO_APPLIES_ABOVE and ratio > MAX_ZIP_RATIO:
        raise IngestError(
            f"DOCX expands {ratio:,.0f}x ({len(data):,} -> {expanded:,} bytes): refused as a possible ZIP bomb",
            path=path,
        )


def convert_docx(data: bytes, path: str, settings: IngestSettings) -> ConvertedText:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    check_zip(data, path, settings)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_docx_blocks(document))
        metadata = _docx_metadata(document)
    except (PackageNotFoundError, XMLSyntaxError, KeyError, *_ZIP_ERRORS) as err:
        raise IngestError(f"corrupt DOCX: {type(err).__name__}: {err}", path=path) from err
    except (AttributeError, TypeError) as err:
        # python-docx maps XML elements to classes by tag name; in a damaged part an element is
        # missing or has the wrong kind, and its accessors fail with these.
        raise IngestError(f"corrupt DOCX: {type(err).__name__}: {err}", path=path) from err
    return ConvertedText(path=path, text="\n\n".join(blocks), media_type=media.DOCX, metadata=metadata)


def _docx_blocks(document):
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                line = " | ".join(dict.fromkeys(c for c in cells if c))  # merged cells repeat their text
                if line:
                    yield line
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        level = _heading_level(style)
        if level:
            yield f"{'#' * level} {text}"
        elif style.lower().startswith("list"):
            yield f"- {text}"
        else:
            yield text


def _heading_level(style: str) -> int:
    if style.lower() == "title":
        return 1
    match = re.fullmatch(r"(?i)heading\s*(\d)", style.strip())
    return min(int(match.group(1)), 6) if match else 0


def _docx_metadata(document) -> dict:
    props = document.core_properties
    meta: dict = {}
    for field in ("title", "author", "subject", "keywords", "category", "comments", "language"):
        value = getattr(props, field, None)
        if value and str(value).strip():
            meta[field] = str(value).strip()
    if props.created:
        meta["created"] = props.created.isoformat()
    return meta
