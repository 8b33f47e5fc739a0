"""Citations in the team-written guides: front matter, inline citations, section headings.

Inline citations take two forms:

    (POCSO Act, s. 19)    (POCSO Act, s. 2(1)(da))    (Juvenile Justice Act, ss. 74–89)
    section 19 of the POCSO Act    sections 3, 5, 7 and 9 of the POCSO Act

and a heading ``## Section 19 — Reporting of offences`` cites section 19 of the Act the guide cites
most (or of the Act it names: ``## Section 19 of the POCSO Act — ...``). Act names are the
``short_name`` values of ``kb/data/acts.toml``.

    >>> guide = Guide(Path("g.md"), {}, "Report it (POCSO Act, s. 19(1)); see sections 20 and 21 of the POCSO Act.")
    >>> [(c.act, c.section, c.labels) for c in inline_citations(guide)[0]]
    [('pocso', '20', ()), ('pocso', '21', ()), ('pocso', '19', ('(1)',))]
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from kb.acts import find_act, registry

# One section reference: "19", "67B", "2(1)(da)", "14(1A)"; a bare "(f)" after one adds a label
# to the previous section ("5(e), (f)", "3(a)–(d)").
_LABEL = r"\([0-9A-Za-z]{1,5}\)"
_SECREF = rf"\d+[A-Z]{{0,2}}(?:{_LABEL})*"
_SEP = r"\s*(?:,\s*(?:and\s+|or\s+)?|\band\b|\bor\b|\bto\b|–|-)\s*"
_SECLIST = rf"{_SECREF}(?:{_SEP}(?:{_SECREF}|(?:{_LABEL})+))*"
_LIST_TOKEN = re.compile(rf"({_SECREF})|((?:{_LABEL})+)|(\bto\b|–|-)")
DANGLING = re.compile(r"(?<![\w-])(?:[Ss]ections?|ss?\.)\s*\d")
QUOTE = re.compile(r"“([^”]+)”|\"([^\"\n]+)\"")


@lru_cache(maxsize=1)
def _act_names() -> str:
    names = sorted({act.short_name for act in registry().values()}, key=len, reverse=True)
    return "|".join(re.escape(n) for n in names)


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    names = _act_names()
    short = re.compile(rf"(?P<act>{names})(?:,\s*\d{{4}})?,\s+(?P<unit>ss?\.)\s*(?P<list>{_SECLIST})")
    prose = re.compile(rf"\b(?P<unit>[Ss]ections?|ss?\.)\s+(?P<list>{_SECLIST})\s+of\s+the\s+(?P<act>{names})")
    heading = re.compile(
        rf"^#{{1,6}}\s+Section\s+(?P<sec>\d+[A-Z]{{0,2}})(?:\s+of\s+the\s+(?P<act>{names}))?\s+[—–]\s+(?P<title>.+?)\s*$"
    )
    return short, prose, heading


@dataclass(frozen=True)
class Citation:
    """One cited provision; a range ("74–89") is checked by its two ends."""

    guide: str
    act: str
    section: str
    labels: tuple[str, ...]  # "(1)", "(da)" below the section
    raw: str
    range_to: str | None = None  # "89" when the citation is "74–89"


@dataclass
class Guide:
    path: Path
    meta: dict
    body: str

    @property
    def name(self) -> str:
        return self.path.name

    def lines(self) -> list[str]:
        return self.body.splitlines()

    def words(self) -> int:
        return len(re.findall(r"[A-Za-z0-9’']+", self.body))


def parse_guide(path: Path) -> Guide:
    """Front matter (YAML) and body of a guide; a missing or malformed block is an error naming the file."""
    text = path.read_text("utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)\Z", text, re.S)
    if match is None:
        raise AssertionError(f"{path.name}: must start with '---' front matter closed by '---'")
    meta = yaml.safe_load(match.group(1))
    if not isinstance(meta, dict):
        raise AssertionError(f"{path.name}: front matter is not a mapping: {meta!r}")
    return Guide(path, meta, match.group(2))


def _act_key(name: str, where: str) -> str:
    act = find_act(name)
    if act is None:
        raise AssertionError(f"{where}: unknown Act name {name!r}")
    return act.key


def _split_list(guide: str, act: str, seclist: str, raw: str) -> list[Citation]:
    refs: list[Citation] = []
    pending_range = False
    for ref, bare, dash in _LIST_TOKEN.findall(seclist):
        if dash:
            pending_range = True
            continue
        if bare:  # more labels of the previous section: "(f)" in "5(e), (f)", "(d)" in "3(a)–(d)"
            previous = refs[-1]
            refs.append(Citation(guide, act, previous.section, tuple(re.findall(r"\([^()]+\)", bare)), raw))
            pending_range = False
            continue
        number = re.match(r"\d+[A-Z]{0,2}", ref).group(0)
        labels = tuple(re.findall(r"\([^()]+\)", ref[len(number):]))
        if pending_range and refs:
            start = refs.pop()
            refs.append(Citation(guide, act, start.section, start.labels, raw, range_to=number))
        else:
            refs.append(Citation(guide, act, number, labels, raw))
        pending_range = False
    return refs


def heading_matches(guide: Guide) -> list[tuple[int, re.Match[str]]]:
    _, _, heading = _patterns()
    found = []
    for lineno, line in enumerate(guide.lines(), 1):
        if re.match(r"^#{1,6}\s+Sections?\b", line):
            match = heading.match(line)
            if match is None:
                raise AssertionError(f"{guide.name}:{lineno}: malformed section heading {line!r}")
            found.append((lineno, match))
    return found


def inline_citations(guide: Guide) -> tuple[list[Citation], str]:
    """All inline citations, and the body with citations and section headings blanked out."""
    short, prose, _ = _patterns()
    heading_lines = {lineno for lineno, _ in heading_matches(guide)}
    body = "\n".join("" if i in heading_lines else line for i, line in enumerate(guide.lines(), 1))
    found: list[Citation] = []
    for pattern in (prose, short):
        for match in pattern.finditer(body):
            key = _act_key(match.group("act"), guide.name)
            found.extend(_split_list(guide.name, key, match.group("list"), match.group(0)))
        body = pattern.sub(lambda m: " " * len(m.group(0)), body)
    return found, body


def heading_citations(guide: Guide, primary: str | None) -> list[tuple[int, Citation, str]]:
    out = []
    for lineno, match in heading_matches(guide):
        act = _act_key(match.group("act"), guide.name) if match.group("act") else primary
        if act is None:
            raise AssertionError(f"{guide.name}:{lineno}: section heading but the guide cites no Act")
        out.append((lineno, Citation(guide.name, act, match.group("sec"), (), match.group(0)), match.group("title")))
    return out


def primary_act(citations: list[Citation]) -> str | None:
    """The Act a guide cites most: the Act of its bare ``## Section N — ...`` headings."""
    counts = Counter(c.act for c in citations)
    return counts.most_common(1)[0][0] if counts else None


