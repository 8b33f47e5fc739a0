"""Printed pages -> clean lines: the layout half of reading a printed Act.

Each page loses its furniture (page numbers, running heads) and its footnotes, which are kept
per page; then the whole text gets the repairs of :mod:`ingest.clean_printed`, gated where a
repair is only safe on text that shows the artefact (spacing inside "( 1 )" and broken words).
Words hyphenated across a page break are joined onto the earlier page.

    >>> lines, notes = page_lines(convert_file(Path("act.pdf"), IngestSettings()))   # doctest: +SKIP
    >>> lines[0].text, lines[0].page, notes[3]                                       # doctest: +SKIP
    ('THE MODEL ACT, 2024', 1, ['1. Ins. by Act 3 of 2025, s. 2 (w.e.f. 1-4-2025).'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest import clean_printed as cp
from ingest.clean import unwrap_paragraph
from ingest.document import ConvertedText

# Words after which a number is a reference ("section 3"), never a footnote marker.
_NUMBERED_WORDS = {
    "section", "sections", "sub-section", "clause", "rule", "article", "s", "ss", "part", "chapter", "schedule",
    "no", "item", "form", "paragraph", "para", "of", "and", "or", "to", "under", "with", "by", "in",
}


@dataclass
class Line:
    """One line of printed text and the page it was printed on (None: before the first page)."""

    text: str
    page: int | None


def _pages(converted: ConvertedText) -> list[tuple[int | None, str]]:
    if not converted.pages:
        return [(None, converted.text)]
    out: list[tuple[int | None, str]] = []
    first = converted.pages[0].start
    if converted.text[:first].strip():
        out.append((None, converted.text[:first]))  # text before page 1 (an export's own title block)
    out.extend((span.page, converted.text[span.start : span.end]) for span in converted.pages)
    return out


def page_lines(converted: ConvertedText) -> tuple[list[Line], dict[int | None, list[str]]]:
    """The cleaned lines of all pages in order, and the footnotes of each page (``"N. text"``)."""
    pages = _pages(converted)
    texts = cp.strip_page_furniture([t for _, t in pages])
    notes: dict[int | None, list[str]] = {}
    bodies: list[str] = []
    for (number, _), text in zip(pages, texts):
        body, page_notes = cp.split_footnotes(text)
        notes[number] = page_notes
        bodies.append(body)
    spaced = cp.has_spacing_artifacts("\n".join(bodies))
    # Spacing first: it needs the original curly quotes to tell opening from closing ones.
    bodies = [cp.normalise_punctuation(cp.collapse_spacing(b) if spaced else b) for b in bodies]
    prose = cp.vocabulary("\n".join(bodies), prose_only=True)
    bodies = ["\n".join(cp.fix_spaced_capitals(line, prose) for line in b.split("\n")) for b in bodies]
    stats = cp.WordStats("\n".join(bodies))
    vocab = cp.vocabulary("\n".join(bodies))
    if spaced:
        bodies = [cp.join_broken_words(b, stats) for b in bodies]
    lines: list[Line] = []
    for (number, _), body in zip(pages, bodies):
        body = _mark_run_in_notes(cp.mark_footnote_refs(cp.join_hyphenated(body, vocab)), notes.get(number, []))
        current = [Line(t.strip(), number) for t in body.split("\n") if t.strip()]
        if lines and current and re.search(r"[a-z]-$", lines[-1].text) and current[0].text[:1].islower():
            lines[-1].text = lines[-1].text[:-1] + current.pop(0).text  # a word hyphenated across pages
        lines.extend(current)
    for number, page_notes in notes.items():
        notes[number] = [_clean_note(n, spaced, stats) for n in page_notes]
    return lines, notes


def _mark_run_in_notes(body: str, page_notes: list[str]) -> str:
    """A note number printed straight after a word ("such date2 as") becomes "date^2", but only for
    numbers that are footnotes of this page and have no bracket marker ("^2[") of their own."""
    for note in page_notes:
        number = note.split(".", 1)[0].strip()
        if not number.isdigit() or re.search(rf"\^{number}(?:\[|\*)", body):
            continue
        for match in re.finditer(rf"(?<=[a-z])( ?){number}(?=[\s,.;:)])", body):
            word = re.search(r"([A-Za-z.-]+)\s*$", body[: match.start()])
            if match.group(1) and word and word.group(1).lower().strip(".") in _NUMBERED_WORDS:
                continue  # "section 3", "clause 2": a reference, not a note marker
            body = f"{body[: match.start()]}^{number}{body[match.end():]}"
            break
    return body


def _clean_note(note: str, spaced: bool, stats: cp.WordStats) -> str:
    if spaced:
        note = cp.join_broken_words(cp.collapse_spacing(note), stats)
    return unwrap_paragraph(cp.normalise_punctuation(note))
