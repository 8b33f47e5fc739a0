"""Parse non-statute documents (policies, SOPs, guidelines, case studies, FAQs, team guides)
into one :class:`Provision` per heading block.

A document is cut at its ``#``..``####`` headings (HTML and DOCX converters write headings the
same way). Each block becomes a provision keyed ``doc-<slug of title>:<n>``, where ``n`` is the
ordinal of the block ("1", "2", ...), so guides share the ``act_key:section`` identity of statutes
without ever posing as one: ``doc_type`` is never "act", and citations read
``Title › Heading › Sub-heading`` (``Locator.heading_path``).

Where the text cites the law ("section 19 of the POCSO Act", "s. 67B of the IT Act",
"POCSO s. 21", "Section 94 JJ Act"), the provision keys go to the block's ``cross_refs`` and the
document's ``links``. Only references that name a registered Act are kept: a bare "section 19"
in a guide could mean any Act, and a link to the wrong one is worse than none. Provisions the
author lists in ``cites: [pocso:19, ...]`` are added to ``links`` (an unknown act key is an error).

Metadata precedence: arguments (the CLI) > sidecar file > front matter > the file's own
(``<title>``, DOCX properties). A document key can be fixed with ``doc_key:`` in front matter.

    >>> text = "# Police SOP\\n\\n## Reporting\\n\\nReport under section 19 of the POCSO Act."
    >>> doc = parse_guide(ConvertedText("sop.md", text, "text/markdown"), doc_type="sop", audiences=["police"])
    >>> p = doc.provisions[0]
    >>> p.key, p.locator.heading, p.cross_refs
    ('doc-police-sop:1', 'Reporting', ['pocso:19'])
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ingest.document import ConvertedText, ParsedDocument
from kb.acts import registry
from kb.errors import IngestError
from kb.models import AUDIENCES, DOC_TYPES, Locator, Provision

_HEADING = re.compile(r"^(#{1,4})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_DOC_KEY = re.compile(r"^doc-[a-z0-9][a-z0-9-]{0,79}$")
_CITE = re.compile(r"([a-z][a-z0-9_]*):(\d{1,3}[A-Z]{0,3})")
_STATUTE_TYPES = ("act", "rules")
DEFAULT_DOC_TYPE = "other"


def doc_key_for(title: str) -> str:
    """``doc-`` + a slug of the title: ASCII letters and digits joined by hyphens, at most 64 chars.

    >>> doc_key_for("SOP: Reporting under POCSO (2024)")
    'doc-sop-reporting-under-pocso-2024'
    """
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))
    if len(slug) > 60:
        slug = slug[:61].rsplit("-", 1)[0]  # cut at a word boundary
    if not slug:  # a title in Devanagari only: fall back to a stable digest of it
        import hashlib

        slug = hashlib.sha256(title.encode("utf-8")).hexdigest()[:12]
    return f"doc-{slug}"


def find_links(text: str) -> list[str]:
    """Provision keys of the law cited in ``text`` (registered Acts only), in order of appearance."""
    keys: list[str] = []
    try:
        from kb.query.citations import parse_citations
    except ImportError:  # the query package is optional for ingestion: fall back to the statute parser
        from ingest.structure import find_cross_refs

        return find_cross_refs(text, None)
    for ref in parse_citations(text):
        key = ref.provision_key
        if key and key not in keys:
            keys.append(key)
    return keys


def detect_language(text: str) -> str:
    """'hi' when most letters are Devanagari, else 'en'."""
    letters = [c for c in text[:50_000] if c.isalpha()]
    deva = sum(1 for c in letters if "\u0900" <= c <= "\u097f")
    return "hi" if letters and deva / len(letters) > 0.5 else "en"


def resolve_doc_type(value: Any, *, path: str, source: str) -> str:
    doc_type = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if doc_type not in DOC_TYPES:
        raise IngestError(f"{source} doc_type {value!r} is not one of {', '.join(DOC_TYPES)}", path=path, field="doc_type")
    return doc_type


def resolve_audiences(value: Any, *, path: str, source: str) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;]", str(value))
    out: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name not in AUDIENCES and name.rstrip("s") in AUDIENCES:
            name = name.rstrip("s")  # "lawyers", "ngos"
        if name not in AUDIENCES:
            raise IngestError(f"{source} audience {item!r} is not one of {', '.join(AUDIENCES)}", path=path, field="audiences")
        if name not in out:
            out.append(name)
    return out


def _meta_value(meta: dict, *names: str) -> Any:
    return next((meta[n] for n in names if meta.get(n) not in (None, "", [])), None)


def parse_guide(
    converted: ConvertedText,
    *,
    doc_type: str | None = None,
    audiences: list[str] | None = None,
    title: str | None = None,
) -> ParsedDocument:
    """Heading blocks of a non-statute document (see module doc)."""
    path, meta, text = converted.path, converted.metadata, converted.text
    headings = list(_HEADING.finditer(text))
    title = title or _meta_value(meta, "title") or _first_h1(headings) or Path(path).stem.replace("_", " ").replace("-", " ")
    title = " ".join(str(title).split())
    kind = resolve_doc_type(doc_type, path=path, source="given") if doc_type else None
    if kind is None and _meta_value(meta, "doc_type", "type"):
        kind = resolve_doc_type(_meta_value(meta, "doc_type", "type"), path=path, source="metadata")
    kind = kind or DEFAULT_DOC_TYPE
    if kind in _STATUTE_TYPES:
        raise IngestError(f"doc_type {kind!r} needs numbered sections; none were found", path=path, field="doc_type")
    if audiences:
        readers = resolve_audiences(audiences, path=path, source="given")
    else:
        raw = _meta_value(meta, "audiences", "audience")
        readers = resolve_audiences(raw, path=path, source="metadata") if raw else []
    key = _doc_key(meta, title, path)
    source_url = _meta_value(meta, "source_url", "source", "url")
    base = Locator(
        act_key=key, act_title=title, source_file=path, source_url=str(source_url) if source_url else None, doc_type=kind
    )
    provisions = _blocks(converted, headings, base, title)
    if not provisions:
        raise IngestError("no text found under any heading", path=path)
    links: list[str] = []
    for provision in provisions:
        links.extend(k for k in provision.cross_refs if k not in links)
    links.extend(k for k in _declared_cites(meta, path) if k not in links)
    return ParsedDocument(
        title=title,
        doc_type=kind,
        provisions=provisions,
        act_key=key,
        audiences=readers,
        source_url=base.source_url,
        language=str(meta.get("language") or detect_language(text)),
        ocr=converted.ocr,
        links=links,
        metadata={"parser": "guide", **{k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool, list))}},
    )


def _declared_cites(meta: dict, path: str) -> list[str]:
    """``cites: [pocso:19, it:67B]`` from front matter or sidecar, checked against the Act registry."""
    raw = meta.get("cites") or []
    items = raw if isinstance(raw, list) else re.split(r"[,\s]+", str(raw))
    keys: list[str] = []
    for item in items:
        key = str(item).strip()
        if not key:
            continue
        match = _CITE.fullmatch(key)
        if not match or match.group(1) not in registry():
            raise IngestError(
                f"cites entry {item!r} is not 'act_key:section' with a registered act key", path=path, field="cites"
            )
        keys.append(key)
    return keys


def _first_h1(headings: list[re.Match[str]]) -> str | None:
    return next((m.group(2) for m in headings if len(m.group(1)) == 1), None)


def _doc_key(meta: dict, title: str, path: str) -> str:
    given = _meta_value(meta, "doc_key")
    if given is None:
        return doc_key_for(title)
    key = str(given).strip().lower()
    if not key.startswith("doc-"):
        key = f"doc-{key}"
    if not _DOC_KEY.match(key):
        raise IngestError(f"doc_key {given!r} must be lower-case letters, digits and hyphens", path=path, field="doc_key")
    return key


def _blocks(converted: ConvertedText, headings: list[re.Match[str]], base: Locator, title: str) -> list[Provision]:
    text = converted.text
    stack: list[tuple[int, str]] = []  # (level, heading) of the open headings
    spans: list[tuple[int, int, str, tuple[str, ...]]] = [(0, headings[0].start() if headings else len(text), title, ())]
    for i, match in enumerate(headings):
        level, heading = len(match.group(1)), " ".join(match.group(2).split())
        while stack and stack[-1][0] >= level:
            stack.pop()
        is_title = level == 1 and not stack and heading.casefold() == title.casefold()
        if not is_title:
            stack.append((level, heading))
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        path = tuple(h for _, h in stack)
        spans.append((match.end(), end, heading if not is_title else title, path))
    provisions: list[Provision] = []
    for start, end, heading, path in spans:
        body = re.sub(r"\n{3,}", "\n\n", text[start:end]).strip()
        if not body:
            continue  # a heading directly followed by a sub-heading: it lives on in heading_path
        offset = start + (len(text[start:end]) - len(text[start:end].lstrip()))
        locator = base.narrowed(
            section=str(len(provisions) + 1), heading=heading, heading_path=path, page=converted.page_at(offset)
        )
        refs = find_links(f"{heading}\n{body}")
        provisions.append(
            Provision(locator=locator, text=body, cross_refs=refs, language=detect_language(body), ocr=converted.ocr)
        )
    return provisions
