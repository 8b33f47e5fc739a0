"""Clean the body of an India Code Markdown section into the text we store and quote.

Two things are removed from the source, and both are recorded so nothing is lost:

* **Amendment markers.** India Code marks amended text with a footnote number and brackets:
  ``^1[(da) "child pornography" means ...]`` (inserted or substituted words), ``^2***`` (words
  omitted) and a bare ``^3`` (a note, e.g. the commencement date). The stored text keeps the words
  inside the brackets and drops the ``^N[`` / ``]`` wrapper and the ``^N`` numbers; an omission
  becomes ``* * *`` so a reader sees that something was taken out. Each marker becomes an
  :class:`AmendmentMark` with its footnote number and its span in the cleaned text, and the
  footnote itself is kept verbatim in ``Provision.footnotes``. Plain brackets that are part of
  the text (``[Omitted.]``) stay. The source sometimes types the opener as ``^1]``; it is read as
  ``^1[``.
* **Hard line breaks** left by the PDF inside a paragraph. Lines of one paragraph are joined with
  a space (``sub-`` + ``section`` joins without one). A line that starts a new sub-section,
  clause, proviso or Explanation after a line ending in punctuation starts a new paragraph even
  without a blank line, because the source often omits it. Paragraphs are separated by ``\\n\\n``
  and runs of spaces are collapsed.

``CleanText.offsets[i]`` is the index in the raw body of cleaned character ``i``, so a span of the
stored text can always be traced back to the source file.

    >>> cleaned = clean_section_body("(1) In this Act,--\\n\\n^1[(da) \\"child\\" means a\\nperson;]")
    >>> cleaned.text
    '(1) In this Act,--\\n\\n(da) "child" means a person;'
    >>> cleaned.marks[0].footnote, cleaned.text[cleaned.marks[0].start:cleaned.marks[0].end]
    (1, '(da) "child" means a person;')
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from ingest.structure import starts_unit

OMISSION = "* * *"

_MARKERS = re.compile(
    r"(?P<open>\^(?P<on>\d+)[ \t]*(?:\n[ \t]*)?[\[\]])"
    r"|(?P<omit>\^(?P<mn>\d+)[ \t]*(?:\n[ \t]*)?\*(?:[ \t]*\*)*)"
    r"|(?P<noteline>(?m:^)[ \t]*\^(?P<ln>\d+)[ \t]*\n)"
    r"|(?P<note>\^(?P<nn>\d+))"
    r"|(?P<lb>\[)|(?P<rb>\])"
)
# A line ending like this closes a list item or a lead-in, so a following label starts a unit.
_BREAK_END = re.compile(r"(?:[.;:,\u2014\u2013\-]|\b(?:or|and))$")
_HYPHEN_WRAP = re.compile(r"[A-Za-z0-9]-$")
_HYPHEN_BREAK = re.compile(r"(?<=[A-Za-z0-9]-)[ \t]*\n\s*(?=[a-z0-9])")


@dataclass(frozen=True)
class AmendmentMark:
    """An amendment marker removed from the text: ``kind`` is ``"bracket"`` (words inserted or
    substituted, span = those words), ``"omission"`` (span = the ``* * *``) or ``"note"``
    (empty span where the footnote number stood)."""

    footnote: int
    kind: str
    start: int
    end: int


@dataclass
class CleanText:
    """Cleaned text, the raw index of each of its characters, and the markers removed."""

    text: str
    offsets: list[int]
    marks: list[AmendmentMark] = field(default_factory=list)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the raw body that the non-empty cleaned span ``[start, end)`` came from."""
        if not 0 <= start < end <= len(self.offsets):
            raise ValueError(f"span ({start}, {end}) is not inside the cleaned text of {len(self.offsets)} chars")
        return self.offsets[start], self.offsets[end - 1] + 1


