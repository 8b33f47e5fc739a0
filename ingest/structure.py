"""The inner structure of a statutory provision, shared by every statute parser.

:func:`find_subunits` finds sub-sections ``(1)``/``(2A)``, clauses ``(a)``/``(da)``, sub-clauses
``(i)``/``(iv)``, provisos, Explanations, Exceptions, Illustrations and State amendments in a
section's cleaned text and returns them with their path and character span.
:func:`find_cross_refs` (from :mod:`ingest.crossrefs`, re-exported here) lists the provisions a
text refers to.

Paths: ``(1)``, ``(1)(a)``, ``(1)(a)(i)``; a proviso, Explanation, Exception or Illustration hangs
off the unit it qualifies with a dash: ``(2)-proviso``, ``(2)-proviso-2`` (the second proviso),
``(1)(g)-Explanation``, ``Explanation 1`` (a section-level Explanation), ``Exception 1-proviso``,
``Illustrations(a)`` (a lettered illustration).

How labels are read:

* A label counts only at the start of a paragraph (or of a line that follows a line ending in
  punctuation), so ``sub-section (1) of section 2`` inside a sentence is never a label; a label
  directly followed by ``of section``/``of sub-section`` is a reference, not a label.
* ``(i)``, ``(v)``, ``(x)`` and ``(l)`` are letters or roman numerals depending on context: a clause
  ``(i)`` must follow ``(h)`` in the same list; after a lead-in ending in a dash or colon, or with
  no ``(h)`` before it, ``(i)`` opens a list of sub-clauses.
* A label continues the innermost open list it follows in sequence (gaps of omitted clauses are
  allowed); a first label (``(a)``, ``(i)``, ``(A)``, ``(I)``) that continues nothing opens a
  list nested in the current unit.

    >>> [(u.path, u.kind) for u in find_subunits("(1) In this Act,--\\n\\n(a) x;\\n\\n(b) y.\\n\\n(2) z.")]
    [('(1)', 'subsection'), ('(1)(a)', 'clause'), ('(1)(b)', 'clause'), ('(2)', 'subsection')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.crossrefs import find_cross_refs
from kb.models import SubUnit

__all__ = ["find_cross_refs", "find_subunits", "starts_unit"]

_LABEL = re.compile(r"\(\s?(\d{1,3}[A-Z]{0,2}|[a-z]{1,5}|[A-Z]{1,5})\s?\)")
# Raw (uncleaned) text may put amendment markers before a label: "^1[(da)", "^1[^4[ (b)".
_AMENDMENT_PREFIX = r"[ \t]*(?:\^\d{1,3}[ \t]*\[[ \t]*)*\[?"
_LINE_LABEL = re.compile(_AMENDMENT_PREFIX + r"[\"\u201c]?" + _LABEL.pattern)
# "...consent,-- (a) in any brothel": a list whose first item runs on from its lead-in.
_INLINE_FIRST = re.compile(r"(?:\u2014|\u2013|--+|:-+)[ \t]*(\((?:1|a|i|A)\))[ \t]")
# "6. Punishment for ... .--(1) Whoever": a substituted section repeats its heading before (1).
_INLINE_HEADING = re.compile(
    r"[ \t]*\[?(?:\d{1,3}[A-Z]{0,3}\.?\s+)?[A-Z][^\n]{1,250}?(?:\u2014|\u2013|--+|\.-)\s*(?=\(\s?(?:1|a)\s?\))"
)
_REFERENCE_AFTER = re.compile(
    r"\s*,?\s*(?:(?:of|and|or|to)\s+(?:this\s+|the\s+said\s+)?(?:section|sub-section|clause|sub-clause|article|rule)\b"
    r"|(?:,|and|or|to)\s*\()",
    re.I,
)
_MARKER = re.compile(
    _AMENDMENT_PREFIX + r"(?:(?P<proviso>Provided\b)"
    r"|(?P<explanation>Explanation(?:\s+(?P<en>\d{1,2}|[IVX]{1,4}))?\s*[.:\u2014\u2013-])"
    r"|(?P<exception>Exception(?:\s+(?P<xn>\d{1,2}|[IVX]{1,4}))?\s*[.:\u2014\u2013-])"
    r"|(?P<illustration>Illustrations?)\b"
    r"|(?P<state>STATE AMENDMENTS?)[ \t]*$)"
)
# An Explanation "for the purposes of this section" explains the whole section, wherever it stands.
_SECTION_LEVEL = re.compile(r"\b(?:this|the said) (?:section|Chapter)\b")
_BREAK_END = re.compile(r"(?:[.;:,\u2014\u2013\-]|\b(?:or|and))$")
_INTRO_END = re.compile(r"(?:[:\u2014\u2013]|-)$")
_TAIL_AFTER = re.compile(r"(?:[,;]|\b(?:or|and))$")
_ROMAN = re.compile(r"(?=[ivxl])(xl|lx{0,3}|x{0,3})(ix|iv|vi{0,3}|i{0,3})")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50}
_MAX_GAP = 5  # clauses or sub-sections omitted by amendment leave gaps of this size at most

LIST_STYLES = ("num", "alpha", "roman", "ualpha", "uroman")
_FIRST = {"num": "1", "alpha": "a", "roman": "i", "ualpha": "A", "uroman": "I"}


def starts_unit(line: str) -> bool:
    """Does this (stripped) line start a sub-section, clause, proviso, Explanation or Illustration?"""
    if _MARKER.match(line):
        return True
    heading = _INLINE_HEADING.match(line)
    label = _LINE_LABEL.match(line, heading.end() if heading else 0)
    return bool(label and _label_styles(label.group(1)) and not _REFERENCE_AFTER.match(line, label.end()))


# ---------------------------------------------------------------- label sequencing


def _roman_value(text: str) -> int | None:
    if not text or not _ROMAN.fullmatch(text):
        return None
    total = 0
    for i, ch in enumerate(text):
        value = _ROMAN_VALUES[ch]
        following = _ROMAN_VALUES[text[i + 1]] if i + 1 < len(text) else 0
        total += -value if value < following else value
    return total


def _split_roman(label: str) -> tuple[int, str] | None:
    """``xiva`` -> (14, 'a'); an inserted suffix letter is allowed after a numeral of 2+ letters."""
    value = _roman_value(label)
    if value:
        return value, ""
    if len(label) >= 3 and _roman_value(label[:-1]):
        return _roman_value(label[:-1]), label[-1]
    return None


def _label_styles(label: str) -> list[str]:
    """The list styles a label can belong to, most specific first."""
    if label[0].isdigit():
        return ["num"]
    lower = label.lower()
    styles = []
    if _split_roman(lower):
        styles.append("uroman" if label.isupper() else "roman")
    roman_only = len(lower) >= 2 and _roman_value(lower) is not None
    if len(lower) <= 3 and not roman_only and label.isalpha() and (label.islower() or label.isupper()):
        if label.isupper() and len(label) > 2:
            return styles
        styles.append("ualpha" if label.isupper() else "alpha")
    return styles


def _sort_key(style: str, label: str) -> tuple[int, str]:
    if style == "num":
        digits = re.match(r"\d+", label).group(0)
        return int(digits), label[len(digits):]
    if style in ("roman", "uroman"):
        return _split_roman(label.lower())  # type: ignore[return-value]
    return ord(label[0].lower()), label[1:].lower()


def _is_successor(style: str, last: str, label: str) -> bool:
    if style not in _label_styles(label):
        return False
    (a, a_rest), (b, b_rest) = _sort_key(style, last), _sort_key(style, label)
    if (b, b_rest) <= (a, a_rest):
        return False
    if style in ("alpha", "ualpha") and len(label) == 1 and label.lower() in "ivxl":
        return b - a == 1  # an ambiguous (i)/(v)/(x)/(l) is a letter only right after its predecessor
    return b - a <= _MAX_GAP


# ---------------------------------------------------------------- the unit tree


@dataclass(eq=False)
class _Unit:
    label: str  # "a" for (a); "proviso", "Explanation 1", "Illustrations", "Exception 1" for markers
    style: str  # a list style, or the marker kind
    start: int
    parent: _Unit | None
    closed_at: int | None = None
    pinned: bool = False  # a section-level Explanation or a state amendment: never moved under a clause

    @property
    def is_marker(self) -> bool:
        return self.style not in LIST_STYLES

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


@dataclass(eq=False)
class _Level:
    style: str  # a list style or "marker"
    unit: _Unit


class _Tree:
    """Builds the unit tree paragraph by paragraph with a stack of open lists and markers."""

    def __init__(self) -> None:
        self.units: list[_Unit] = []
        self.stack: list[_Level] = []

    def _innermost_unit(self) -> _Unit | None:
        return self.stack[-1].unit if self.stack else None

    def add_label(self, label: str, start: int, after_intro: bool) -> None:
        styles = _label_styles(label)
        firsts = [style for style in styles if _FIRST[style] == label]
        if firsts and after_intro:
            self._open_list(firsts[0], label, start)
            return
        for index in range(len(self.stack) - 1, -1, -1):
            level = self.stack[index]
            if level.style != "marker" and _is_successor(level.style, level.unit.label, label):
                self._continue_list(index, label, start)
                return
        if self._reread_as_letter(label):
            self.add_label(label, start, after_intro=False)
        elif firsts:
            self._open_list(firsts[0], label, start)
        elif styles == ["num"]:
            # A sub-section that follows nothing known starts afresh (inside a state amendment, if any).
            del self.stack[self._barrier() :]
            self._open_list("num", label, start)
        else:
            self._open_list(styles[0], label, start)

    def _reread_as_letter(self, label: str) -> bool:
        """A list opened by a lone "(i)" that is followed by "(j)" was a list of letters after all."""
        level = self.stack[-1] if self.stack else None
        if level is None or level.style not in ("roman", "uroman") or level.unit.label.lower() not in ("i", "v", "x", "l"):
            return False
        letter_style = "alpha" if level.style == "roman" else "ualpha"
        if not _is_successor(letter_style, level.unit.label, label):
            return False
        level.style = level.unit.style = letter_style
        return True

    def _barrier(self) -> int:
        """Index above the last state-amendment block: nothing after it belongs to the Act's own text."""
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index].unit.style == "state_amendment":
                return index + 1
        return 0

    def _open_list(self, style: str, label: str, start: int) -> None:
        unit = _Unit(label, style, start, self._innermost_unit())
        self.units.append(unit)
        self.stack.append(_Level(style, unit))

    def _continue_list(self, index: int, label: str, start: int) -> None:
        level = self.stack[index]
        previous = level.unit
        # Provisos and Explanations followed by the next clause of the same list qualified the clause
        # before it: "(g) ... Explanation.-- ... (h)" is an Explanation to (g), and so are all of a run
        # of provisos between (a) and (b), including those a later proviso replaced on the stack.
        outer = set(previous.ancestors())
        for unit in self.units[self.units.index(previous) + 1 :]:
            if unit.is_marker and not unit.pinned and (unit.parent is None or unit.parent in outer):
                unit.parent = previous
        del self.stack[index + 1 :]
        unit = _Unit(label, level.style, start, previous.parent)
        self.units.append(unit)
        level.unit = unit

    def add_marker(self, kind: str, label: str, start: int, section_level: bool) -> None:
        if kind == "state_amendment":
            self.stack.clear()  # a State's amendment, printed after the section: all that follows is its text
        parent = None if section_level or kind == "state_amendment" else self._marker_parent(kind)
        for index, level in enumerate(self.stack):
            if level.style == "marker" and level.unit.parent is parent and not level.unit.pinned:
                del self.stack[index:]  # a later proviso/Explanation replaces its sibling
                break
        unit = _Unit(label, kind, start, parent, pinned=section_level or kind == "state_amendment")
        self.units.append(unit)
        self.stack.append(_Level("marker", unit))

    def _marker_parent(self, kind: str) -> _Unit | None:
        """A proviso or Illustration after an Explanation qualifies that Explanation; otherwise a
        marker qualifies the enclosing sub-section or Exception (and may move under a clause
        later, see _continue_list)."""
        for level in reversed(self.stack):
            if kind in ("proviso", "illustration") and level.unit.style == "explanation":
                return level.unit
            if level.unit.pinned:
                return level.unit if level.unit.style == "state_amendment" else None
            if level.unit.style == "num" or (level.unit.style == "exception" and kind != "exception"):
                return level.unit
        return None

    def close_innermost_list(self, at: int) -> None:
        """Closing words after a list ("..., shall be punished") end its last item."""
        if self.stack and self.stack[-1].style != "marker":
            self.stack.pop().unit.closed_at = at

    # -- results

    def subunits(self, text: str) -> list[SubUnit]:
        paths = self._paths()
        result = []
        for index, unit in enumerate(self.units):
            end = self._end(index, len(text))
            while end > unit.start and text[end - 1].isspace():
                end -= 1
            result.append(SubUnit(paths[id(unit)], _kind(unit), unit.start, end))
        return result

    def _end(self, index: int, text_end: int) -> int:
        unit = self.units[index]
        end = text_end
        for later in self.units[index + 1 :]:
            if unit not in set(later.ancestors()):
                end = later.start
                break
        for node in (unit, *unit.ancestors()):
            if node.closed_at is not None and node.closed_at > unit.start:
                end = min(end, node.closed_at)
        return end

    def _paths(self) -> dict[int, str]:
        paths: dict[int, str] = {}
        provisos: dict[int, int] = {}
        seen: set[str] = set()
        for unit in self.units:
            prefix = paths[id(unit.parent)] if unit.parent is not None else ""
            if not unit.is_marker:
                path = f"{prefix}({unit.label})"
            else:
                label = unit.label
                if unit.style == "proviso":
                    count = provisos[id(unit.parent)] = provisos.get(id(unit.parent), 0) + 1
                    label = "proviso" if count == 1 else f"proviso-{count}"
                path = f"{prefix}-{label}" if prefix else label
            candidate, n = path, 1
            while candidate in seen:
                n += 1
                candidate = f"{path}-{n}"
            seen.add(candidate)
            paths[id(unit)] = candidate
        return paths


