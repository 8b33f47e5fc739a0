"""Find the names of Acts inside free text ("under the JJ Act", "IPC", "Cr.P.C.").

Names come from the registry (``kb/data/acts.toml``: short names and aliases). Two kinds of
mention are told apart because users type them differently:

* a **strong** mention names an Act unmistakably: an abbreviation ("POCSO", "BNSS") or a name
  carrying "Act", "Code", "Sanhita", "Adhiniyam", "Rules" ("Juvenile Justice Act");
* a **weak** mention is an everyday phrase that is also an alias ("child labour", "juvenile
  justice"); it names the Act only when glued to a section number ("section 3 of child labour").

"it" is an English word, so the Information Technology Act is recognised only as "IT Act" /
"I.T. Act" (any case of "act"), as "it act" after "of/under/in/the/per" or a section number, or
as a capitalised bare "IT" right next to a section number (``adjacent_only``).

    >>> [(m.act_key, m.strong) for m in find_mentions("punishment under the JJ Act, 2015 and IPC")]
    [('jj', True), ('ipc', True)]
    >>> find_mentions("is it an offence")
    []
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kb.acts import registry

# Words that make an alias name an Act rather than a topic.
_STRONG_WORDS = {"act", "code", "sanhita", "adhiniyam", "rules", "guidelines"}
# Aliases starting with the word "it" are handled by hand below: "it" is an English word.
_HAND_MADE = re.compile(r"i\.?t\.?(?:\s|$|\()")
_YEAR = r"(?:\s*,?\s*(?:of\s+)?(?:18|19|20)\d\d\b)?"
_CONTEXT_BEFORE = re.compile(r"(?:\b(?:of|under|in|the|per|u/s)|\d[A-Za-z]{0,2}\)?)\s+$", re.I)


@dataclass(frozen=True)
class ActMention:
    """An Act named in text. ``span`` includes a trailing year ("POCSO Act, 2012")."""

    act_key: str
    span: tuple[int, int]
    raw: str
    strong: bool
    adjacent_only: bool = False  # a bare "IT": counts only right beside a section number


def _alias_regex(alias: str) -> str:
    """Regex for one alias: dots optional ("Cr.P.C." = "CrPC" = "Cr P C"), any spacing."""
    parts = []
    for ch in alias.strip().lower():
        if ch == ".":
            parts.append(r"\.?\s*")
        elif ch.isspace():
            parts.append(r"[\s\-]+")
        else:
            parts.append(re.escape(ch))
    pattern = "".join(parts)
    return pattern[: -len(r"\s*")] if pattern.endswith(r"\.?\s*") else pattern


def _is_strong(alias: str) -> bool:
    words = re.findall(r"[a-z]+", alias.lower())
    return bool(_STRONG_WORDS.intersection(words)) or " " not in alias.strip()


@lru_cache(maxsize=1)
def _generic_patterns() -> list[tuple[str, str, bool]]:
    """(regex, act_key, strong) for every registry name, longest alias first."""
    rows: dict[str, tuple[str, str, bool]] = {}
    for act in registry().values():
        for alias in (act.short_name, *act.aliases):
            key = alias.strip().lower()
            if _HAND_MADE.match(key):
                continue
            rows.setdefault(key, (_alias_regex(key), act.key, _is_strong(key)))
    return [rows[k] for k in sorted(rows, key=len, reverse=True)]


@lru_cache(maxsize=1)
def _generic_regex() -> re.Pattern[str]:
    alternatives = "|".join(f"(?P<a{i}>{rx})" for i, (rx, _, _) in enumerate(_generic_patterns()))
    return re.compile(rf"(?<![\w.])(?:{alternatives}){_YEAR}(?![\w])", re.I)


# "IT Act" / "IT Rules", written by hand (see module docstring); the full names are generic.
_IT_ABBREV = re.compile(rf"(?<![\w.])(?P<it>I\.?T\.?|it)(?P<tail>\s+(?:act|rules))?{_YEAR}(?![\w])", re.I)


def _it_mentions(text: str) -> list[ActMention]:
    found = []
    for m in _IT_ABBREV.finditer(text):
        it, tail = m.group("it"), m.group("tail")
        capital = it.replace(".", "") == "IT"
        key = "it_rules" if tail and tail.strip().lower() == "rules" else "it"
        if tail and (capital or _CONTEXT_BEFORE.search(text[: m.start()])):
            found.append(ActMention(key, m.span(), m.group(0), strong=True))
        elif not tail and capital and it == "IT":
            found.append(ActMention("it", m.span(), m.group(0), strong=False, adjacent_only=True))
    return found


def find_mentions(text: str) -> list[ActMention]:
    """Every Act named in ``text``, left to right, without overlaps (longest wins)."""
    found = _it_mentions(text)
    patterns = _generic_patterns()
    for m in _generic_regex().finditer(text):
        index = next(int(name[1:]) for name, value in m.groupdict().items() if value is not None)
        _, key, strong = patterns[index]
        found.append(ActMention(key, m.span(), m.group(0), strong=strong))
    found.sort(key=lambda x: (x.span[0], -(x.span[1] - x.span[0])))
    kept: list[ActMention] = []
    for mention in found:
        if kept and mention.span[0] < kept[-1].span[1]:
            continue
        kept.append(mention)
    return kept
