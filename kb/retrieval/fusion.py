"""Provision-level fusion of ranked chunk lists.

Chunks are first collapsed to provisions (a provision's rank in a list is the rank of its best
chunk), then the lists are fused by weighted reciprocal-rank fusion, and intent signals (an
explicit citation in the query, a punishment or definition question) are added on top.

    >>> ranked = collapse([doc_a, doc_b])                                # doctest: +SKIP
    >>> rrf_scores({"bm25": ranked}, {"bm25": 1.0}, k=60)                # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from haystack import Document

from kb.retrieval.terms import coverage


def rrf(rank: int, k: int = 60, weight: float = 1.0) -> float:
    """Reciprocal-rank-fusion contribution of a 1-based ``rank``.

    Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual
    Rank Learning Methods", SIGIR 2009: score = Σ 1 / (k + rank), k = 60.
    """
    return weight / (k + rank)


def unit_key(doc: Document) -> str:
    """Provision key of a chunk; chunks of non-provision documents fall back to their id."""
    return doc.meta.get("provision_key") or doc.id


def collapse(documents: Iterable[Document]) -> list[tuple[str, Document]]:
    """(provision key, best chunk) in rank order; later chunks of a provision are dropped."""
    seen: dict[str, Document] = {}
    for doc in documents:
        seen.setdefault(unit_key(doc), doc)
    return list(seen.items())


def rrf_scores(ranked: dict[str, list[tuple[str, Document]]], weights: dict[str, float], k: int) -> dict[str, dict[str, float]]:
    """Per provision, the contribution of each named list."""
    out: dict[str, dict[str, float]] = {}
    for name, items in ranked.items():
        weight = weights.get(name, 1.0)
        if weight <= 0:
            continue
        for rank, (key, _doc) in enumerate(items, start=1):
            out.setdefault(key, {})[name] = rrf(rank, k, weight)
    return out


PUNISHMENT_HEADING = re.compile(r"^(punishment|penalty|penalties)\b", re.I)
_DEFINITION_HEADING = re.compile(r"^(definitions?|interpretation)\b", re.I)


def intent_signal(doc: Document, *, punishment: bool, definition: bool) -> float:
    """1.0 when the chunk's heading matches the question's intent, else 0.0."""
    heading = (doc.meta.get("heading") or "").strip()
    if punishment and PUNISHMENT_HEADING.search(heading):
        return 1.0
    if definition and _DEFINITION_HEADING.search(heading):
        return 1.0
    return 0.0


def heading_coverage_list(lists: dict[str, list[Document]], query_terms: set[str], *, minimum: float = 0.5) -> list[Document]:
    """Candidate provisions ranked by how much of their heading the query covers.

    Candidates are the provisions any retriever found; ties keep the order of their best rank
    in those lists. Headings covered less than ``minimum`` are left out.
    """
    best: dict[str, tuple[int, Document]] = {}
    for docs in lists.values():
        for rank, (key, doc) in enumerate(collapse(docs)):
            if key not in best or rank < best[key][0]:
                best[key] = (rank, doc)
    scored = []
    for key, (rank, doc) in best.items():
        share, matched = coverage(query_terms, doc.meta.get("heading") or "")
        if share >= minimum:
            scored.append((-share, -matched, rank, key, doc))
    scored.sort(key=lambda row: row[:4])
    return [row[4] for row in scored]


@dataclass
class FusedHit:
    key: str
    document: Document  # the best chunk: the passage shown
    score: float
    signals: dict[str, float] = field(default_factory=dict)
    cosine: float = 0.0  # best dense similarity of the provision's chunks, when it was in the dense list


def fuse(
    lists: dict[str, list[Document]],
    weights: dict[str, float],
    *,
    k: int = 60,
    boosts: dict[str, float] | None = None,
    pinned: dict[str, Document] | None = None,
    intent_weight: float = 0.0,
    punishment: bool = False,
    definition: bool = False,
) -> list[FusedHit]:
    """Fuse chunk lists into provisions ranked by score (ties broken by key for determinism).

    ``pinned`` provisions (explicitly cited in the query) always appear, with ``boosts`` added.
    The passage of each provision is its best-ranked chunk in the list where it ranked highest.
    """
    ranked = {name: collapse(docs) for name, docs in lists.items()}
    contributions = rrf_scores(ranked, weights, k)
    best_doc: dict[str, tuple[int, Document]] = {}
    for items in ranked.values():
        for rank, (key, doc) in enumerate(items, start=1):
            if key not in best_doc or rank < best_doc[key][0]:
                best_doc[key] = (rank, doc)
    for key, doc in (pinned or {}).items():
        best_doc.setdefault(key, (0, doc))
        contributions.setdefault(key, {})
    hits = []
    for key, signals in contributions.items():
        doc = best_doc[key][1]
        signals = dict(signals)
        if intent_weight and (punishment or definition):
            bonus = intent_weight * intent_signal(doc, punishment=punishment, definition=definition)
            if bonus:
                signals["intent"] = bonus
        if boosts and key in boosts:
            signals["explicit"] = boosts[key]
        hits.append(FusedHit(key=key, document=doc, score=sum(signals.values()), signals=signals))
    hits.sort(key=lambda h: (-h.score, h.key))
    return hits
