"""Repair text extracted from printed Acts (PDF text layers, OCR, page-wise exports).

Each helper fixes one artefact of print layout and is safe on text that does not have it:

* :func:`strip_page_furniture` — bare page numbers and running headers/footers (lines repeated
  at the top or bottom of most pages);
* :func:`split_footnotes` — the amendment footnotes printed at the bottom of a page;
* :func:`fix_spaced_capitals` — small-caps headings extracted as "P RELIMINARY";
* :func:`join_broken_words` — words split by stray spaces ("appoi nted", "process es"), only
  where the joined word occurs elsewhere in the same document;
* :func:`collapse_spacing` — "( 1 )", "sub - section", "1 [ adolescent ]" from some extractors;
* :func:`join_hyphenated` — "prohi-\\nbition" -> "prohibition", keeping real compounds ("sub-section");
* :func:`normalise_punctuation` — curly quotes, dash variants, ligatures, odd spaces;
* :func:`mark_footnote_refs` — "4[ten years]" -> "^4[ten years]", the India Code Markdown form;
* :func:`unwrap_lines` — one line per sub-section, clause, proviso or Explanation.

    >>> fix_spaced_capitals("P ROHIBITION OF EMPLOYMENT")
    'PROHIBITION OF EMPLOYMENT'
    >>> join_hyphenated("No prohi-\\nbition under this sub-\\nsection")
    'No prohibition under this sub-section'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_SHORT_WORDS = {
    "a", "i", "an", "as", "at", "be", "by", "do", "he", "if", "in", "is", "it", "me", "my", "no", "of", "on",
    "or", "so", "to", "up", "us", "we",
}
_KEEP_HYPHEN_PREFIXES = {
    "sub", "self", "non", "co", "ex", "quasi", "cross", "semi", "anti", "inter", "pre", "post", "re", "well",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "one", "two", "three", "four",
    "five", "six", "seven", "eight", "nine", "ten", "first", "second", "third", "half", "full", "part",
}
_PAGE_NUMBER = re.compile(r"(?i)^\s*[-–—]?\s*(?:page\s+)?\d{1,4}\s*(?:of\s+\d{1,4})?\s*[-–—]?\s*$")
_FOOTNOTE_START = re.compile(r"^\s*(\d{1,3})\.\s*(\S.*)$")
_FOOTNOTE_WORDS = re.compile(
    r"\b(?:Ins\.|Subs\.|Omitted|omitted|Rep\.|Repealed by|repealed by|renumbered|re-?lettered|w\.\s?e\.\s?f|"
    r"vide\s+notification|ibid|Act\s+\d+\s+of\s+\d{4}|notification\s+No|Gazette)"
)
_SECTION_LIKE = re.compile(r"^\s*\d{1,3}[A-Z]{0,3}\.\s*[^—]{1,250}?\.?\s*—")
_SEPARATOR = re.compile(r"^\s*(?:_{5,}|-{5,}|—{3,})\s*$")
_WORD = re.compile(r"[A-Za-z]+")


# ---------------------------------------------------------------------------- page layout


def _norm_furniture(line: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", line.strip().lower()))


def strip_page_furniture(pages: list[str], *, edge_lines: int = 3) -> list[str]:
    """Drop bare page numbers and lines repeated at the top/bottom of most pages."""
    split = [page.split("\n") for page in pages]
    edges = [_edge_indexes(lines, edge_lines) for lines in split]
    counts: Counter[str] = Counter()
    for lines, idx in zip(split, edges):
        counts.update({_norm_furniture(lines[i]) for i in idx if lines[i].strip()})
    threshold = max(2, int(0.6 * len(pages) + 0.999))
    repeated = {line for line, n in counts.items() if n >= threshold} if len(pages) >= 2 else set()
    out = []
    for lines, idx in zip(split, edges):
        drop = {i for i in idx if _PAGE_NUMBER.match(lines[i]) or _norm_furniture(lines[i]) in repeated}
        out.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return out


def _edge_indexes(lines: list[str], n: int) -> list[int]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:n] + filled[-n:]))


def split_footnotes(page: str) -> tuple[str, list[str]]:
    """(body, footnotes) of one page. Footnotes are the numbered run ending the page whose first
    entry reads like an amendment note ("1. Ins. by Act 25 of 2019 ..."); continuation lines are
    joined to their note."""
    lines = page.rstrip().split("\n")
    start = _footnote_run_start(lines)
    if start is None:
        return page, []
    body = lines[:start]
    while body and (not body[-1].strip() or _SEPARATOR.match(body[-1])):
        body.pop()
    notes: list[str] = []
    for line in lines[start:]:
        if not line.strip() or _SEPARATOR.match(line):
            continue
        if _FOOTNOTE_START.match(line) and (not notes or _number(line) == _number(notes[-1]) + 1):
            notes.append(" ".join(line.split()))
        else:
            notes[-1] = f"{notes[-1]} {' '.join(line.split())}"
    return "\n".join(body), notes


def _number(line: str) -> int:
    match = _FOOTNOTE_START.match(line)
    return int(match.group(1)) if match else -1


def _footnote_run_start(lines: list[str]) -> int | None:
    """Index of the first footnote line, scanning upwards from the bottom of the page."""
    start, expected, loose = None, None, 0
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if not line.strip() or _SEPARATOR.match(line):
            continue
        number = _number(line)
        if number >= 1 and not _SECTION_LIKE.match(line) and (expected is None or number == expected):
            start, expected, loose = i, number - 1, 0
            if expected == 0:
                break
            continue
        loose += 1
        if loose > 3 or number >= 1:
            break
    if start is None or not _FOOTNOTE_WORDS.search(lines[start]):
        return None
    return start


# ---------------------------------------------------------------------------- words and spacing


def vocabulary(text: str, *, min_count: int = 2, prose_only: bool = False) -> set[str]:
    """Lower-cased words that occur at least ``min_count`` times: the document's own dictionary.

    ``prose_only`` counts only words written with a lower-case letter, so fragments of spaced
    capital headings ("P RELIMINARY" twice) never count as words."""
    words = _WORD.findall(text)
    if prose_only:
        words = [w for w in words if not w.isupper()]
    counts = Counter(w.lower() for w in words)
    return {w for w, n in counts.items() if n >= min_count}


def _real(word: str, vocab: set[str]) -> bool:
    low = word.lower()
    return low in _SHORT_WORDS or (len(low) >= 3 and low in vocab)


def fix_spaced_capitals(line: str, vocab: Iterable[str] = ()) -> str:
    """Join a lone capital to the capitals after it ("P RELIMINARY", "A CT N O. 61", "B E it"),
    unless what follows is a word of its own ("PART V AMENDMENTS")."""
    vocab = set(vocab)

    def join(match: re.Match[str]) -> str:
        letter, rest = match.group(1), match.group(2)
        if len(rest) > 1 and _real(rest, vocab):
            return match.group(0)
        return letter + rest

    return re.sub(r"(?<![\w.])([A-Z]) ([A-Z]+)(?![a-z])", join, line)


class WordStats:
    """How often each word, and each two-word sequence, occurs in one document.

    >>> stats = WordStats("the notification; by notif ication; notification")
    >>> stats.count("notification"), stats.pairs("notif", "ication")
    (2, 1)
    """

    def __init__(self, text: str) -> None:
        words = _WORD.findall(text)
        self.counts = Counter(w.lower() for w in words)
        self.prose = {w for w, n in Counter(w.lower() for w in words if not w.isupper()).items() if n >= 2}
        self._text = text.lower()

    def count(self, word: str) -> int:
        return self.counts.get(word.lower(), 0)

    def pairs(self, left: str, right: str) -> int:
        return len(re.findall(rf"(?<![a-z]){re.escape(left.lower())} {re.escape(right.lower())}(?![a-z])", self._text))

    def real(self, word: str) -> bool:
        return _real(word, self.prose)


def join_broken_words(text: str, stats: WordStats) -> str:
    """Join "appoi nted" -> "appointed", "safe t y" -> "safety" when the joined word occurs in the
    document and the pieces are not words themselves (or the joined form is clearly the usual one:
    "notif ication" twice beside "notification" ten times). "in to" stays two words."""
    out_lines = []
    for line in text.split("\n"):
        out: list[str] = []
        for token in line.split(" "):
            if out and _joinable(out[-1], token, stats):
                out[-1] += token
            elif len(out) >= 2 and len(out[-1]) <= 2 and _joinable(out[-2] + out[-1], token, stats, strict=True):
                out[-2:] = [out[-2] + out[-1] + token]
            else:
                out.append(token)
        out_lines.append(" ".join(out))
    return "\n".join(out_lines)


def _joinable(left: str, right: str, stats: WordStats, *, strict: bool = False) -> bool:
    head = re.search(r"[A-Za-z]+$", left)
    tail = re.match(r"[A-Za-z]+", right)
    if not head or not tail:
        return False
    before = left[head.start() - 1] if head.start() else ""
    after = right[tail.end()] if tail.end() < len(right) else ""
    if before.isalnum() or (before and before in "^\\") or after.isalnum():
        return False
    a, b = head.group(0), tail.group(0)
    joined = a + b
    if not (len(joined) >= 3 or joined.lower() in _SHORT_WORDS) or stats.count(joined) == 0:
        return False
    if strict:
        return True
    if not (stats.real(a) and stats.real(b)):
        return True
    short = a.lower() in _SHORT_WORDS or b.lower() in _SHORT_WORDS
    return not short and stats.count(joined) >= 2 * stats.pairs(a, b)


def has_spacing_artifacts(text: str) -> bool:
    """True for extractions that put spaces inside labels and markers: "( 1 )", "1 [ ", "sub - section"."""
    signals = len(re.findall(r"\( \w{1,4} \)", text)) + len(re.findall(r"\w - \w", text)) + len(re.findall(r"\d \[ ", text))
    return signals >= 5


def collapse_spacing(text: str) -> str:
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    text = re.sub(r"\(([ivxlc]{1,4}|[a-z]{1,2}) ([a-z]{1,3})\)", r"(\1\2)", text)  # "(i a)" -> "(ia)"
    text = re.sub(r"\[\s+", "[", text)
    text = re.sub(r"\s+\]", "]", text)
    text = re.sub(r"(?<![\w\]])(\d{1,2}) \[", r"\1[", text)
    text = re.sub(r"(?<=\w) -(?: |\n)(?=\w)", "-", text)
    text = re.sub(r"[ \t]*—[ \t]*", "—", text)
    text = re.sub(r"(\d) ([A-Z])(?=[\s\]\),.;]|$)", r"\1\2", text, flags=re.M)  # "section 3 A" -> "3A"
    text = re.sub(r"^(\d) (\d[A-Z]{0,2}\.\s)", r"\1\2", text, flags=re.M)  # "1 4C. Rehabilitation"
    text = re.sub(r"(?<=\d)((?: \*){3,})", lambda m: m.group(1).replace(" ", ""), text)
    text = re.sub(r"\*(?: \*){2,}", lambda m: m.group(0).replace(" ", ""), text)
    text = re.sub(r"([“‘]) +", r"\1", text)
    return re.sub(r" +([”’])", r"\1", text)


def join_hyphenated(text: str, vocab: set[str] | None = None) -> str:
    """Join words hyphenated across a line break; keep the hyphen of real compounds."""

    def join(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        if right[0].isupper():
            return f"{left}-{right}"
        if vocab and (left + right).lower() in vocab:
            return left + right
        if left.lower() in _KEEP_HYPHEN_PREFIXES or left.isdigit():
            return f"{left}-{right}"
        return left + right

    return re.sub(r"(\w+)-[ \t]*\n[ \t]*(\w+)", join, text)


_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'"}
)
_SPACES = str.maketrans({"\u00a0": " ", "\u2009": " ", "\u2002": " ", "\u2003": " ", "\u202f": " ", "\u200b": "", "\u00ad": ""})
_LIGATURES = {"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl"}


def normalise_punctuation(text: str) -> str:
    """Straight quotes (as in India Code Markdown), one em dash for heading/colon dashes, plain spaces."""
    text = text.replace("‘‘", '"').replace("’’", '"').translate(_QUOTES).translate(_SPACES)
    for lig, plain in _LIGATURES.items():
        text = text.replace(lig, plain)
    text = text.replace("―", "—").replace("‒", "—")
    text = re.sub(r"(?<=[.:])\s*(?:–|--|-)(?=\s*[(\"A-Z^\[])", "—", text)  # "Definitions.-(1)" / "namely:-"
    return re.sub(r"\s*—\s*-|—\s*—", "—", text)


def mark_footnote_refs(text: str) -> str:
    """Write printed footnote markers the India Code Markdown way: "4[ten" -> "^4[ten", "1***" -> "^1***"."""
    text = re.sub(r"(?<![\w^\]])(\d{1,2})\[", r"^\1[", text)
    return re.sub(r"(?<![\w^])(\d{1,2})(\*{3,})", r"^\1\2", text)


# ---------------------------------------------------------------------------- line structure

_UNIT_START = re.compile(
    r"^(?:\^\d+\[|\^\d+\*+\s*)?\s*(?:\(\w{1,6}\)(?!\s+(?:of|and|or|to)\b)|Explanation|Provided|Illustrations?\b|"
    r"(?:First|Second|Third|Fourth|Fifth|Sixth)(?:ly)?\s*\.|STATE AMENDMENT|\[Vide|Amendment of |\*{3,}|\^\d+\*)"
)


def unwrap_lines(text: str) -> str:
    """One line per unit: continuation lines of a sub-section, clause or proviso are joined."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            continue
        prev = out[-1] if out else ""
        starts_unit = bool(_UNIT_START.match(line)) or is_caps_line(line) or is_caps_line(prev)
        if not out or starts_unit or prev.endswith((":", "—", ":—")):
            out.append(line)
        else:
            out[-1] = f"{prev} {line}"
    return "\n".join(out)


def is_caps_line(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)