class _Builder:
    """Accumulates output text together with the source index of every output character."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offsets: list[int] = []

    def copy(self, source: str, start: int, end: int, base: list[int] | None = None) -> None:
        self.parts.append(source[start:end])
        self.offsets.extend(base[start:end] if base is not None else range(start, end))

    def insert(self, text: str, at: int) -> None:
        self.parts.append(text)
        self.offsets.extend([at] * len(text))

    def __len__(self) -> int:
        return len(self.offsets)

    def text(self) -> str:
        return "".join(self.parts)


def clean_section_body(raw: str) -> CleanText:
    """Remove amendment markers and hard line breaks from one section body (see module doc)."""
    stripped, marks = _strip_markers(raw)
    unwrapped = _unwrap(stripped.text, stripped.offsets)
    # Marker positions were recorded in the marker-free text; move them into the unwrapped text.
    inner, text = unwrapped.offsets_inner, unwrapped.text
    moved = []
    for mark in marks:
        start, end = _to_unwrapped(inner, mark.start), _to_unwrapped(inner, mark.end)
        while start < end and text[start].isspace():  # "^1[ communal": the words start after the space
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        moved.append(AmendmentMark(mark.footnote, mark.kind, start, end))
    return CleanText(text, unwrapped.offsets, moved)


def unwrap_paragraph(text: str) -> str:
    """Join the lines of one paragraph (a footnote, a heading) with single spaces."""
    return re.sub(r"\s+", " ", _HYPHEN_BREAK.sub("", text)).strip()


def _strip_markers(raw: str) -> tuple[CleanText, list[AmendmentMark]]:
    out = _Builder()
    marks: list[tuple[int, AmendmentMark]] = []  # (order of the marker in the source, mark)
    stack: list[tuple[int | None, int, int]] = []  # (footnote or None for a plain "[", output position, order)
    pos = 0
    for match in _MARKERS.finditer(raw):
        out.copy(raw, pos, match.start())
        pos = match.end()
        kind = match.lastgroup
        order = match.start()
        if kind == "open":
            stack.append((int(match.group("on")), len(out), order))
        elif kind == "omit":
            start = len(out)
            out.insert(OMISSION, match.start())
            marks.append((order, AmendmentMark(int(match.group("mn")), "omission", start, len(out))))
        elif kind in ("note", "noteline"):
            number = match.group("nn") or match.group("ln")
            marks.append((order, AmendmentMark(int(number), "note", len(out), len(out))))
        elif kind == "lb":
            stack.append((None, len(out), order))
            out.copy(raw, match.start(), match.end())
        else:  # a closing bracket: drop it only when it closes an amendment marker
            footnote, start, opened = stack.pop() if stack else (None, -1, -1)
            if footnote is None:
                out.copy(raw, match.start(), match.end())
            else:
                marks.append((opened, AmendmentMark(footnote, "bracket", start, len(out))))
    out.copy(raw, pos, len(raw))
    for footnote, start, opened in stack:  # an amendment running to the end of the section
        if footnote is not None:
            marks.append((opened, AmendmentMark(footnote, "bracket", start, len(out))))
    marks.sort(key=lambda pair: (pair[1].start, -pair[1].end, pair[0]))
    return CleanText(out.text(), out.offsets), [mark for _, mark in marks]


@dataclass
class _Unwrapped:
    text: str
    offsets: list[int]  # raw positions
    offsets_inner: list[int]  # positions in the marker-free text


def _unwrap(text: str, base: list[int]) -> _Unwrapped:
    out = _Builder()
    inner = _Builder()
    paragraph_open = False
    previous = ""
    for line_start, line in _lines(text):
        words = _words(line, line_start)
        if not words:
            paragraph_open = False
            continue
        content = " ".join(text[a:b] for a, b in words)
        if paragraph_open and not (starts_unit(content) and _BREAK_END.search(previous)):
            joiner = "" if _HYPHEN_WRAP.search(previous) and (content[:1].islower() or content[:1].isdigit()) else " "
            _emit_gap(out, inner, joiner, words[0][0], base)
        elif len(out):
            _emit_gap(out, inner, "\n\n", words[0][0], base)
        for i, (a, b) in enumerate(words):
            if i:
                _emit_gap(out, inner, " ", a, base)
            out.copy(text, a, b, base)
            inner.copy(text, a, b)
        paragraph_open = True
        previous = content
    return _Unwrapped(out.text(), out.offsets, inner.offsets)


def _words(line: str, line_start: int) -> list[tuple[int, int]]:
    """Spans of the line's text between runs of whitespace (one span when it has no inner runs)."""
    stripped = line.strip()
    if not stripped:
        return []
    if "  " not in stripped and "\t" not in stripped:
        start = line_start + line.index(stripped[0])
        return [(start, start + len(stripped))]
    return [(m.start() + line_start, m.end() + line_start) for m in re.finditer(r"\S+", line)]


def _emit_gap(out: _Builder, inner: _Builder, gap: str, before: int, base: list[int]) -> None:
    # Whitespace that replaces a run of source whitespace maps to the character it precedes.
    if not gap:
        return
    # The marker-free index is set just before the next word so a marker that starts at that word
    # is placed on the word, not on the gap (see _to_unwrapped).
    out.insert(gap, base[before])
    inner.insert(gap, before - 1)


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


def _to_unwrapped(inner: list[int], position: int) -> int:
    """Index in the unwrapped text of the first character at or after marker-free ``position``."""
    return bisect_left(inner, position)
