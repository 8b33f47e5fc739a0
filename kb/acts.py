"""The registry of Acts: short keys, citation names and aliases, read from ``data/acts.toml``.

    >>> from kb.acts import resolve_act
    >>> resolve_act("Juvenile Justice Act").key
    'jj'
    >>> resolve_act("IT Act").short_name
    'Information Technology Act'
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from kb.errors import NotFoundError


@dataclass(frozen=True)
class ActInfo:
    key: str
    title: str
    short_name: str
    year: int | None
    act_number: str | None = None
    doc_type: str = "act"
    repealed_by: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    title_match: tuple[str, ...] = field(default_factory=tuple)


def _norm(text: str) -> str:
    text = text.lower().replace("&", "and")
    text = re.sub(r"[^\w()\s]", " ", text)
    text = re.sub(r"\bthe\b", " ", text)
    text = re.sub(r",?\s*\b(18|19|20)\d\d\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=1)
def registry() -> dict[str, ActInfo]:
    raw = tomllib.loads(resources.files("kb").joinpath("data/acts.toml").read_text("utf-8"))
    acts = {}
    for key, row in raw.items():
        acts[key] = ActInfo(
            key=key,
            title=row["title"],
            short_name=row["short_name"],
            year=row.get("year"),
            act_number=row.get("act_number"),
            doc_type=row.get("doc_type", "act"),
            repealed_by=row.get("repealed_by"),
            aliases=tuple(row.get("aliases", ())),
            title_match=tuple(row.get("title_match", ())),
        )
    return acts


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for act in registry().values():
        for name in (act.key, act.title, act.short_name, *act.aliases):
            index.setdefault(_norm(name), act.key)
    return index


def find_act(name: str) -> ActInfo | None:
    """The Act a key, title or alias names, or None."""
    if not name:
        return None
    acts = registry()
    if name.lower() in acts:
        return acts[name.lower()]
    key = _alias_index().get(_norm(name))
    return acts[key] if key else None


def resolve_act(name: str) -> ActInfo:
    """Like :func:`find_act` but raises :class:`NotFoundError` naming the unknown value."""
    act = find_act(name)
    if act is None:
        raise NotFoundError(f"unknown act {name!r}; known keys: {', '.join(sorted(registry()))}", act=name)
    return act


def act_for_title(title: str) -> ActInfo | None:
    """Identify an Act from a document title such as 'The Information Technology Act, 2000'."""
    lowered = title.lower()
    for act in registry().values():
        if any(fragment in lowered for fragment in act.title_match):
            return act
    return find_act(title)


def alias_patterns() -> list[tuple[str, str]]:
    """(alias, key) pairs, longest first, for detecting Act names inside free text."""
    pairs = {(_norm(a), act.key) for act in registry().values() for a in (act.short_name, *act.aliases)}
    return sorted(pairs, key=lambda p: -len(p[0]))
