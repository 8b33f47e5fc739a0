"""Readers for the real Act texts in ``../shared/sources``, used to check the shipped guides.

Acts come from the India Code Markdown (``## Section N - Heading.`` blocks). The Child and
Adolescent Labour Act has no section headings there (its file is page text), so its section
numbers and headings are read from the arrangement of sections at the top of the text. The
repealed codes (IPC, CrPC, Indian Evidence Act) come from their JSON, whose clause labels were
stripped, so sub-section labels are not checked for them.

    >>> texts = ActTexts(Path("../shared/sources"))
    >>> texts.section("pocso", "19").heading
    'Reporting of offences'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

MD_FOLDERS = {
    "pocso": "the-protection-of-children-from-sexual-offences-act-2012",
    "it": "the-information-technology-act-2000",
    "jj": "the-juvenile-justice-care-and-protection-of-children-act-2015",
    "rte": "the-right-of-children-to-free-and-compulsory-education-act-2009",
    "clpra": "the-child-and-adolescent-labour-prohibition-and-regulation-act-1986",
    "pcma": "the-prohibition-of-child-marriage-act-2006",
    "bns": "the-bharatiya-nyaya-sanhita-2023",
    "bnss": "the-bharatiya-nagarik-suraksha-sanhita-2023",
    "bsa": "the-bharatiya-sakshya-adhiniyam-2023",
    "cpcr": "the-commissions-for-protection-of-child-rights-act-2005",
    "itpa": "the-immoral-traffic-prevention-act-1956",
    "dpdp": "the-digital-personal-data-protection-act-2023",
    "irwa": "the-indecent-representation-of-women-prohibition-act-1986",
    "pwdva": "the-protection-of-women-from-domestic-violence-act-2005",
}
JSON_CODES = {"ipc": "ipc.json", "crpc": "crpc.json", "iea": "iea.json"}
PAGE_TEXT_ACTS = frozenset({"clpra"})  # no "## Section" blocks: arrangement list + page text

_MD_SECTION = re.compile(r"^## Section (\S+?) - (.*)$", re.M)
# Arrangement entries of the page-text Act: "14A. Offences to be Congnizable." at a line start.
_ARRANGEMENT_ENTRY = re.compile(r"^(\d+[A-Z]?)\. (.+)$", re.M)


@dataclass(frozen=True)
class ActSection:
    act: str
    number: str
    heading: str
    text: str  # the section body; for page-text Acts, the whole Act text


class ActTexts:
    """Sections of the real Acts, keyed by act key, in the order the Act prints them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def _acts(self) -> dict[str, dict[str, ActSection]]:
        acts = {key: self._read_markdown(key) for key in MD_FOLDERS}
        acts.update({key: self._read_json(key) for key in JSON_CODES})
        return acts

    def known(self, act: str) -> bool:
        return act in self._acts

    def sections(self, act: str) -> dict[str, ActSection]:
        return self._acts[act]

    def section(self, act: str, number: str) -> ActSection | None:
        return self._acts.get(act, {}).get(number)

    def full_text(self, act: str) -> str:
        if act in JSON_CODES:
            return "\n".join(s.heading + "\n" + s.text for s in self._acts[act].values())
        return self._markdown(act)

    def _markdown(self, act: str) -> str:
        folder = self.root / "indiacode-md" / MD_FOLDERS[act]
        return "\n".join(p.read_text("utf-8") for p in sorted(folder.glob("part-*.md")))

    def front_matter_source(self, act: str) -> str:
        """The India Code address in the first part's front matter (``source: "..."``)."""
        match = re.search(r'^source:\s*"([^"]+)"', self._markdown(act), re.M)
        if match is None:
            raise KeyError(f"{act}: no source line in the Markdown front matter")
        return match.group(1)

    def listed_urls(self, act: str) -> set[str]:
        """Addresses in the bare-act page's "Sources:" list (``- html: ...``, ``- pdf: ...``)."""
        return set(re.findall(r"^- (?:html|pdf): (\S+)$", self._markdown(act), re.M))

    def _read_markdown(self, act: str) -> dict[str, ActSection]:
        text = self._markdown(act)
        if act in PAGE_TEXT_ACTS:
            return self._read_arrangement(act, text)
        found: dict[str, ActSection] = {}
        heads = list(_MD_SECTION.finditer(text))
        for head, nxt in zip(heads, [*heads[1:], None]):
            body = text[head.end(): nxt.start() if nxt else len(text)]
            body = body.split("### Footnotes", 1)[0]
            number = head.group(1)
            found[number] = ActSection(act, number, head.group(2).strip().rstrip("."), body)
        return found

    @staticmethod
    def _read_arrangement(act: str, text: str) -> dict[str, ActSection]:
        # The arrangement of sections ends where the enacted text starts (page 2).
        arrangement = text.split("## Page 2", 1)[0]
        found: dict[str, ActSection] = {}
        for entry in _ARRANGEMENT_ENTRY.finditer(arrangement):
            number = entry.group(1)
            found[number] = ActSection(act, number, entry.group(2).strip().rstrip("."), text)
        return found

    def _read_json(self, act: str) -> dict[str, ActSection]:
        rows = json.loads((self.root / "ipc-crpc-iea-json" / JSON_CODES[act]).read_text("utf-8"))
        found: dict[str, ActSection] = {}
        for row in rows:
            number = str(row.get("Section", row.get("section"))).strip()
            found[number] = ActSection(act, number, row["section_title"].strip(), row["section_desc"])
        return found


@pytest.fixture(scope="session")
def act_texts(shared_sources: Path) -> ActTexts:
    return ActTexts(shared_sources)