def _kind(unit: _Unit) -> str:
    if unit.is_marker:
        return unit.style
    if unit.style == "num":
        return "subsection"
    parent = unit.parent
    if parent is not None and parent.style == "illustration":
        return "illustration"
    if parent is None or parent.style == "num" or parent.is_marker:
        return "clause"
    return "subclause"


# ---------------------------------------------------------------- finding units


def find_subunits(text: str) -> list[SubUnit]:
    """Sub-sections, clauses, sub-clauses, provisos, Explanations, Exceptions and Illustrations of
    ``text`` (one provision's cleaned text), in document order, with spans into ``text``.

    A unit's span runs to the start of the next unit that is not inside it; closing words after a
    list (``..., shall be punished ...``) belong to the enclosing unit, not to the last item.
    """
    tree = _Tree()
    previous = ""  # the previous non-blank line
    previous_blank = True
    offset = 0
    for line in text.split("\n"):
        line_start, offset = offset, offset + len(line) + 1
        stripped = line.strip()
        if not stripped:
            previous_blank = True
            continue
        may_start = not previous or previous_blank or bool(_BREAK_END.search(previous))
        if may_start:
            _read_line(tree, line, line_start, previous, previous_blank)
        previous, previous_blank = stripped, False
    return tree.subunits(text)


