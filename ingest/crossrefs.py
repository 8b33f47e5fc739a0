"""The provisions a statutory text refers to, as provision keys (``act:section``).

Recognised: ``section 28``, ``Section 70B``, ``sections 3 and 5``, ``sections 3, 5 or 7``,
``sections 5 to 7`` (expanded to 5, 6, 7 for plain numbers), ``section 2(1)(d)``, ``clause (d) of
sub-section (1) of section 2`` (the section is what is keyed). A reference followed by
``of this Act/Sanhita/Code/Adhiniyam`` or by nothing points into the text's own Act; one followed by
``of the <Name> Act[, YEAR]`` points into that Act when the registry (``kb/data/acts.toml``) knows
the name and, if a year is given, the year matches (the Juvenile Justice Act, 2000 is not the JJ
Act, 2015 we hold). References into unknown Acts and unresolvable ones (``of the said Code``,
``of that Act``) are dropped rather than guessed. Whether a key names a provision that exists is
for the caller to check against its store.

    >>> find_cross_refs("as defined in sections 3 and 5 of this Act", "pocso")
    ['pocso:3', 'pocso:5']
"""

from __future__ import annotations

import re

from kb.acts import ActInfo, act_for_title, find_act

_NUMBER = r"\d{1,3}[A-Z]{0,3}(?:\s?\((?:\d{1,3}[A-Z]?|[a-z]{1,4})\))*"
_SECTION_REF = re.compile(
    rf"(?<![\w-])(?i:sections?)\s*(?P<list>{_NUMBER}(?:\s*(?:,\s*(?:and|or)?|and|or|to|and/or)\s*{_NUMBER})*)"
)
_LIST_TOKEN = re.compile(r"(\d{1,3}[A-Z]{0,3})|\bto\b")
_JOINERS = {"of", "and", "the", "for", "from", "to", "in", "on", "with", "&"}
_NAME_TOKEN = r"(?:\(?[A-Z][\w'\u2019.&-]*\)?|of|and|the|for|from|to|in|on|with|&)"
_OTHER_ACT = re.compile(rf"\s*,?\s*of\s+the\s+(?P<name>{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})*)(?:\s*,?\s*(?P<year>\d{{4}}))?")
_OWN_ACT = re.compile(r"\s*,?\s*of\s+this\s+(?:Act|Sanhita|Code|Adhiniyam|Ordinance)\b", re.I)
_OF_SOMETHING = re.compile(r"\s*,?\s*of\s+(?:the|that|said|Act\b)", re.I)
_ACT_WORDS = ("Act", "Code", "Sanhita", "Adhiniyam")
# Only a bare comma chains ("..., 376E, section 509 of the Indian Penal Code"); "..., and section
# 67B of the IT Act" names a new Act for the last reference only.
_CHAIN = re.compile(r"\s*,\s*")
_MAX_RANGE = 50


def find_cross_refs(text: str, act_key: str | None) -> list[str]:
    """Provision keys (``act:section``) that ``text`` refers to, deduplicated, in order.

    A reference followed by ``of the <Act>[, YEAR]`` points into that Act when the registry knows
    it (and the year, if given, matches); references into unknown Acts are dropped, and so are
    references to the own Act when ``act_key`` is None.

        >>> find_cross_refs("clause (f) of section 2 of the Protection of Women from Domestic Violence Act, 2005", "pocso")
        ['pwdva:2']
    """
    keys: list[str] = []
    matches = list(_SECTION_REF.finditer(text))
    targets: list[str | None] = [None] * len(matches)
    # Resolve right to left: in "sections 354A, 354B, section 509 of the Indian Penal Code" the
    # Act named after the last reference applies to the whole run of references before it.
    for i in range(len(matches) - 1, -1, -1):
        gap_end = matches[i + 1].start() if i + 1 < len(matches) else None
        if gap_end is not None and _CHAIN.fullmatch(text, matches[i].end(), gap_end):
            targets[i] = targets[i + 1]
        else:
            targets[i] = _target_act(text, matches[i].end(), act_key)
    for match, target in zip(matches, targets, strict=True):
        if target is None:
            continue
        for section in _expand(match.group("list")):
            key = f"{target}:{section}"
            if key not in keys:
                keys.append(key)
    return keys


def _expand(listing: str) -> list[str]:
    """``3, 5 and 7`` -> [3, 5, 7]; ``5 to 7`` -> [5, 6, 7] (plain numbers only; else the ends)."""
    sections: list[str] = []
    pending_range = False
    for token in _LIST_TOKEN.finditer(re.sub(r"\([^)]*\)", " ", listing)):
        if token.group(1) is None:
            pending_range = True
            continue
        number = token.group(1)
        if pending_range and sections and sections[-1].isdigit() and number.isdigit():
            low, high = int(sections[-1]), int(number)
            if 0 < high - low <= _MAX_RANGE:
                sections.extend(str(n) for n in range(low + 1, high))
        sections.append(number)
        pending_range = False
    return sections


def _target_act(text: str, position: int, act_key: str | None) -> str | None:
    if _OWN_ACT.match(text, position):
        return act_key
    other = _OTHER_ACT.match(text, position)
    if other:
        act = _resolve_act_name(other.group("name"), other.group("year"))
        return act.key if act else None
    if _OF_SOMETHING.match(text, position):
        return None  # "of the said Code", "of that Act", "of Act 10 of 2009": not resolvable
    return act_key


def _resolve_act_name(name: str, year: str | None) -> ActInfo | None:
    words = name.split()
    while words and words[-1] in _JOINERS:
        words.pop()
    candidates = [(" ".join(words), year)]
    for i in range(len(words) - 1, 0, -1):  # "Indian Penal Code and the Code of ..." -> "Indian Penal Code"
        if words[i - 1].rstrip(")") in _ACT_WORDS:
            candidates.append((" ".join(words[:i]), None))
    for candidate, candidate_year in candidates:
        if not any(candidate.rstrip(")").endswith(w) or f"{w} " in candidate for w in _ACT_WORDS):
            continue
        act = find_act(candidate) or act_for_title(candidate)
        if act is None:
            continue
        if candidate_year and act.year and int(candidate_year) != act.year:
            return None  # e.g. the Juvenile Justice Act, 2000: an older Act than the one we hold
        return act
    return None