def heading_key(text: str) -> str:
    """Comparable form of a heading: case, spacing and punctuation ignored ("Children’s" = "Childrens")."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def plain(text: str) -> str:
    """Words only, space-padded, amendment markers (``^1``, ``*``) dropped: for finding a phrase in an Act."""
    text = re.sub(r"\^\d+|\*", " ", text)
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return f" {text.strip()} "


# Periods, ages and amounts stated in a sentence, checked against the provisions it cites.
_NUMBER = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|sixteen|eighteen|"
    r"twenty(?:-(?:one|four|five))?|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|\d+)"
)
AMOUNT = re.compile(
    rf"\b(?P<a>{_NUMBER})(?:\s+(?:to|or)\s+(?P<b>{_NUMBER}))?\s+(?:more\s+)?"
    r"(?:hours?|days?|months?|years?|lakh|thousand)\b",
    re.I,
)


_NUMBER_FORMS = {  # the Acts write the same number as a word, in digits or as an ordinal
    "six": ("6", "sixth"), "seven": ("7", "seventh"), "twelve": ("12", "twelfth"), "fourteen": ("14", "fourteenth"),
    "sixteen": ("16", "sixteenth"), "eighteen": ("18", "eighteenth"), "twenty-one": ("21", "twenty first"),
}


def number_forms(number: str) -> set[str]:
    """``"eighteen"`` -> {"eighteen", "18", "eighteenth"}, as :func:`plain` text."""
    word = number.lower()
    forms = {word, *_NUMBER_FORMS.get(word, ())}
    forms |= {w for w, alts in _NUMBER_FORMS.items() if word in alts}
    return {f.replace("-", " ") for f in forms}


def sentences(body: str) -> list[tuple[str, str]]:
    """(sentence, its line) outside headings; list items and table rows are lines of their own."""
    out: list[tuple[str, str]] = []
    for line in body.splitlines():
        if not line.startswith("#"):
            out += [(sentence, line) for sentence in re.split(r"(?<=[.;])\s+(?=[A-Z*(])", line)]
    return out
