"""The manifest of official sources (``corpus/sources.toml``): one ``[[source]]`` table per document.

Every entry is checked when the file is read, and a bad one is an error naming the file, the
entry (its key, or its position when the key itself is bad) and the field, so a typo such as
``audience = [...]`` is caught before anything is downloaded.

    >>> sources = load_manifest(Path("corpus/sources.toml"))           # doctest: +SKIP
    >>> sources[0].key, sources[0].format, sources[0].file_name         # doctest: +SKIP
    ('pocso', 'pdf', 'pocso.pdf')
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kb.errors import FetchError
from kb.models import AUDIENCES, DOC_TYPES

FORMATS = ("pdf", "html")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_REQUIRED = ("key", "title", "doc_type", "audiences", "url", "format")
_OPTIONAL = ("year", "act_number", "jurisdiction", "handle_url", "url_verified", "notes")


@dataclass(frozen=True)
class Source:
    """One official document the corpus can be filled from."""

    key: str
    title: str
    doc_type: str
    audiences: tuple[str, ...]
    url: str
    format: str
    url_verified: bool = True
    year: int | None = None
    act_number: str | None = None
    jurisdiction: str | None = None
    handle_url: str | None = None
    notes: str | None = None

    @property
    def file_name(self) -> str:
        """Name of the downloaded file: the key is restricted to ``[a-z0-9_]``, so it is a safe name."""
        return f"{self.key}.{self.format}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "audiences": list(self.audiences)}


def load_manifest(path: Path) -> list[Source]:
    """All sources in ``path``, in file order; raises :class:`FetchError` on the first bad entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as err:
        raise FetchError(f"{path}: cannot read the sources manifest ({err.strerror or err})", path=str(path)) from err
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise FetchError(f"{path}: not valid TOML: {err}", path=str(path)) from err
    extra = sorted(set(data) - {"source"})
    if extra:
        raise FetchError(f"{path}: only [[source]] tables are expected, found {extra}", path=str(path), field=extra[0])
    entries = data.get("source", [])
    if not isinstance(entries, list) or not entries:
        raise FetchError(f"{path}: no [[source]] entries", path=str(path))
    sources: list[Source] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        source = _source(entry, path, position)
        if source.key in seen:
            raise FetchError(f"{path}: source {source.key!r}: key is used twice", path=str(path), key=source.key, field="key")
        seen.add(source.key)
        sources.append(source)
    return sources


def select(sources: list[Source], only: list[str] | None, *, path: Path | str = "manifest") -> list[Source]:
    """The sources named in ``only`` (all when it is empty); an unknown key is an error listing the known ones."""
    if not only:
        return list(sources)
    known = {s.key for s in sources}
    unknown = [k for k in only if k not in known]
    if unknown:
        raise FetchError(f"{path}: no source with key {', '.join(map(repr, unknown))}; known keys: {', '.join(sorted(known))}",
                         key=unknown[0])
    wanted = set(only)
    return [s for s in sources if s.key in wanted]


def _source(entry: Any, path: Path, position: int) -> Source:
    where = f"{path}: source #{position}"
    if not isinstance(entry, dict):
        raise FetchError(f"{where}: expected a table, got {type(entry).__name__}", path=str(path))
    key = entry.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise FetchError(f"{where}: field 'key' must match [a-z][a-z0-9_]*, got {key!r}", path=str(path), field="key")
    where = f"{path}: source {key!r}"

    def bad(field: str, message: str) -> FetchError:
        return FetchError(f"{where}: field {field!r} {message}", path=str(path), key=key, field=field)

    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise bad(unknown[0], f"is not a known field (known: {', '.join(_REQUIRED + _OPTIONAL)})")
    for field in _REQUIRED:
        if field not in entry or entry[field] in ("", []):
            raise bad(field, "is missing")
    for field in ("title", "url", "doc_type", "format"):
        if not isinstance(entry[field], str):
            raise bad(field, f"must be a string, got {entry[field]!r}")
    if entry["doc_type"] not in DOC_TYPES:
        raise bad("doc_type", f"must be one of {', '.join(DOC_TYPES)}, got {entry['doc_type']!r}")
    audiences = entry["audiences"]
    if not isinstance(audiences, list) or any(a not in AUDIENCES for a in audiences):
        raise bad("audiences", f"must be a list drawn from {', '.join(AUDIENCES)}, got {audiences!r}")
    if entry["format"] not in FORMATS:
        raise bad("format", f"must be one of {', '.join(FORMATS)}, got {entry['format']!r}")
    for field in ("url", "handle_url"):
        if field in entry and not _looks_like_web_url(entry[field]):
            raise bad(field, f"must be an http(s) URL with a host, got {entry[field]!r}")
    verified = entry.get("url_verified", True)
    if not isinstance(verified, bool):
        raise bad("url_verified", f"must be true or false, got {verified!r}")
    year = entry.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise bad("year", f"must be an integer, got {year!r}")
    for field in ("act_number", "jurisdiction", "notes"):
        if field in entry and not isinstance(entry[field], str):
            raise bad(field, f"must be a string, got {entry[field]!r}")
    return Source(
        key=key, title=entry["title"], doc_type=entry["doc_type"], audiences=tuple(dict.fromkeys(audiences)),
        url=entry["url"], format=entry["format"], url_verified=verified, year=year,
        act_number=entry.get("act_number"), jurisdiction=entry.get("jurisdiction"),
        handle_url=entry.get("handle_url"), notes=entry.get("notes"),
    )


def _looks_like_web_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