def _read_line(tree: _Tree, line: str, line_start: int, previous: str, previous_blank: bool) -> None:
    marker = _MARKER.match(line)
    if marker:
        group = next(k for k in ("proviso", "explanation", "exception", "illustration", "state") if marker.group(k))
        kind = "state_amendment" if group == "state" else group
        label = _marker_label(kind, marker)
        start = line_start + marker.start(group)
        head = line[marker.end() : marker.end() + 120]
        section_level = kind == "explanation" and bool(_SECTION_LEVEL.search(head))
        tree.add_marker(kind, label, start, section_level)
        return
    heading = _INLINE_HEADING.match(line)
    match = _LINE_LABEL.match(line, heading.end() if heading else 0)
    if match and _label_styles(match.group(1)) and not _REFERENCE_AFTER.match(line, match.end()):
        after_intro = bool(previous) and bool(_INTRO_END.search(previous))
        # A unit starts with its line (amendment markers included), or at the label after an inline heading.
        start = match.start() + match.group(0).index("(") if heading else len(line) - len(line.lstrip())
        end = _read_labels(tree, line, line_start, match, start, after_intro)
    elif previous_blank and line.lstrip()[:1].islower() and _TAIL_AFTER.search(previous):
        tree.close_innermost_list(line_start)
        end = 0
    else:
        end = 0
    inline = _INLINE_FIRST.search(line, end)
    if inline and not _REFERENCE_AFTER.match(line, inline.end(1)):
        tree.add_label(inline.group(1)[1:-1], line_start + inline.start(1), after_intro=True)


def _read_labels(tree: _Tree, line: str, line_start: int, match: re.Match[str], start: int, after_intro: bool) -> int:
    """Add the label at the start of ``line`` and any first labels chained to it (``(6) (a) The``)."""
    while True:
        tree.add_label(match.group(1), line_start + start, after_intro)
        gap = len(line) - len(line[match.end() :].lstrip()) - match.end()
        chained = _LABEL.match(line, match.end() + gap) if gap <= 1 else None
        if not chained or not _is_first(chained.group(1)) or _REFERENCE_AFTER.match(line, chained.end()):
            return match.end()
        match, start, after_intro = chained, chained.start(), True


def _is_first(label: str) -> bool:
    return any(_FIRST[style] == label for style in _label_styles(label))


def _marker_label(kind: str, match: re.Match[str]) -> str:
    if kind == "proviso":
        return "proviso"
    if kind == "illustration":
        return match.group("illustration")
    if kind == "state_amendment":
        return "State amendment"
    number = match.group("en") if kind == "explanation" else match.group("xn")
    word = "Explanation" if kind == "explanation" else "Exception"
    return f"{word} {number}" if number else word
