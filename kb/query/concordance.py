"""Old criminal codes -> their 2023 successors, read from ``data/concordance.tsv``.

The Indian Penal Code, the Code of Criminal Procedure and the Indian Evidence Act were replaced
by the Bharatiya Nyaya Sanhita (BNS), the Bharatiya Nagarik Suraksha Sanhita (BNSS) and the
Bharatiya Sakshya Adhiniyam (BSA). Users still cite the old numbers, so a query for "IPC 354D"
must also find BNS s. 78. Every row of the table was checked against both texts; a section that
is not in the table has no known successor here (never guess one).

    >>> [e.new_citation for e in successor("ipc", "354D")]
    ['BNS s. 78']
    >>> [e.old_citation for e in predecessor("bns", "65(1)")]
    ['IPC s. 376(3)']
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from kb.acts import find_act
from kb.errors import ConfigError

DATA_FILE = "data/concordance.tsv"
COLUMNS = ("old_act", "old_section", "new_act", "new_section", "subject", "note")
_ABBREV = {"ipc": "IPC", "crpc": "CrPC", "iea": "Evidence Act", "bns": "BNS", "bnss": "BNSS", "bsa": "BSA"}
# "376", "354D", "376AB", optionally followed by a sub-section/clause path "(3)", "(1)(a)".
_SECTION = re.compile(r"^(?P<base>\d+[A-Z]{0,2})(?P<path>(?:\([0-9a-z]+\))*)$")


@dataclass(frozen=True)
class ConcordanceEntry:
    """One old provision and the new provision that replaced it.

    ``old_section``/``new_section`` may include a sub-section path, e.g. ``376(3)`` -> ``65(1)``.

        >>> entry = successor("crpc", "154")[0]
        >>> (entry.new_act, entry.new_section, entry.subject)
        ('bnss', '173', 'Information in cognizable cases (FIR)')
    """

    old_act: str
    old_section: str
    new_act: str
    new_section: str
    subject: str
    note: str = ""

    @property
    def old_citation(self) -> str:
        return f"{_ABBREV.get(self.old_act, self.old_act)} s. {self.old_section}"

    @property
    def new_citation(self) -> str:
        return f"{_ABBREV.get(self.new_act, self.new_act)} s. {self.new_section}"

    @property
    def new_base_section(self) -> str:
        """The new section number without its sub-section path (``65(1)`` -> ``65``)."""
        return split_section(self.new_section)[0]

    @property
    def new_subsection(self) -> str | None:
        return split_section(self.new_section)[1]

    def describe(self) -> str:
        """A sentence for users: ``IPC s. 354D is now Bharatiya Nyaya Sanhita s. 78 (Stalking).``"""
        act = find_act(self.new_act)
        name = act.short_name if act else self.new_act
        text = f"{self.old_citation} is now {name} s. {self.new_section} ({self.subject})."
        return f"{text} {self.note}" if self.note else text


@lru_cache(maxsize=4096)
def split_section(section: str) -> tuple[str, str | None]:
    """``"376(3)"`` -> ``("376", "(3)")``; ``"354d"`` -> ``("354D", None)``.

    Raises ValueError naming the value when it is not a section number.
    """
    cleaned = re.sub(r"\s+", "", section)
    base = re.match(r"\d+[A-Za-z]{0,2}", cleaned)
    if base is None:
        raise ValueError(f"not a section number: {section!r}")
    cleaned = base.group(0).upper() + cleaned[base.end():].lower()
    match = _SECTION.match(cleaned)
    if match is None:
        raise ValueError(f"not a section number: {section!r}")
    return match.group("base"), match.group("path") or None


@lru_cache(maxsize=1)
def entries() -> tuple[ConcordanceEntry, ...]:
    """All rows of the concordance table, validated."""
    text = resources.files("kb").joinpath(DATA_FILE).read_text("utf-8")
    return tuple(parse_table(text, source=DATA_FILE))


def parse_table(text: str, *, source: str) -> list[ConcordanceEntry]:
    """Parse the TSV (``#`` lines are comments). Raises ConfigError naming file, line and field."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not lines or tuple(lines[0][1].split("\t")) != COLUMNS:
        raise ConfigError(f"{source}: header must be {' | '.join(COLUMNS)}", path=source)
    rows = []
    for (number, line), cells in zip(lines[1:], csv.reader([l for _, l in lines[1:]], delimiter="\t")):
        if len(cells) != len(COLUMNS):
            raise ConfigError(f"{source}:{number}: expected {len(COLUMNS)} columns, got {len(cells)}", line=line)
        row = dict(zip(COLUMNS, (c.strip() for c in cells)))
        _validate_row(row, source=source, number=number)
        rows.append(ConcordanceEntry(**row))
    return rows


def _validate_row(row: dict[str, str], *, source: str, number: int) -> None:
    for field in ("old_act", "new_act"):
        if find_act(row[field]) is None:
            raise ConfigError(f"{source}:{number}: unknown act in {field}: {row[field]!r}", value=row[field])
    for field in ("old_section", "new_section"):
        try:
            base, path = split_section(row[field])
        except ValueError:
            raise ConfigError(f"{source}:{number}: bad {field}: {row[field]!r}", value=row[field]) from None
        if f"{base}{path or ''}" != row[field]:
            raise ConfigError(f"{source}:{number}: {field} {row[field]!r} is not in canonical form", value=row[field])
    if not row["subject"]:
        raise ConfigError(f"{source}:{number}: empty subject", value=row)


def _matches(stored: str, section: str) -> bool:
    """True when a query for ``section`` should return a row stored under ``stored``.

    A whole section ("376") matches its sub-section rows ("376(3)"); a sub-section query
    ("376(3)") matches its own row and the whole-section row ("376").
    """
    q_base, q_path = split_section(section)
    s_base, s_path = split_section(stored)
    if q_base != s_base:
        return False
    return q_path is None or s_path is None or s_path.startswith(q_path) or q_path.startswith(s_path)


def successor(act_key: str, section: str) -> list[ConcordanceEntry]:
    """New provisions replacing ``act_key`` s. ``section``; empty when unknown or not repealed."""
    act = find_act(act_key)
    if act is None:
        return []
    return [e for e in entries() if e.old_act == act.key and _matches(e.old_section, section)]


def predecessor(new_act: str, new_section: str) -> list[ConcordanceEntry]:
    """Old provisions that ``new_act`` s. ``new_section`` replaced."""
    act = find_act(new_act)
    if act is None:
        return []
    return [e for e in entries() if e.new_act == act.key and _matches(e.new_section, new_section)]


def lookup(act_key: str, section: str) -> list[ConcordanceEntry]:
    """Successors of an old-code section, or predecessors of a new-code section.

        >>> [e.new_citation for e in lookup("ipc", "354D")]
        ['BNS s. 78']
    """
    act = find_act(act_key)
    if act is None:
        return []
    if act.repealed_by:
        return successor(act.key, section)
    return predecessor(act.key, section)
