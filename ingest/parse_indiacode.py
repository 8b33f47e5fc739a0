"""Parse India Code section-by-section Markdown into one :class:`Provision` per section.

The format (see ``../shared/sources/indiacode-md``)::

    ---
    title: "The Protection of Children from Sexual Offences Act, 2012"
    source: "https://www.indiacode.nic.in/handle/123456789/2079"
    ---
    # The Protection of Children from Sexual Offences Act, 2012
    Language: English / Part 1 of 1 / Sections: 1 to 46 / > Editorial note: ... / Sources: ...
    ## Section 2 - Definitions.
    (1) In this Act, ... ^1[(da) "child pornography" means ...]
    ### Footnotes
    1. Ins. by Act 25 of 2019, s. 2 (w.e.f. 16-08-2019).

Everything before the first ``## Section`` heading (title, language, part, the repository's
editorial note, source links) is metadata, not statute text, and is dropped. A section runs to the
next ``## `` heading; its ``### Footnotes`` block becomes ``Provision.footnotes`` (one entry per
footnote number, ``"N. text"``, lines joined). The files carry no PART/CHAPTER headings, so
``part``/``chapter`` stay None. Large Acts come in several files (``part-002.md``...); each parses
on its own to the same act key.

A file with India Code front matter but no ``## Section`` headings (the Child and Adolescent
Labour Act is published as page text, ``## Page N``) is refused with an :class:`IngestError`
that says so: :func:`looks_like_indiacode` is False for it, and the printed-Act parser handles it.

    >>> doc = parse_indiacode_markdown(ConvertedText(path="pocso/part-001.md", text=md, media_type="text/markdown"))  # doctest: +SKIP
    >>> doc.provisions[1].locator.citation()  # doctest: +SKIP
    'POCSO Act, 2012, s. 2'
"""

from __future__ import annotations

import re

from ingest.clean import clean_section_body, unwrap_paragraph
from ingest.document import ConvertedText, ParsedDocument
from ingest.frontmatter import split_front_matter
from ingest.structure import find_cross_refs, find_subunits
from kb.acts import ActInfo, act_for_title
from kb.errors import IngestError
from kb.models import Locator, Provision

_SECTION_HEADING = re.compile(r"^## Section[ \t]+(?P<number>\S+?)[ \t]*(?:-[ \t]*(?P<heading>.*?))?[ \t]*$", re.M)
_STRICT_HEADING = re.compile(r"^## Section \d{1,4}[A-Z]{0,3} - \S", re.M)
_ANY_H2 = re.compile(r"^## ", re.M)
_PAGE_HEADING = re.compile(r"^## Page \d+", re.M)
_TITLE_LINE = re.compile(r"^# (?P<title>\S.*?)\s*$", re.M)
_FOOTNOTES = re.compile(r"^### Footnotes[ \t]*$", re.M)
_SECTION_NUMBER = re.compile(r"\d{1,4}[A-Z]{0,3}")
_FOOTNOTE_START = re.compile(r"(\d{1,3})(?:\.(?=\s|$)|(?=\s)|$)\s*(.*)")
_OMITTED_HEADING = re.compile(r"\[?\s*(?:omitted|repealed|rep\.)\W*", re.I)
# "20. [Controller to act as repository.] Omitted by ...": a stub left where a section was omitted.
_OMITTED_BODY = re.compile(r"\[?(?:\d{1,4}[A-Z]{0,3}\.\s*)?[^\n]{0,300}?[\].]?\s*[-\u2014\u2013]*\s*(?:Omitted|Repealed|Rep\.)\s+by\b")
_OMITTED_BODY_MAX = 700


def looks_like_indiacode(text: str) -> bool:
    """True for India Code section-by-section Markdown: ``## Section N - Heading`` blocks under a title."""
    return bool(_STRICT_HEADING.search(text)) and bool(_TITLE_LINE.search(text) or text.startswith("---"))


