"""Query understanding: one pass over the user's text that every retriever then reads.

    >>> plan = understand("what replaced IPC 354D")
    >>> [c.provision_key for c in plan.citations]
    ['ipc:354D']
    >>> plan.target_provisions()
    [('ipc:354D', None), ('bns:78', None)]
    >>> plan.notes[0]
    'IPC s. 354D is now Bharatiya Nyaya Sanhita s. 78 (Stalking).'
    >>> understand("under the JJ Act who can adopt").act_filter
    'jj'

Pure functions over the registry and the data files in ``kb/data``: no store access, so the
plan can be computed, shown and tested without an index.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from kb.acts import find_act, registry
from kb.query.citations import CitationRef, parse_citations
from kb.query.concordance import ConcordanceEntry, predecessor, successor
from kb.query.expansions import Expansion, expand
from kb.query.mentions import find_mentions

_DEFINITION = re.compile(
    r"\b(?:what\s+(?:is|are)\b|what'?s\b|define[sd]?\b|definition\s+of\b|meaning\s+of\b|means\b|meant\s+by\b|"
    r"what\s+does\s+.{1,80}?\s+mean\b|who\s+is\s+(?:a|an)\b|who\s+are\b)",
    re.I,
)
# "what is the punishment/procedure for ..." asks for a rule, not a definition.
_NOT_DEFINITION = re.compile(
    r"\bwhat\s+(?:is|are)\s+(?:the\s+)?(?:punishment|penalty|penalties|sentence|procedure|process|steps|time\s+limit|"
    r"role|duty|duties|rights?|remedy|law|provision|section)\b",
    re.I,
)
_PUNISHMENT = re.compile(
    r"\b(?:punish\w*|penalt(?:y|ies)|sentenc\w*|imprison\w*|jail|prison|convict\w*|how\s+many\s+years)\b|"
    r"(?<!\bis\s)(?<!\bit's\s)(?<!\bare\s)\bfine[sd]?\b(?!\s+to\b)",
    re.I,
)
_PROCEDURE = re.compile(
    r"\b(?:how\s+(?:to|do|does|can|should|is|are|must)|procedure|process|steps?|record\w*|report\w*|fir|"
    r"f\.i\.r|lodge|register\w*|complain\w*|investigat\w*|arrest\w*|bail|medical\s+exam\w*|"
    r"what\s+should|who\s+(?:should|must)|time\s+limit|within\s+\d+\s+(?:hours|days)|apply|application)\b",
    re.I,
)
_OLD_CODES = {"ipc", "crpc", "iea"}
_NEW_CODES = {"bns", "bnss", "bsa"}


@dataclass
class QueryPlan:
    """What a query asks for, as the retrievers and the answer composer need it.

    Fields:
      query          the text as received.
      text           cleaned text: Unicode-normalised, quotes straightened, spaces collapsed.
      citations      provisions the query names explicitly, left to right; an Act left unnamed
                     next to the number is filled in when the query names exactly one Act.
      successors     concordance rows for cited old-code sections (IPC/CrPC/Evidence Act ->
                     BNS/BNSS/BSA). The old reference stays in ``citations``; the new
                     provisions are added to :meth:`target_provisions`.
      predecessors   concordance rows naming the old sections a cited BNS/BNSS/BSA section
                     replaced (shown in notes only).
      notes          sentences for the user ("IPC s. 354D is now Bharatiya Nyaya Sanhita s. 78
                     (Stalking).", "Article 21 is part of the Constitution, ...").
      acts_mentioned Acts named anywhere in the query (registry keys, first mention first).
      act_filter     the one Act the query clearly scopes to ("under the JJ Act", "in POCSO"):
                     set only when exactly one current Act is named by a strong mention or a
                     citation. Repealed codes never become a filter (their successors answer).
      expansion      lay -> statutory phrases found (see :mod:`kb.query.expansions`).
      is_definition  asks what something is/means ("what is X", "define X", "meaning of X").
      is_punishment  asks about punishment ("punishment", "penalty", "sentence", "fine", ...).
      is_procedure   asks how something is done ("how to", "procedure", "record", "FIR", ...).
      semantic_text  the query without citation tokens, plus the subjects of cited old-code
                     sections, for the dense retriever. Empty when the query is only citations.
      keyword_text   ``semantic_text`` plus the expansion phrases, for BM25.

        >>> plan = understand("punishment for storing CSAM")
        >>> plan.is_punishment, "child pornography" in plan.keyword_text
        (True, True)
    """

    query: str
    text: str
    citations: list[CitationRef] = field(default_factory=list)
    successors: list[ConcordanceEntry] = field(default_factory=list)
    predecessors: list[ConcordanceEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    acts_mentioned: list[str] = field(default_factory=list)
    act_filter: str | None = None
    expansion: Expansion = field(default_factory=Expansion)
    is_definition: bool = False
    is_punishment: bool = False
    is_procedure: bool = False
    semantic_text: str = ""
    keyword_text: str = ""

    @property
    def expansions(self) -> list[str]:
        """The statutory phrases added to the keyword query."""
        return list(self.expansion.terms_added)

    @property
    def expansion_terms(self) -> list[str]:
        """Same as :attr:`expansions` (the name the answer composer reads)."""
        return self.expansions

    def target_provisions(self) -> list[tuple[str, str | None]]:
        """(provision key, sub-section) of every cited provision, then of old-code successors."""
        targets: list[tuple[str, str | None]] = []
        for ref in self.citations:
            if ref.provision_key:
                targets.append((ref.provision_key, ref.subsection))
        for entry in self.successors:
            targets.append((f"{entry.new_act}:{entry.new_base_section}", entry.new_subsection))
        return list(dict.fromkeys(targets))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the API ("what the system understood")."""
        return {
            "text": self.text,
            "citations": [
                {"act_key": c.act_key, "section": c.section, "subsection": c.subsection, "kind": c.kind,
                 "raw": c.raw, "span": list(c.span)}
                for c in self.citations
            ],
            "successors": [asdict(e) for e in self.successors],
            "predecessors": [asdict(e) for e in self.predecessors],
            "notes": list(self.notes),
            "acts_mentioned": list(self.acts_mentioned),
            "act_filter": self.act_filter,
            "expansions": [{"lay": lay, "legal": legal} for lay, legal in self.expansion.matched],
            "is_definition": self.is_definition,
            "is_punishment": self.is_punishment,
            "is_procedure": self.is_procedure,
            "semantic_text": self.semantic_text,
            "keyword_text": self.keyword_text,
        }


def clean_text(query: str) -> str:
    """NFKC, straight quotes, no control characters, single spaces."""
    text = unicodedata.normalize("NFKC", query)
    text = text.translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0x2013: "-", 0x2014: "-"})
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(set(spans)):
        if start >= last:
            out.append(text[last:start])
            last = end
    out.append(text[last:])
    return re.sub(r"\s+", " ", "".join(out)).strip(" ,;")


