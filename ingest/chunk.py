"""Cut a provision into retrievable chunks that never cross a section and cite what they hold.

A provision within ``max_chars`` is one chunk (``subsection`` None: it cites the whole section).
A longer one is cut along its structure: each sub-unit (sub-section, clause, proviso, ...) that is
too long is opened into its lead-in, its children and its closing words; a piece with no
children that is still too long is cut at sentence boundaries (then at commas, then at spaces).
Consecutive pieces are packed greedily up to ``max_chars``; a group shorter than ``min_chars`` then
takes pieces from the end of the group before it, as long as both stay within the bounds.

Every chunk's text is exactly ``provision.text[char_start:char_end]``, so a quote from a chunk is
a quote from the stored provision. Its locator is narrowed to the path shared by everything in
it: a chunk holding only clause (1)(da) cites ``(1)(da)``; one holding (1)(a) to (1)(d) cites
``(1)``; one spanning (1)(z) and (2) cites the section. What the encoder sees (``embed_text``)
is prefixed with the Act, section and heading, and, for a chunk that starts inside a list, the
lead-in it continues (``(1) In this Act, unless the context otherwise requires,--``) - in
``embed_text`` only, never in ``text``.

    >>> from kb.settings import ChunkSettings
    >>> chunks = chunk_provision(provision, ChunkSettings(max_chars=1200))  # doctest: +SKIP
    >>> [c.locator.subsection for c in chunks]  # doctest: +SKIP
    ['(1)', '(1)', '(2)']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.answers.sentences import trim_span
from kb.models import Chunk, Locator, Provision, SubUnit
from kb.settings import ChunkSettings

_SPLITTERS = (
    re.compile(r"(?<=[.;:?!])\s+"),  # sentences (and "; or" list items run together)
    re.compile(r"(?<=[,\u2014\u2013])\s+"),
    re.compile(r"\s+"),
)
# "(8)-Explanation 2-Illustration" -> "(8)", "-Explanation 2", "-Illustration"; "-proviso-2" stays whole.
_PATH_PART = re.compile(r"\([^()]*\)|-?[^()\-]+(?:-\d+)?")
_MAX_CONTEXT = 300  # characters of lead-in prepended to embed_text


@dataclass(eq=False)
class _Node:
    start: int
    end: int
    path: str | None
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    node: _Node


def chunk_provision(provision: Provision, settings: ChunkSettings) -> list[Chunk]:
    """The chunks of one provision (see module doc); none for a provision without text."""
    text = provision.text
    root = _tree(text, provision.subunits)
    if root.end <= root.start:
        return []
    pieces = _pieces(text, root, settings.max_chars)
    groups = _pack(pieces, settings.max_chars, settings.min_chars)
    return [_chunk(provision, group, settings) for group in groups]


# ---------------------------------------------------------------- structure


def _tree(text: str, subunits: list[SubUnit]) -> _Node:
    """Nest the sub-units by span; the root is the whole (trimmed) text."""
    start, end = trim_span(text, 0, len(text))
    root = _Node(start, end, None)
    stack = [root]
    for unit in sorted(subunits, key=lambda u: (u.char_start, -u.char_end)):
        u_start, u_end = trim_span(text, max(unit.char_start, start), min(unit.char_end, end))
        if u_end <= u_start:
            continue
        while len(stack) > 1 and not (stack[-1].start <= u_start and u_end <= stack[-1].end):
            stack.pop()
        parent = stack[-1]
        if parent.children and u_start < parent.children[-1].end:
            # Sub-units that overlap without nesting (a parser's mistake) must not make chunks overlap.
            u_start, u_end = trim_span(text, parent.children[-1].end, min(u_end, parent.end))
            if u_end <= u_start:
                continue
        node = _Node(u_start, u_end, unit.path, parent=parent)
        stack[-1].children.append(node)
        stack.append(node)
    return root


def _pieces(text: str, node: _Node, max_chars: int) -> list[_Piece]:
    if node.end - node.start <= max_chars:
        return [_Piece(node.start, node.end, node)]
    if not node.children:
        return [_Piece(a, b, node) for a, b in _split_long(text, node.start, node.end, max_chars)]
    pieces: list[_Piece] = []
    cursor = node.start
    for child in node.children:
        pieces += _gap_pieces(text, node, cursor, child.start, max_chars)
        pieces += _pieces(text, child, max_chars)
        cursor = max(cursor, child.end)
    pieces += _gap_pieces(text, node, cursor, node.end, max_chars)
    return pieces


def _gap_pieces(text: str, node: _Node, start: int, end: int, max_chars: int) -> list[_Piece]:
    """The node's own words between its children: the lead-in, or closing words after a list."""
    start, end = trim_span(text, start, end)
    if end <= start:
        return []
    return [_Piece(a, b, node) for a, b in _split_long(text, start, end, max_chars)]