def parse_indiacode_markdown(converted: ConvertedText) -> ParsedDocument:
    """One provision per ``## Section`` of an India Code Markdown file (see module doc)."""
    path = converted.path
    meta, body = split_front_matter(converted.text, path=path)
    meta = {**converted.metadata, **meta}
    title = _title(meta, body, path)
    act = act_for_title(title)
    if act is None:
        raise IngestError(f"title {title!r} names no Act known to kb/data/acts.toml", path=path, title=title)
    headings = list(_SECTION_HEADING.finditer(body))
    if not headings:
        if _PAGE_HEADING.search(body):
            raise IngestError(
                "India Code page text ('## Page N') without '## Section' headings; use the printed-Act parser",
                path=path,
            )
        raise IngestError("no '## Section N - Heading' headings found", path=path)
    source_url = _text_or_none(meta.get("source"))
    provisions = [_provision(body, match, act, path, source_url) for match in headings]
    _check_unique(provisions, path)
    return ParsedDocument(
        title=act.title,
        doc_type=act.doc_type,
        provisions=provisions,
        act_key=act.key,
        source_url=source_url,
        language=str(meta.get("language") or "en"),
        metadata={k: v for k, v in meta.items() if k in ("title", "part", "parts", "language", "source")},
    )


def _title(meta: dict, body: str, path: str) -> str:
    title = _text_or_none(meta.get("title"))
    if title is None:
        line = _TITLE_LINE.search(body)
        title = line.group("title") if line else None
    if not title:
        raise IngestError("no title: neither front matter 'title' nor a '# Title' line", path=path)
    return title


def _text_or_none(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


def _provision(body: str, match: re.Match[str], act: ActInfo, path: str, source_url: str | None) -> Provision:
    number = match.group("number")
    if not _SECTION_NUMBER.fullmatch(number):
        line = body.count("\n", 0, match.start()) + 1
        raise IngestError(f"section heading {match.group(0)!r} has no valid section number", path=path, line=line)
    following = _ANY_H2.search(body, match.end())
    block = body[match.end() : following.start() if following else len(body)]
    notes = _FOOTNOTES.search(block)
    statute, footnote_block = (block[: notes.start()], block[notes.end() :]) if notes else (block, "")
    text = clean_section_body(statute).text
    heading = _heading(match.group("heading"))
    locator = Locator(
        act_key=act.key,
        act_title=act.title,
        short_name=act.short_name,
        year=act.year,
        act_number=act.act_number,
        section=number,
        heading=heading,
        source_file=path,
        source_url=source_url,
        doc_type=act.doc_type,
    )
    own_key = f"{act.key}:{number}"
    return Provision(
        locator=locator,
        text=text,
        subunits=find_subunits(text),
        footnotes=parse_footnotes(footnote_block),
        cross_refs=[key for key in find_cross_refs(text, act.key) if key != own_key],
        status="omitted" if _is_omitted(heading, text) else "in_force",
    )


def _heading(raw: str | None) -> str | None:
    heading = unwrap_paragraph(raw or "")
    if heading.endswith("."):
        heading = heading[:-1].rstrip()
    return heading or None


def _is_omitted(heading: str | None, text: str) -> bool:
    if heading and _OMITTED_HEADING.fullmatch(heading):
        return True
    return len(text) <= _OMITTED_BODY_MAX and bool(_OMITTED_BODY.match(text))


def parse_footnotes(block: str) -> list[str]:
    """``"1. Ins. by ...\\n2. Subs. by ..."`` -> one ``"N. text"`` entry per footnote, lines joined.

    A line opens footnote N only when N follows the previous number: the source wraps dates such as
    ``27\\n-\\n10\\n-\\n2009`` onto lines of their own, and those numbers are not footnotes.
    """
    entries: list[tuple[int | None, list[str]]] = []
    for raw_line in block.split("\n"):
        line = raw_line.strip()
        if not line:
            continue
        start = _FOOTNOTE_START.fullmatch(line)
        expected = (entries[-1][0] or 0) + 1 if entries else None
        if start and (expected is None or int(start.group(1)) == expected):
            entries.append((int(start.group(1)), [start.group(2)]))
        elif entries:
            entries[-1][1].append(line)
        else:
            entries.append((None, [line]))
    result = []
    for number, parts in entries:
        text = unwrap_paragraph("\n".join(parts))
        result.append(f"{number}. {text}".rstrip() if number is not None else text)
    return result


def _check_unique(provisions: list[Provision], path: str) -> None:
    seen: set[str] = set()
    for provision in provisions:
        if provision.locator.section in seen:
            raise IngestError(f"section {provision.locator.section} appears twice", path=path, section=provision.locator.section)
        seen.add(provision.locator.section or "")