def _act_filter(mention_keys: list[str], citation_keys: list[str]) -> str | None:
    keys = list(dict.fromkeys(mention_keys + citation_keys))
    if len(keys) != 1:
        return None
    act = registry()[keys[0]]
    return None if act.repealed_by else act.key


def _fill_act(ref: CitationRef, act_key: str) -> CitationRef:
    """Give an Act-less reference the one Act the query names (rules go to that Act's Rules)."""
    if ref.kind == "article":
        return ref
    acts = registry()
    if ref.kind == "rule" and acts[act_key].doc_type != "rules":
        act_key = f"{act_key}_rules" if f"{act_key}_rules" in acts else ""
    return replace(ref, act_key=act_key) if act_key else ref


def _short(act_key: str | None) -> str:
    act = find_act(act_key) if act_key else None
    return act.short_name if act else "an unnamed Act"


@dataclass
class _Relations:
    successors: list[ConcordanceEntry] = field(default_factory=list)
    predecessors: list[ConcordanceEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _relations(citations: list[CitationRef]) -> _Relations:
    out = _Relations()
    notes = out.notes
    for ref in citations:
        if ref.kind == "article":
            notes.append(f"Article {ref.pinpoint} is a provision of the Constitution of India, "
                         "which this knowledge base does not hold.")
        elif ref.act_key is None:
            notes.append(f"{ref.raw!r} names no Act; matching sections of every Act are searched.")
        elif ref.act_key in _OLD_CODES:
            found = successor(ref.act_key, ref.pinpoint)
            out.successors.extend(e for e in found if e not in out.successors)
            notes.extend(e.describe() for e in found)
            if not found:
                notes.append(f"No verified successor of {_short(ref.act_key)} s. {ref.pinpoint} is recorded "
                             "in the concordance; search the current Acts by subject.")
        elif ref.act_key in _NEW_CODES:
            found = predecessor(ref.act_key, ref.pinpoint)
            out.predecessors.extend(e for e in found if e not in out.predecessors)
            notes.extend(f"{_short(e.new_act)} s. {e.new_section} replaced {e.old_citation} ({e.subject})."
                         for e in found)
    return out


def understand(query: str) -> QueryPlan:
    """Build the :class:`QueryPlan` of ``query``."""
    text = clean_text(query)
    mentions = find_mentions(text)
    citations = parse_citations(text)
    strong = [m.act_key for m in mentions if m.strong and not m.adjacent_only]
    cited = [c.act_key for c in citations if c.act_key]
    act_filter = _act_filter(strong, cited)
    if act_filter:
        citations = [c if c.act_key else _fill_act(c, act_filter) for c in citations]
    relations = _relations(citations)
    free = _without_spans(text, [c.span for c in citations])
    subjects = [e.subject for e in relations.successors]
    semantic = " ".join(dict.fromkeys([free, *subjects])).strip()
    expansion = expand(free)
    keyword = " ".join(part for part in (semantic, expansion.text) if part)
    return QueryPlan(
        query=query,
        text=text,
        citations=citations,
        successors=relations.successors,
        predecessors=relations.predecessors,
        notes=relations.notes,
        acts_mentioned=list(dict.fromkeys([m.act_key for m in mentions if not m.adjacent_only] + cited)),
        act_filter=act_filter,
        expansion=expansion,
        is_definition=bool(_DEFINITION.search(text)) and not _NOT_DEFINITION.search(text),
        is_punishment=bool(_PUNISHMENT.search(text)),
        is_procedure=bool(_PROCEDURE.search(text)),
        semantic_text=semantic,
        keyword_text=keyword,
    )
