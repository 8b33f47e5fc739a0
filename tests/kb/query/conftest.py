"""Readers for the real legal texts in ``../shared/sources``, used to check the query data files.

The Acts are read from the India Code Markdown (``## Section N - Heading.`` blocks) and the
repealed codes (IPC, CrPC, Indian Evidence Act) from their JSON. Nothing here is copied into the
project; tests that use these readers skip when the sources are absent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

MD_FOLDERS = {
    "bns": "the-bharatiya-nyaya-sanhita-2023",
    "bnss": "the-bharatiya-nagarik-suraksha-sanhita-2023",
    "bsa": "the-bharatiya-sakshya-adhiniyam-2023",
    "pocso": "the-protection-of-children-from-sexual-offences-act-2012",
    "it": "the-information-technology-act-2000",
    "jj": "the-juvenile-justice-care-and-protection-of-children-act-2015",
    "rte": "the-right-of-children-to-free-and-compulsory-education-act-2009",
    "clpra": "the-child-and-adolescent-labour-prohibition-and-regulation-act-1986",
    "cpcr": "the-commissions-for-protection-of-child-rights-act-2005",
    "pcma": "the-prohibition-of-child-marriage-act-2006",
    "itpa": "the-immoral-traffic-prevention-act-1956",
    "dpdp": "the-digital-personal-data-protection-act-2023",
    "irwa": "the-indecent-representation-of-women-prohibition-act-1986",
    "pwdva": "the-protection-of-women-from-domestic-violence-act-2005",
}
JSON_CODES = ("ipc", "crpc", "iea")

_SECTION = re.compile(r"^## Section (\S+?) - (.*)$", re.M)
# Inserted or substituted text starts with an amendment marker: "^1[(w) ...", "[(da) ...".
_AMENDED = r"(?:\^\d+\s*)?\[?"
# Labels open paragraphs; a "(4)" at the start of a wrapped line inside a paragraph is a reference.
_PARAGRAPH = r"(?:\A\s*|\n[ \t]*\n[ \t]*)"


@dataclass(frozen=True)
class SourceSection:
    act: str
    number: str
    heading: str
    text: str

    def unit(self, path: str) -> str:
        """The text of sub-section/clause ``path`` ("(1)", "(1)(a)"); the whole text for ""."""
        text = self.text
        for label in re.findall(r"\([^()]+\)", path):
            text = _narrow(text, label, self)
        return text


def _narrow(text: str, label: str, where: SourceSection) -> str:
    start = re.search(rf"{_PARAGRAPH}{_AMENDED}{re.escape(label)}\s", text)
    if start is None:
        raise KeyError(f"{where.act} s. {where.number}: no {label} in the source text")
    rest = text[start.end():]
    end = re.search(rf"{_PARAGRAPH}{_AMENDED}{_sibling_pattern(label)}\s", rest)
    return text[start.start(): start.end() + (end.start() if end else len(rest))]


def _sibling_pattern(label: str) -> str:
    """Labels that may follow ``label`` at the same level: "(2)"/"(2A)" after "(1)"; "(e)" after "(da)".

    Roman numerals ("(i)", "(v)") mark sub-clauses inside a clause, so they end a clause only when
    they are its next letter ("(i)" after "(h)").
    """
    inner = label[1:-1]
    if inner[0].isdigit():
        return r"\(\d+[A-Z]?\)"
    expected = chr(ord(inner[0]) + 1)
    return rf"\((?:{expected}|(?![ivx]+\))[a-z]{{1,2}})\)"


class LegalTexts:
    """Sections of the real Acts, keyed by act key and section number."""

    md_keys = tuple(MD_FOLDERS)  # Acts available as Markdown

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def sections(self) -> dict[str, dict[str, SourceSection]]:
        acts: dict[str, dict[str, SourceSection]] = {}
        for key, folder in MD_FOLDERS.items():
            acts[key] = self._read_markdown(key, self.root / "indiacode-md" / folder)
        for key in JSON_CODES:
            acts[key] = self._read_json(key, self.root / "ipc-crpc-iea-json" / f"{key}.json")
        return acts

    def act_text(self, key: str) -> str:
        """All text of one Act (headings and bodies); the Child Labour Act is page text only."""
        folder = self.root / "indiacode-md" / MD_FOLDERS[key]
        return "\n".join(p.read_text("utf-8") for p in sorted(folder.glob("part-*.md")))

    def get(self, act: str, number: str) -> SourceSection:
        try:
            return self.sections[act][number]
        except KeyError:
            raise KeyError(f"{act} s. {number} not found in the real sources") from None

    @staticmethod
    def _read_markdown(key: str, folder: Path) -> dict[str, SourceSection]:
        found: dict[str, SourceSection] = {}
        for part in sorted(folder.glob("part-*.md")):
            text = part.read_text("utf-8")
            heads = list(_SECTION.finditer(text))
            for head, nxt in zip(heads, [*heads[1:], None]):
                body = text[head.end(): nxt.start() if nxt else len(text)]
                body = body.split("### Footnotes", 1)[0]
                found[head.group(1)] = SourceSection(key, head.group(1), head.group(2).strip(), body)
        return found

    @staticmethod
    def _read_json(key: str, path: Path) -> dict[str, SourceSection]:
        rows = json.loads(path.read_text("utf-8"))
        found = {}
        for row in rows:
            number = str(row.get("Section", row.get("section"))).strip()
            found[number] = SourceSection(key, number, row["section_title"].strip(), row["section_desc"])
        return found


@pytest.fixture(scope="session")
def legal_texts(shared_sources: Path) -> LegalTexts:
    return LegalTexts(shared_sources)
