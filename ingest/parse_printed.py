"""Parse the printed text of an Act (official PDF, OCR, page-wise export) into sections.

Input is a :class:`ConvertedText` whose pages are known (a PDF, or Markdown made of ``## Page N``
blocks). Layout is undone page by page with :mod:`ingest.clean_printed` (running headers, page
numbers, footnotes at the page bottom, spacing artefacts), then one pass over the lines reads:

* the title and ``ACT NO. 32 OF 2012`` line, which identify the Act (``kb.acts.act_for_title``, or
  the ``act_hint`` the caller gives);
* the front matter (title, ARRANGEMENT OF SECTIONS table, long title, preamble, enacting
  formula): everything before the first section start, kept only as metadata;
* ``PART``/``CHAPTER`` headings -> ``Locator.part``/``chapter`` (numbers; titles in metadata);
* section starts ``3. Heading.—(1) Text`` or ``^1[42A. Heading.—Text`` (the heading may wrap over
  three lines) -> number, heading, body; a section is accepted only if its number comes after the
  previous one, so numbered lines inside a body are never mistaken for sections;
* ``[Sections 23 to 26.]—Rep. by ...`` -> one omitted provision per repealed number;
* ``THE SCHEDULE`` ends the sections (schedule text goes to metadata).

Bodies are cleaned by :func:`ingest.clean.clean_section_body`, the same cleaner as India Code
Markdown, so a section reads the same from either source. Footnotes go to the provision whose text
carries their marker on that page. ``Locator.page`` is the page where the section starts.

    >>> doc = parse_printed_act(convert_file(Path("pocso.pdf"), IngestSettings()))  # doctest: +SKIP
    >>> doc.provisions[18].locator.section, doc.provisions[18].locator.page         # doctest: +SKIP
    ('19', 10)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest import clean_printed as cp
from ingest.clean import clean_section_body, unwrap_paragraph
from ingest.document import ConvertedText, ParsedDocument
from ingest.printed_layout import Line as _Line
from ingest.printed_layout import page_lines
from ingest.structure import find_cross_refs, find_subunits
from kb.acts import ActInfo, act_for_title, find_act
from kb.errors import IngestError
from kb.models import Locator, Provision

_START = re.compile(r"^(?P<marker>\^\d{1,2}\[\s*)?(?P<num>\d{1,3}[A-Z]{0,3})\s*\.\s*(?P<rest>\S.*)?$")
_HEAD_END = re.compile(r"^(?P<head>[^—]{1,300}?)\s*(?:\.\s*—|—)\s*(?P<body>.*)$", re.S)
_DIVISION = re.compile(
    r"^(?:\^\d{1,2}\[\s*)?(?P<kind>PART|CHAPTER)\s+(?P<num>[IVXLC]{1,7}[A-Z]?|\d{1,3}[A-Z]?)\b\.?\s*[—-]?\s*(?P<title>.*)$"
)
_RANGE_REPEALED = re.compile(
    r"^\[\s*Sections?\s+(?P<a>\d{1,3})\s+to\s+(?P<b>\d{1,3})\s*\.?\s*\]\s*\.?\s*—?\s*(?P<body>.*)$", re.I
)
_SCHEDULE = re.compile(r"^(?:\^\d{1,2}\[\s*)?THE\s+(?:[A-Z]+\s+)?SCHEDULE\b")
_ACT_TITLE = re.compile(r"\b(?:ACT|RULES|CODE|SANHITA|ADHINIYAM)\b", re.I)
_ACT_NUMBER = re.compile(r"ACT\s+NO\.?\s*(?P<n>\d{1,3})\s+OF\s+(?P<y>\d{4})", re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_ENACTMENT = re.compile(r"BE\s+it\s+enacted|ARRANGEMENT\s+OF\s+SECTIONS", re.I)
_OMITTED = re.compile(r"^\W*(?:Omitted|Rep\.|Repealed)\b|\[\s*(?:Omitted|Repealed)\.?\s*\]", re.I)
_KEEP_CAPS = ("STATE AMENDMENT",)
_MAX_GAP = 30


@dataclass
class _Section:
    number: str
    heading: str
    page: int | None
    part: str | None
    chapter: str | None
    lines: list[_Line] = field(default_factory=list)
    status: str = "in_force"

    @property
    def pages(self) -> set[int | None]:
        return {self.page} | {line.page for line in self.lines}


def _num_key(number: str) -> tuple[int, str]:
    digits = re.match(r"\d+", number).group(0)
    return int(digits), number[len(digits):]


# ---------------------------------------------------------------------------- reading sections


def _section_start(lines: list[_Line], i: int, last: str | None) -> tuple[str, str, str, int] | None:
    """(number, heading, first body text, lines consumed) if a section starts at line ``i``."""
    match = _START.match(lines[i].text)
    if not match or not match.group("rest"):
        return None
    number = match.group("num")
    if last is not None:
        gap = _num_key(number)[0] - _num_key(last)[0]
        if _num_key(number) <= _num_key(last) or gap > _MAX_GAP:
            return None
    if i > 0 and not _ends_unit(lines[i - 1].text) and lines[i - 1].page == lines[i].page:
        return None
    rest = match.group("rest")
    for extra in range(3):
        head = _HEAD_END.match(rest)
        if head and (head.group("head")[:1].isupper() or head.group("head").startswith("^")):
            heading = _clean_heading(head.group("head"))
            if heading and len(heading) <= 250:
                body = (match.group("marker") or "").strip() + head.group("body")
                return number, heading, body, extra + 1
        following = lines[i + extra + 1].text if i + extra + 1 < len(lines) else None
        if following is None or _START.match(following) or cp.is_caps_line(following):
            break  # a heading never runs into the next numbered line or a heading line
        rest = f"{rest} {following}"
    return None


def _ends_unit(previous: str) -> bool:
    return bool(re.search(r"[.;:\]—)]$", previous)) or cp.is_caps_line(previous)


def _clean_heading(raw: str) -> str:
    """"^4[Technical Advisory Committee]." -> "Technical Advisory Committee"."""
    return unwrap_paragraph(re.sub(r"\^\d{1,2}\[|\]", "", raw)).strip(" .")


def _is_structural(text: str) -> bool:
    return cp.is_caps_line(text) and not text.startswith(_KEEP_CAPS) and not text.startswith("(")


@dataclass
class _Reader:
    lines: list[_Line]
    front: list[_Line] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)
    schedule: list[_Line] = field(default_factory=list)
    divisions: dict[str, dict[str, str]] = field(default_factory=lambda: {"parts": {}, "chapters": {}})
    part: str | None = None
    chapter: str | None = None
    group: list[_Section] = field(default_factory=list)  # sections sharing one "[Sections 23 to 26.]" stub

    def read(self) -> None:
        i = 0
        last_division: tuple[str, str] | None = None
        while i < len(self.lines):
            line = self.lines[i]
            text = line.text
            last = self.sections[-1].number if self.sections else None
            start = _section_start(self.lines, i, last)
            if start:
                number, heading, body, used = start
                section = _Section(number, heading, line.page, self.part, self.chapter)
                if body.strip():
                    section.lines.append(_Line(body, line.page))
                self.sections.append(section)
                self.group = [section]
                i += used
                last_division = None
                continue
            if self.sections and _SCHEDULE.match(text):
                self.schedule = self.lines[i:]
                return
            division = _DIVISION.match(text)
            if division and _is_structural(text):
                last_division = self._division(division)
            elif self.sections and _RANGE_REPEALED.match(text):
                self._repealed_range(_RANGE_REPEALED.match(text), line)
            elif _is_structural(text):
                if last_division:  # the title line under "PART II" / "CHAPTER V"
                    kind, number = last_division
                    if not self.divisions[kind].get(number):
                        self.divisions[kind][number] = _clean_heading(text)
                    last_division = None
            elif self.sections:
                for section in self.group:
                    section.lines.append(line)
                last_division = None
            else:
                self.front.append(line)
            i += 1

    def _division(self, match: re.Match[str]) -> tuple[str, str]:
        kind = "parts" if match.group("kind") == "PART" else "chapters"
        number = match.group("num")
        if kind == "parts":
            self.part, self.chapter = number, None
        else:
            self.chapter = number
        # The body's heading replaces the arrangement table's copy of it.
        self.divisions[kind][number] = _clean_heading(match.group("title"))
        return kind, number

    def _repealed_range(self, match: re.Match[str], line: _Line) -> None:
        low, high = int(match.group("a")), int(match.group("b"))
        last = self.sections[-1].number
        if not (_num_key(last)[0] < low <= high <= low + _MAX_GAP):
            for section in self.group:
                section.lines.append(line)
            return
        self.group = []
        for number in range(low, high + 1):
            section = _Section(str(number), "Repealed", line.page, self.part, self.chapter, status="omitted")
            section.lines.append(_Line(line.text, line.page))
            self.sections.append(section)
            self.group.append(section)


# ---------------------------------------------------------------------------- identity and output


def _identify(lines: list[_Line], converted: ConvertedText, act_hint: str | None) -> tuple[ActInfo | None, str]:
    candidates: list[str] = []
    if act_hint:
        act = find_act(act_hint) or act_for_title(act_hint)
        if act is None:
            raise IngestError(f"unknown act {act_hint!r} given as the Act of this document", path=converted.path)
        return act, act.title
    if converted.metadata.get("title"):
        candidates.append(str(converted.metadata["title"]))
    for i, line in enumerate(lines[:80]):
        markdown_title = line.text.startswith("# ")
        text = line.text.lstrip("#^0123456789[ ")
        if _ACT_TITLE.search(text) and (text.upper() == text or markdown_title):
            following = lines[i + 1].text if i + 1 < len(lines) else ""  # "...ACT," / "1986"
            candidates.append(f"{text} {following}" if _YEAR.fullmatch(following.strip(" .")) else text)
    for candidate in candidates:
        act = act_for_title(candidate)
        if act:
            return act, act.title
    title = next((c for c in candidates if _YEAR.search(c)), candidates[0] if candidates else None)
    return None, _title_case(title or Path(converted.path).stem.replace("_", " ").replace("-", " "))


def _title_case(title: str) -> str:
    """"THE CHILD SAFETY (MODEL) ACT, 2024" -> "The Child Safety (Model) Act, 2024"."""
    small = {"of", "and", "the", "for", "to", "in", "on", "from", "with", "or", "by"}
    words = " ".join(title.split()).lower().split(" ")
    out = []
    for i, word in enumerate(words):
        bare = word.strip("()[],.")
        out.append(word if i and bare in small else re.sub(r"[a-z]", lambda m: m.group(0).upper(), word, count=1))
    return " ".join(out).strip()


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "_".join(w for w in words if w != "the")[:60] or "act"


def _assign_notes(reader: _Reader, notes: dict[int | None, list[str]], metadata: dict) -> dict[int, list[str]]:
    """Footnotes per section index; notes of the front matter go to ``metadata['front_notes']``."""
    assigned: dict[int, list[str]] = {}
    for page, page_notes in notes.items():
        for note in page_notes:
            number = note.split(".", 1)[0]
            marker = re.compile(rf"\^{number}(?!\d)")
            owner = next(
                (k for k, s in enumerate(reader.sections) if any(ln.page == page and marker.search(ln.text) for ln in s.lines)),
                None,
            )
            outside = next(
                (name for name, part in (("front_notes", reader.front), ("schedule_notes", reader.schedule))
                 if any(ln.page == page and marker.search(ln.text) for ln in part)),
                None,
            )
            if owner is None and outside:
                metadata.setdefault(outside, []).append(note)
                continue
            if owner is None:
                owner = next((k for k, s in enumerate(reader.sections) if page in s.pages), None)
            if owner is None:
                metadata.setdefault("unplaced_notes", []).append(note)
            else:
                assigned.setdefault(owner, []).append(note)
    return assigned


def parse_printed_act(converted: ConvertedText, *, act_hint: str | None = None) -> ParsedDocument:
    """Sections of a printed Act (see module doc). Raises :class:`IngestError` if none are found."""
    lines, notes = page_lines(converted)
    act, title = _identify(lines, converted, act_hint)
    reader = _Reader(lines)
    reader.read()
    if not reader.sections:
        raise IngestError("no numbered sections ('1. Short title.—...') found in the printed Act text", path=converted.path)
    metadata: dict = {"parser": "printed", "parts": reader.divisions["parts"], "chapters": reader.divisions["chapters"]}
    if reader.schedule:
        metadata["schedule"] = "\n".join(line.text for line in reader.schedule)
    first_page = reader.sections[0].page
    number_match = _ACT_NUMBER.search("\n".join(ln.text for ln in lines[:200] if ln.page is None or ln.page <= (first_page or 0)))
    year_match = _YEAR.search(title)
    key = act.key if act else _slug(title)
    source_url = converted.metadata.get("source_url") or converted.metadata.get("source")
    base = Locator(
        act_key=key,
        act_title=title,
        short_name=act.short_name if act else None,
        year=act.year if act else (int(year_match.group(1)) if year_match else None),
        act_number=act.act_number if act else (f"{number_match['n']} of {number_match['y']}" if number_match else None),
        source_file=converted.path,
        source_url=str(source_url) if source_url else None,
        doc_type=act.doc_type if act else "act",
    )
    section_notes = _assign_notes(reader, notes, metadata)
    provisions = [
        _provision(base, section, section_notes.get(k, []), converted.ocr) for k, section in enumerate(reader.sections)
    ]
    return ParsedDocument(
        title=title,
        doc_type=base.doc_type,
        provisions=provisions,
        act_key=key,
        source_url=base.source_url,
        ocr=converted.ocr,
        metadata=metadata,
    )


def _provision(base: Locator, section: _Section, footnotes: list[str], ocr: bool) -> Provision:
    raw = "\n".join(line.text for line in section.lines)
    text = clean_section_body(raw).text.strip() or f"[{section.heading}]"
    status = "omitted" if section.status == "omitted" or _OMITTED.match(text) else "in_force"
    locator = base.narrowed(
        section=section.number, heading=section.heading, page=section.page, part=section.part, chapter=section.chapter
    )
    own = f"{base.act_key}:{section.number}"
    if section.status == "omitted":
        own_refs = set(find_cross_refs(raw, base.act_key))  # "[Sections 23 to 26.]" names the stub itself
    else:
        own_refs = {own}
    return Provision(
        locator=locator,
        text=text,
        subunits=find_subunits(text),
        footnotes=footnotes,
        cross_refs=[k for k in find_cross_refs(text, base.act_key) if k not in own_refs],
        status=status,
        ocr=ocr,
    )


def looks_like_printed_act(text: str) -> bool:
    """True for raw Act text: numbered sections with dashed headings ("3. Heading.—Text")."""
    sample = cp.normalise_punctuation(text[:400_000])
    if len(re.findall(r"(?m)^#{2,4}[ \t]+\S", sample)) >= 2:
        return False  # sub-headed Markdown is a guide, even when its steps read "1. Call 1098.—At once."
    starts = re.findall(
        r"(?m)^[ \t]*(?:\^?\d{1,2}[ \t]*\[[ \t]*)?(\d{1,3}[A-Z]{0,3})[ \t]*\.[ \t]*[A-Z\^\[][^—\n]{0,250}?\.?[ \t]*—", sample
    )
    if not starts:
        return False
    keys = [_num_key(n) for n in starts]
    rising = sum(1 for a, b in zip(keys, keys[1:]) if b > a)
    signal = bool(_ENACTMENT.search(sample)) or bool(re.search(r"\bACT,?\s*(1[89]|20)\d\d\b", sample))
    return (len(starts) >= 3 and rising >= len(starts) // 2) or (len(starts) >= 2 and rising >= 1 and signal)
