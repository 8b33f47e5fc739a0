"""Choose the parser for a converted file: India Code Markdown > printed Act > guide.

A declared ``doc_type`` (argument, then sidecar/front matter) decides first: a document declared
a policy, SOP, FAQ... is always read as a guide, even if it quotes numbered sections; a document
declared an Act that yields no sections is an error, never a silent guide.

    >>> parsed = parse_converted(convert_file(Path("sop.md"), settings.ingest), audiences=["police"])  # doctest: +SKIP
    >>> parsed.doc_type, parsed.audiences                                                             # doctest: +SKIP
    ('sop', ['police'])
"""

from __future__ import annotations

from ingest.document import ConvertedText, ParsedDocument
from ingest.parse_guide import parse_guide, resolve_audiences, resolve_doc_type
from ingest.parse_indiacode import looks_like_indiacode, parse_indiacode_markdown
from ingest.parse_printed import looks_like_printed_act, parse_printed_act

_STATUTE_TYPES = ("act", "rules")


def parse_converted(
    converted: ConvertedText, *, doc_type: str | None = None, audiences: list[str] | None = None
) -> ParsedDocument:
    """Parse ``converted`` with the parser its content calls for (see module doc)."""
    meta = converted.metadata
    declared = None
    if doc_type:
        declared = resolve_doc_type(doc_type, path=converted.path, source="given")
    elif meta.get("doc_type") or meta.get("type"):
        declared = resolve_doc_type(meta.get("doc_type") or meta.get("type"), path=converted.path, source="metadata")

    if declared is not None and declared not in _STATUTE_TYPES:
        return parse_guide(converted, doc_type=declared, audiences=audiences)
    if looks_like_indiacode(converted.text):
        parsed = parse_indiacode_markdown(converted)
    elif declared in _STATUTE_TYPES or looks_like_printed_act(converted.text):
        hint = meta.get("act_key") or meta.get("act")
        parsed = parse_printed_act(converted, act_hint=str(hint) if hint else None)
    else:
        return parse_guide(converted, audiences=audiences)
    parsed.ocr = parsed.ocr or converted.ocr
    if audiences:
        parsed.audiences = resolve_audiences(audiences, path=converted.path, source="given")
    elif meta.get("audiences") or meta.get("audience"):
        declared_audiences = meta.get("audiences") or meta.get("audience")
        parsed.audiences = resolve_audiences(declared_audiences, path=converted.path, source="metadata")
    return parsed
