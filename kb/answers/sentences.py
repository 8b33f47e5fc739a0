"""Split a provision's text into quotable spans and label each with its sub-section path.

A quotable span is a sentence, or a clause of a list (legal text often has one sentence running
across clauses (a), (b), ... separated by semicolons). Spans are exact slices of
``Provision.text``: ``text[start:end]`` is what gets quoted.

    >>> [s.text for s in split_spans("(1) A person shall report. (2) The police shall record it.", [])]
    ['(1) A person shall report.', '(2) The police shall record it.']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.models import SubUnit

# A sentence ends at . ; or : followed by whitespace, or at a blank line; but not after
# abbreviations such as "s." "No." "sub-section (1)." is a real end, "i.e." is not.
_BOUNDARY = re.compile(r"(?<=[.;:])\s+(?=[\(\[A-Z\u0900-\u097F\"“‘'^*])|\n\s*\n")
_ABBREV = re.compile(r"(\b(?:s|ss|No|no|Nos|viz|i\.e|e\.g|etc|Cl|cl|Art|art|Sec|sec|r|rr|p|pp|vol|Ch)\.)$")
MIN_CHARS = 25


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int
    path: str | None


def _raw_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start:match.start()]
        if _ABBREV.search(candidate.rstrip()):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed past white space at both ends."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def path_at(subunits: list[SubUnit], offset: int) -> str | None:
    """The deepest sub-unit path that contains ``offset``."""
    best: SubUnit | None = None
    for unit in subunits:
        if unit.char_start <= offset < unit.char_end:
            if best is None or (unit.char_end - unit.char_start) <= (best.char_end - best.char_start):
                best = unit
    return best.path if best else None


def split_spans(text: str, subunits: list[SubUnit]) -> list[Span]:
    """Quotable spans of ``text``; very short fragments are merged into the following span."""
    merged: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in _raw_spans(text):
        start, end = trim_span(text, start, end)
        if start >= end:
            continue
        if pending is not None:
            start = pending
            pending = None
        if end - start < MIN_CHARS:
            pending = start
            continue
        merged.append((start, end))
    if pending is not None:
        if merged:
            merged[-1] = (merged[-1][0], trim_span(text, pending, len(text))[1])
        else:
            merged.append(trim_span(text, pending, len(text)))
    out = []
    for start, end in merged:
        # Skip the label itself ("(1) ") so the path is that of the text, not of the gap before it.
        out.append(Span(text=text[start:end], start=start, end=end, path=path_at(subunits, min(start + 1, end - 1))))
    return out