def _split_long(text: str, start: int, end: int, max_chars: int, level: int = 0) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into spans of at most ``max_chars`` at the gentlest boundaries that work
    (sentences, then commas, then spaces); the spans are packed into chunks later."""
    if end - start <= max_chars:
        return [(start, end)]
    if level == len(_SPLITTERS):
        return [(a, min(a + max_chars, end)) for a in range(start, end, max_chars)]
    segments: list[tuple[int, int]] = []
    cursor = start
    for gap in _SPLITTERS[level].finditer(text, start, end):
        if gap.start() > cursor:
            segments.append((cursor, gap.start()))
        cursor = gap.end()
    if cursor < end:
        segments.append((cursor, end))
    spans: list[tuple[int, int]] = []
    for a, b in segments:
        spans += _split_long(text, a, b, max_chars, level + 1) if b - a > max_chars else [(a, b)]
    return spans


def _pack(pieces: list[_Piece], max_chars: int, min_chars: int) -> list[list[_Piece]]:
    """Greedy packing of consecutive pieces while the span from the first start to the last end fits."""
    groups: list[list[_Piece]] = []
    for piece in pieces:
        if groups and piece.end - groups[-1][0].start <= max_chars:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    for i in range(1, len(groups)):
        _even_out(groups[i - 1], groups[i], max_chars, min_chars)
    return groups


def _even_out(before: list[_Piece], short: list[_Piece], max_chars: int, min_chars: int) -> None:
    """Move pieces from the end of ``before`` into a ``short`` group while both stay within bounds."""
    while short[-1].end - short[0].start < min_chars and len(before) > 1:
        moved = before[-1]
        if short[-1].end - moved.start > max_chars or before[-2].end - before[0].start < min_chars:
            return
        short.insert(0, before.pop())


# ---------------------------------------------------------------- chunks


def _chunk(provision: Provision, group: list[_Piece], settings: ChunkSettings) -> Chunk:
    start, end = group[0].start, group[-1].end
    text = provision.text[start:end]
    locator = provision.locator.narrowed(
        subsection=_common_path([piece.node.path for piece in group]), char_start=start, char_end=end
    )
    context = _lead_in(provision.text, group[0])
    body = f"{context} {text}" if context else text
    embed_text = f"{_embed_prefix(locator)}: {body}" if settings.embed_heading else body
    return Chunk(text=text, locator=locator, embed_text=embed_text, ocr=provision.ocr, language=provision.language)


def _common_path(paths: list[str | None]) -> str | None:
    if any(path is None for path in paths):
        return None
    split = [_PATH_PART.findall(path) for path in paths]  # type: ignore[arg-type]
    common: list[str] = []
    for parts in zip(*split):
        if any(part != parts[0] for part in parts):
            break
        common.append(parts[0])
    return "".join(common) or None


def _lead_in(text: str, piece: _Piece) -> str:
    """The lead-ins of the enclosing units that the chunk starts after (outermost first)."""
    parts: list[str] = []
    node: _Node | None = piece.node
    while node is not None:
        if node.children and node.start < piece.start and node.children[0].start <= piece.start:
            lead = " ".join(text[node.start : node.children[0].start].split())
            if lead:
                parts.append(lead if len(lead) <= _MAX_CONTEXT else lead[: _MAX_CONTEXT - 1] + "\u2026")
        node = node.parent
    return " ".join(reversed(parts))


def _embed_prefix(locator: Locator) -> str:
    if locator.section is not None and locator.doc_type in ("act", "rules"):
        unit = "r." if locator.doc_type == "rules" else "s."
        name = locator.short_name or locator.act_title
        return " ".join(p for p in (name, unit, locator.section, locator.heading or "") if p)
    return " \u203a ".join(p for p in (locator.act_title, *locator.heading_path) if p) or (locator.heading or "")
