"""Lay language -> the words the Acts use, from the reviewed table ``data/expansions.toml``.

Users write "CSAM", "FIR" or "beat students"; the Acts say "child pornography", "information in
cognizable cases", "physical punishment". Adding the statutory phrases to the keyword query lets
BM25 reach provisions that share no word with the question.

    >>> result = expand("punishment for storing CSAM")
    >>> "child pornography" in result.terms_added
    True
    >>> ("csam", "child pornography") in result.matched
    True
    >>> expand("section 19").terms_added
    []
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from kb.acts import find_act
from kb.errors import ConfigError

DATA_FILE = "data/expansions.toml"
# The keyword query must stay focused: past this many added phrases, later ones are dropped.
MAX_TERMS = 16


@dataclass(frozen=True)
class ExpansionRule:
    """One reviewed entry of the table."""

    id: str
    terms: tuple[str, ...]
    expand_to: tuple[str, ...]
    acts: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Expansion:
    """What :func:`expand` found in a query.

    ``terms_added``: statutory phrases to add, in table order, without duplicates and without
    phrases the query already contains. ``matched``: (lay phrase as written in the table, legal
    phrase) for every added phrase. ``text``: ``terms_added`` joined for a keyword query.
    ``acts``: the Acts the matched entries point to (a hint, never a filter).

        >>> expand("how to file an FIR").text
        'information in cognizable cases first information report first information'
    """

    terms_added: list[str] = field(default_factory=list)
    matched: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    acts: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # ids of the entries that matched


def _term_regex(term: str) -> str:
    """Word-bounded, spaces match hyphens too, the last word may take a plural ending."""
    words = [re.escape(w) for w in re.split(r"[\s\-]+", term.strip())]
    return r"(?<![\w])" + r"[\s\-]+".join(words) + r"(?:s|es)?(?![\w])"


def _string_list(entry: dict, name: str, where: str, *, required: bool = True) -> tuple[str, ...]:
    value = entry.get(name, [] if not required else None)
    if not isinstance(value, list) or (required and not value):
        raise ConfigError(f"{where}: '{name}' must be a non-empty list of strings", field=name, value=value)
    cleaned = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where}: '{name}' holds a blank or non-text item {item!r}", field=name, value=item)
        cleaned.append(item.strip())
    return tuple(cleaned)


def parse_rules(data: dict, *, source: str) -> list[ExpansionRule]:
    """Validate the parsed TOML. Raises ConfigError naming the file, entry and field."""
    entries = data.get("expansion")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[expansion]] entries", path=source)
    rules: list[ExpansionRule] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, 1):
        rule_id = entry.get("id")
        where = f"{source}: expansion #{index} ({rule_id or 'no id'})"
        if not isinstance(rule_id, str) or not re.fullmatch(r"[a-z0-9_]+", rule_id) or rule_id in seen:
            raise ConfigError(f"{where}: 'id' must be a unique snake_case name", field="id", value=rule_id)
        seen.add(rule_id)
        acts = _string_list(entry, "acts", where, required=False)
        unknown = [a for a in acts if find_act(a) is None]
        if unknown:
            raise ConfigError(f"{where}: unknown act key(s) in 'acts': {unknown}", field="acts", value=unknown)
        note = entry.get("note")
        if not isinstance(note, str) or not note.strip():
            raise ConfigError(f"{where}: 'note' must explain the mapping", field="note", value=note)
        extra = set(entry) - {"id", "terms", "expand_to", "acts", "note"}
        if extra:
            raise ConfigError(f"{where}: unknown field(s) {sorted(extra)}", field=sorted(extra)[0])
        rules.append(
            ExpansionRule(
                id=rule_id,
                terms=tuple(t.lower() for t in _string_list(entry, "terms", where)),
                expand_to=_string_list(entry, "expand_to", where),
                acts=tuple(find_act(a).key for a in acts),  # type: ignore[union-attr]
                note=note.strip(),
            )
        )
    return rules


@lru_cache(maxsize=1)
def rules() -> tuple[ExpansionRule, ...]:
    """The validated table shipped with the package."""
    raw = resources.files("kb").joinpath(DATA_FILE).read_text("utf-8")
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{DATA_FILE}: not valid TOML: {err}", path=DATA_FILE) from err
    return tuple(parse_rules(data, source=DATA_FILE))


def _flat(text: str) -> str:
    """Lower case, hyphens as spaces, single spaces: the form used for the quick substring test."""
    return re.sub(r"[\s\-]+", " ", text.lower())


@dataclass(frozen=True)
class _Compiled:
    rule: ExpansionRule
    terms: tuple[str, ...]  # longest first
    flat_terms: tuple[str, ...]
    pattern: re.Pattern[str]  # group ``t<i>`` names which term matched


@lru_cache(maxsize=1)
def _compiled() -> tuple[_Compiled, ...]:
    compiled = []
    for rule in rules():
        terms = tuple(sorted(rule.terms, key=len, reverse=True))
        pattern = "|".join(f"(?P<t{i}>{_term_regex(term)})" for i, term in enumerate(terms))
        compiled.append(_Compiled(rule, terms, tuple(_flat(t) for t in terms), re.compile(pattern, re.I)))
    return tuple(compiled)


def _candidates(query: str) -> list[_Compiled]:
    """Entries with a term occurring as a substring; only these need the word-boundary regex."""
    flat = _flat(query)
    return [entry for entry in _compiled() if any(term in flat for term in entry.flat_terms)]


def _contains(text: str, phrase: str) -> bool:
    return re.search(_term_regex(phrase), text, re.I) is not None


def expand(query: str) -> Expansion:
    """Statutory phrases for the lay phrases in ``query`` (see :class:`Expansion`)."""
    added: list[str] = []
    matched: list[tuple[str, str]] = []
    acts: list[str] = []
    hit_rules: list[str] = []
    for entry in _candidates(query):
        found = entry.pattern.search(query)
        if found is None:
            continue
        rule, lay = entry.rule, entry.terms[int(found.lastgroup[1:])]  # type: ignore[index]
        hit_rules.append(rule.id)
        acts.extend(a for a in rule.acts if a not in acts)
        for legal in rule.expand_to:
            if len(added) >= MAX_TERMS or legal.lower() in (a.lower() for a in added) or _contains(query, legal):
                continue
            added.append(legal)
            matched.append((lay, legal))
    return Expansion(terms_added=added, matched=matched, text=" ".join(added), acts=acts, rules=hit_rules)
