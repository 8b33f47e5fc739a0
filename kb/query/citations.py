"""Explicit references to provisions inside a query: "s. 67B IT Act", "POCSO 2(1)(da)", "u/s 354D IPC".

    >>> [(r.act_key, r.section, r.subsection) for r in parse_citations("section 19(1) of POCSO")]
    [('pocso', '19', '(1)')]
    >>> [(r.act_key, r.section) for r in parse_citations("sections 19 and 21 of the POCSO Act, 2012")]
    [('pocso', '19'), ('pocso', '21')]
    >>> parse_citations("a child of 12 years called 1098 in 2012")
    []

A number is read as a section only when it is introduced by a marker ("section", "sec.", "s.",
"ss.", "u/s", "§", "rule", "r.", "article") or sits right beside an Act name ("IPC 354D",
"354D IPC", "66E of the IT Act"). Numbers of four digits or more (years, helplines) and numbers
followed by a unit ("18 years", "24 hours") are never sections.

Decisions:

* Ranges ("ss. 3 to 5") are expanded when both ends are plain numbers at most
  :data:`MAX_RANGE` apart; otherwise only the two ends are returned.
* "rule 11 of the POCSO Rules" gives ``act_key="pocso_rules"``, ``kind="rule"``; "rule 11 of POCSO"
  resolves to the Act's Rules when the registry has ``<act>_rules``, else the Act is left unknown.
* "Article 21" is returned with ``kind="article"`` and ``act_key=None``: the Constitution is not
  in the registry. Callers must not treat an article as a section of any Act.
* "it" is read as the IT Act only as "IT Act", "I.T. Act", "it act" after "of/under/the", or a
  capitalised "IT" right beside a section number (see :mod:`kb.query.mentions`).
* "66 A" (a space before the letter) is read as 66A only when an Act name follows
  ("Section 66 A of the IT Act"); otherwise the letter is taken as a word ("section 4 A person").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.acts import registry
from kb.query.mentions import ActMention, find_mentions

MAX_RANGE = 10
# Markers that leave no doubt a section follows; after "s.", "r.", "rule", "art" a counted noun
# ("rule 5 children") still shows the number is a quantity.
_STRONG_MARKERS = {"section", "sections", "sec", "secs", "u/s", "u/ss", "§", "§§"}

_MARKER = re.compile(
    r"(?<![\w'’/.])(?P<m>u/ss|u/s|sections|section|secs|sec|ss|s|§§|§|rules|rule|r|articles|article|arts|art)"
    r"\.?\s*(?=\d)",
    re.I,
)
# Section number: 1-3 digits (years and helplines have 4), optional letter suffix "A"-"H" ("354D",
# "376AB", "67-B"); never followed by another letter ("3rd", "21st").
_NUMBER = re.compile(r"(?P<n>\d{1,3})(?:-?(?P<x>[A-Ha-h]{1,2}))?(?!\w)")
# Where a bare number may start: not inside another number, a decimal, "(1)", "376/511" or "3-5".
_BARE_START = re.compile(r"(?<![\w.(/\-])\d")
_PATH = re.compile(r"(?:\s?\((?:\d{1,3}[A-Za-z]?|[a-z]{1,4})\))+")
_UNIT = re.compile(
    r"\s*(?:-\s*)?(?:years?|yrs?|year-old|months?|weeks?|days?|hours?|hrs?|minutes?|mins?|seconds?|%|per\s*cent|"
    r"percent|rupees|rs\b|lakhs?|crores?|am\b|pm\b|kg|km|times)\b",
    re.I,
)
# Counted nouns end a bare number ("3 children under POCSO") but not "section 19 child reporting".
_COUNTED = re.compile(r"\s+(?:children|child|girls?|boys?|people|persons|cases|victims|students|of\s+them)\b", re.I)
_LIST_JOIN = re.compile(
    r"\s*(?:,|&|/|\band\b|\bor\b|\br/w\b|\bread\s+with\b)\s*(?:(?:sections?|secs?|ss?)\.?\s*)?", re.I
)
_RANGE_JOIN = re.compile(r"\s*(?:to|-|–|—)\s*", re.I)
_TAIL = re.compile(r"\s*,?\s*(?:(?:of|under|in)\s+)?(?:the\s+)?", re.I)
_GAP = re.compile(r"\s+")
# Look-behind windows (characters) for the context checks, so long queries stay linear.
_WINDOW = 40
_PREFIX_WINDOW = 200
_SPACED_SUFFIX = re.compile(r"\s([A-Ha-h])(?!\w)")
_BARE_TAIL = re.compile(r"\s*(?:of\s+)?(?:the\s+)?", re.I)
_CONSTITUTION = re.compile(
    r"\s*,?\s*(?:(?:of|under|in)\s+)?(?:the\s+)?(?:indian\s+)?constitution(?:\s+of\s+india)?", re.I
)
_HEAD_GAP = re.compile(r"\s*,?\s*(?:'s\s+)?$", re.I)
_PREFIX = re.compile(r"((?:(?:sub-?\s?section|sub-?clause|clause)\s*\(\w{1,4}\)\s+of\s+)+)(?:the\s+)?$", re.I)
# Words that make a bare number a quantity, not a section: "top 10 POCSO cases", "Rs 500".
_QUANTITY_BEFORE = re.compile(
    r"(?:\b(?:top|first|last|over|about|around|than|nearly|only|all|these|those|past|next|within|after|before|"
    r"every|some|many)\s+|(?:\brs\.?|₹|\binr)\s*)$",
    re.I,
)
# "under 18 POCSO" is an age; "under 354D IPC" is a section.
_AGE_BEFORE = re.compile(r"\b(?:under|above|below|aged?|upto|over)\s+$", re.I)
MAX_AGE = 21


@dataclass(frozen=True)
class CitationRef:
    """One provision a query names explicitly.

    ``span`` covers the whole citation expression the reference came from (marker, numbers,
    Act name), so references read from one list ("sections 19 and 21 of POCSO") share a span
    and removing the spans removes the citation from the query text.

        >>> ref = parse_citations("u/s 354D IPC")[0]
        >>> (ref.act_key, ref.section, ref.raw, ref.provision_key)
        ('ipc', '354D', 'u/s 354D IPC', 'ipc:354D')
    """

    act_key: str | None
    section: str
    subsection: str | None
    span: tuple[int, int]
    raw: str
    kind: str = "section"  # "section" | "rule" | "article"

    @property
    def pinpoint(self) -> str:
        return f"{self.section}{self.subsection or ''}"

    @property
    def provision_key(self) -> str | None:
        """``act:section`` as stored provisions are keyed; None for articles or unknown Acts."""
        if self.act_key is None or self.kind == "article":
            return None
        return f"{self.act_key}:{self.section}"


@dataclass(frozen=True)
class _Item:
    section: str
    path: str | None
    start: int
    end: int
    range_from: _Item | None = None  # set on the upper end of "3 to 5"


def _normalise_path(raw: str | None) -> str | None:
    if not raw:
        return None
    return "".join(f"({label.lower()})" for label in re.findall(r"\((\w+)\)", raw))


def _read_item(text: str, pos: int, *, bare: bool) -> _Item | None:
    match = _NUMBER.match(text, pos)
    if match is None or int(match.group("n")) == 0:
        return None
    end = match.end()
    path = _PATH.match(text, end)
    if path:
        end = path.end()
    if _UNIT.match(text, end) or (bare and _COUNTED.match(text, end)):
        return None
    section = match.group("n") + (match.group("x") or "").upper()
    return _Item(section, _normalise_path(path.group(0) if path else None), match.start(), end)


def _read_list(text: str, pos: int, *, bare: bool = True) -> list[_Item]:
    """Items of "19(1), 21 and 23" or "3 to 5" starting exactly at ``pos``.

    ``bare``: no marker introduced the list, so numbers followed by counted nouns are refused.
    """
    first = _read_item(text, pos, bare=bare)
    if first is None:
        return []
    items = [first]
    while True:
        joined = _RANGE_JOIN.match(text, items[-1].end)
        nxt = _read_item(text, joined.end(), bare=bare) if joined else None
        if nxt is not None:
            items.append(_Item(nxt.section, nxt.path, nxt.start, nxt.end, range_from=items[-1]))
            continue
        joined = _LIST_JOIN.match(text, items[-1].end)
        nxt = _read_item(text, joined.end(), bare=bare) if joined else None
        if nxt is None:
            return items
        items.append(nxt)


def _expand(items: list[_Item]) -> list[_Item]:
    out: list[_Item] = []
    for item in items:
        low = item.range_from
        plain = low is not None and not low.path and not item.path
        if plain and low.section.isdigit() and item.section.isdigit():
            first, last = int(low.section), int(item.section)
            if 1 < last - first <= MAX_RANGE:
                out.extend(_Item(str(n), None, item.start, item.end) for n in range(first + 1, last))
        out.append(item)
    return out


def _mention_at(mentions: list[ActMention], pos: int) -> ActMention | None:
    return next((m for m in mentions if m.span[0] == pos), None)


def _tail_mention(text: str, end: int, mentions: list[ActMention]) -> ActMention | None:
    """The Act named right after a citation: "... of the POCSO Act", "... IPC"."""
    tail = _TAIL.match(text, end)
    return _mention_at(mentions, tail.end()) if tail else None


def _head_mention(text: str, start: int, mentions: list[ActMention]) -> ActMention | None:
    for mention in reversed(mentions):
        if mention.span[1] <= start:
            return mention if _HEAD_GAP.fullmatch(text, mention.span[1], start) else None
    return None


def _resolve(act_key: str | None, kind: str) -> tuple[str | None, str]:
    """Map the Act to the document a rule lives in; articles belong to no registered Act."""
    if kind == "article":
        return None, kind
    acts = registry()
    if act_key is None:
        return None, kind
    if acts[act_key].doc_type == "rules":
        return act_key, "rule"
    if kind == "rule":
        return (f"{act_key}_rules" if f"{act_key}_rules" in acts else None), kind
    return act_key, kind


def _kind(marker: str) -> str:
    marker = marker.lower()
    if marker.startswith("r"):
        return "rule"
    if marker.startswith("art"):
        return "article"
    return "section"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.mentions = find_mentions(text)
        self.taken: list[tuple[int, int]] = []
        self.refs: list[CitationRef] = []

    def free(self, start: int, end: int) -> bool:
        """True when [start, end) overlaps no citation emitted so far."""
        return all(end <= a or start >= b for a, b in self.taken)

    def emit(
        self, items: list[_Item], start: int, end: int, act_key: str | None, kind: str, prefix: str | None
    ) -> None:
        act_key, kind = _resolve(act_key, kind)
        raw = self.text[start:end]
        for item in _expand(items):
            path = item.path
            if prefix and len(items) == 1:
                path = prefix + (path or "")
            self.refs.append(CitationRef(act_key, item.section, path, (start, end), raw, kind))
        self.taken.append((start, end))

    def marker_led(self) -> None:
        for marker in _MARKER.finditer(self.text):
            if not self.free(*marker.span()):
                continue
            word = marker.group("m").lower()
            items = _read_list(self.text, marker.end(), bare=word not in _STRONG_MARKERS)
            if not items:
                continue
            start, end, kind = marker.start(), items[-1].end, _kind(marker.group("m"))
            prefix = _PREFIX.search(self.text, max(0, start - _PREFIX_WINDOW), start)
            path_prefix = None
            if prefix:
                labels = re.findall(r"\((\w{1,4})\)", prefix.group(1))
                path_prefix = "".join(f"({x.lower()})" for x in reversed(labels))
                start = prefix.start()
            act = None
            if kind == "article":
                constitution = _CONSTITUTION.match(self.text, end)
                end = constitution.end() if constitution else end
            else:
                act = _head_mention(self.text, start, self.mentions)
                if act is None:
                    items, end = self._spaced_suffix(items, end)
                    act = _tail_mention(self.text, end, self.mentions)
                    end = act.span[1] if act else end
                else:
                    start = act.span[0]
            self.emit(items, start, end, act.act_key if act else None, kind, path_prefix)

    def _spaced_suffix(self, items: list[_Item], end: int) -> tuple[list[_Item], int]:
        """ "Section 66 A of the IT Act": take the detached letter only when an Act name follows it."""
        last = items[-1]
        letter = _SPACED_SUFFIX.match(self.text, end)
        if letter is None or not last.section.isdigit() or last.path:
            return items, end
        act = _tail_mention(self.text, letter.end(), self.mentions)
        if act is None:
            return items, end
        fixed = _Item(last.section + letter.group(1).upper(), None, last.start, letter.end(), last.range_from)
        return [*items[:-1], fixed], letter.end()

    def act_then_number(self) -> None:
        """ "IPC 354D", "POCSO 2(1)(da)", "BNSS 173"."""
        for mention in self.mentions:
            gap = _GAP.match(self.text, mention.span[1])
            if gap is None or not self.free(*mention.span):
                continue
            items = _read_list(self.text, gap.end())
            if items and self.free(items[0].start, items[-1].end):
                self.emit(items, mention.span[0], items[-1].end, mention.act_key, "section", None)

    def number_then_act(self) -> None:
        """ "354D IPC", "66E of the Information Technology Act", "19 of POCSO"."""
        # Items of a list already read that no Act follows: a list read from one of them is a
        # suffix of that list, ending at the same place, so no Act follows it either. Skipping
        # them keeps "1A, 1A, 1A, ..." linear instead of quadratic (a 2000-character query).
        actless: set[int] = set()
        for number in _BARE_START.finditer(self.text):
            start = number.start()
            if start in actless:
                continue
            if not self.free(start, start + 1) or _QUANTITY_BEFORE.search(self.text, max(0, start - _WINDOW), start):
                continue
            items = _read_list(self.text, start)
            if not items or not self.free(items[0].start, items[-1].end) or self._age(items, start):
                continue
            tail = _BARE_TAIL.match(self.text, items[-1].end)
            act = _mention_at(self.mentions, tail.end())
            if act is not None:
                self.emit(items, start, act.span[1], act.act_key, "section", None)
            else:
                actless.update(item.start for item in items)

    def _age(self, items: list[_Item], start: int) -> bool:
        """ "under 18 POCSO": a plain small number after an age word is an age, not a section."""
        first = items[0]
        small = first.section.isdigit() and int(first.section) <= MAX_AGE and not first.path
        return small and len(items) == 1 and bool(_AGE_BEFORE.search(self.text, max(0, start - _WINDOW), start))

    def parse(self) -> list[CitationRef]:
        self.marker_led()
        self.act_then_number()
        self.number_then_act()
        return sorted(self.refs, key=lambda r: r.span[0])


def parse_citations(query: str) -> list[CitationRef]:
    """Every provision ``query`` cites, left to right, with the Act resolved where named."""
    if not query:
        return []
    return _Parser(query).parse()
