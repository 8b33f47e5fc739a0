"""Document metadata written by people: Markdown front matter and sidecar files.

Front matter is the YAML-ish block at the top of a Markdown/text file. Only the simple subset
editors actually write is accepted (``key: value``, inline lists ``[a, b]`` and ``- item`` block
lists); anything else is an error naming the line, because silently dropped metadata (say, the
audience of an SOP) is worse than a refused file.

A sidecar ``NAME.meta.toml`` or ``NAME.meta.json`` beside ``NAME`` (or ``NAME.ext``) adds metadata
to files that cannot carry it themselves (PDF, DOCX). Sidecar values win over front matter.

    >>> meta, body = split_front_matter("---\\ntitle: SOP\\naudiences: [police, ngo]\\n---\\n# Steps\\n")
    >>> meta
    {'title': 'SOP', 'audiences': ['police', 'ngo']}
    >>> body
    '# Steps\\n'
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from kb.errors import IngestError

SIDECAR_SUFFIXES = (".meta.toml", ".meta.json")
_FENCE = re.compile(r"^---[ \t]*$")
_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*)$")


def is_sidecar(path: Path) -> bool:
    """True for ``*.meta.toml``/``*.meta.json`` files, which describe another file and are not ingested."""
    name = Path(path).name.lower()
    return name.endswith(SIDECAR_SUFFIXES)


def split_front_matter(text: str, *, path: str | None = None) -> tuple[dict[str, Any], str]:
    """(metadata, body). Text without a front-matter block comes back unchanged with ``{}``."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        return {}, text
    for end in range(1, min(len(lines), 400)):
        if _FENCE.match(lines[end]):
            meta = _parse_block(lines[1:end], path)
            return meta, "\n".join(lines[end + 1 :])
    return {}, text  # an opening rule without a closing one is a horizontal rule, not front matter


def _parse_block(lines: list[str], path: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    current: str | None = None
    for number, raw in enumerate(lines, start=2):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^[ \t]*-[ \t]+(.*)$", line)
        if item and current is not None and isinstance(meta.get(current), list):
            meta[current].append(_scalar(item.group(1)))
            continue
        match = _KEY.match(line)
        if not match:
            raise IngestError(f"front matter line {number} is not 'key: value': {line!r}", path=path)
        current, value = match.group(1), match.group(2).strip()
        meta[current] = [] if value == "" else _value(value)
    return meta


def _value(value: str) -> Any:
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].strip()
        return [_scalar(part) for part in _split_list(inner)] if inner else []
    return _scalar(value)


def _split_list(inner: str) -> list[str]:
    parts, buf, quote = [], [], None
    for ch in inner:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _scalar(value: str) -> Any:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    lowered = value.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def sidecar_for(path: Path) -> Path | None:
    """The sidecar describing ``path``: ``guide.pdf.meta.toml`` or ``guide.meta.toml`` (first found)."""
    path = Path(path)
    for base in (path.name, path.stem):
        for suffix in SIDECAR_SUFFIXES:
            candidate = path.with_name(base + suffix)
            if candidate != path and candidate.is_file():
                return candidate
    return None


def read_sidecar(path: Path) -> dict[str, Any]:
    """Metadata from the sidecar of ``path`` ({} when there is none)."""
    sidecar = sidecar_for(path)
    if sidecar is None:
        return {}
    try:
        raw = sidecar.read_text("utf-8")
        data = tomllib.loads(raw) if sidecar.name.lower().endswith(".toml") else json.loads(raw)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise IngestError(f"unreadable metadata sidecar {sidecar.name}: {err}", path=str(path)) from err
    if not isinstance(data, dict):
        raise IngestError(f"metadata sidecar {sidecar.name} must hold a table/object, got {type(data).__name__}", path=str(path))
    return data
