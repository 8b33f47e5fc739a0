"""Extractive answers: the best provisions' key sentences, quoted verbatim and cited.

Audience changes emphasis, never facts: every sentence shown is a verified slice of a stored
provision. Police get the quotes that set duties and time limits as numbered steps; NGO staff
get a plain framing built from provision headings with the quotes beneath; lawyers get the
provisions and their related provisions first.

    >>> answer = Answerer(store, searcher, encoder, settings).ask("Who must report child sexual abuse?", audience="police")  # doctest: +SKIP
    >>> answer.citations[0].text                                   # doctest: +SKIP
    'POCSO Act, 2012, s. 19'
"""

from __future__ import annotations

import copy
import re

import numpy as np

from kb.answers.generate import AnswerPhraser
from kb.answers.sentences import Span, split_spans
from kb.answers.verify import verify_citations
from kb.cache import LRUCache, VersionedCache
from kb.embedding import Encoder
from kb.errors import QueryError
from kb.models import AUDIENCES, Answer, Citation, Hit, Provision, Quote
from kb.retrieval.search import SearchFilters, Searcher, clean_query
from kb.settings import Settings
from kb.stores.base import KnowledgeStore

_WORD = re.compile(r"[a-z0-9]+")
SPAN_CACHE_SIZE = 20_000  # about 30 MB of 384-d float32 vectors
_STOP = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its may must of on or shall "
    "should that the their there this to under was what when where which who whom will with within".split()
)
_PROCEDURE = re.compile(
    r"\b(shall|within|hours?|days?|months?|forthwith|immediately|without delay|record|report|produce|inform)\b", re.I
)
# A penalty clause ("shall be punished with imprisonment") is law for the court, not a step for police.
_PENALTY = re.compile(r"\bshall (?:also )?be (?:punished|punishable|liable)\b|\bimprisonment\b|\bfine\b", re.I)
_TIME = re.compile(r"\bwithin (?:a period of )?[\w-]+ (?:\(\d+\) )?(?:hours|days|months|years?)\b", re.I)


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


class Answerer:
    """Composes :class:`~kb.models.Answer` objects from search results."""

    def __init__(self, store: KnowledgeStore, searcher: Searcher, encoder: Encoder, settings: Settings) -> None:
        self.store = store
        self.searcher = searcher
        self.encoder = encoder
        self.settings = settings
        self._span_cache = LRUCache(SPAN_CACHE_SIZE)
        self.phraser = AnswerPhraser(settings.answers)  # used only when answers.generator_enabled
        self.cache: VersionedCache[Answer] = VersionedCache(settings.answers.answer_cache_size, store, copy=copy.deepcopy)

    def ask(self, question: str, *, audience: str = "lawyer", filters: SearchFilters | None = None) -> Answer:
        """The answer to ``question`` for ``audience``. A repeat on unchanged content is answered from
        :attr:`cache` (``answers.answer_cache_size``); each caller gets its own copy."""
        key = self._cache_key(question, audience, filters)
        remembered = self.cache.recall(key)
        if remembered is not None:
            return remembered
        return self.cache.remember(key, self._ask(question, audience, filters))

    def cached(self, question: str, *, audience: str = "lawyer", filters: SearchFilters | None = None) -> Answer | None:
        """What :meth:`ask` would return if it is remembered, else ``None``; never composes an answer.
        Checks the question and audience as :meth:`ask` does."""
        return self.cache.recall(self._cache_key(question, audience, filters))

    def _cache_key(self, question: str, audience: str, filters: SearchFilters | None) -> tuple | None:
        if audience not in AUDIENCES:
            raise QueryError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}", field="audience")
        text = clean_query(question, self.settings.api.max_query_chars)
        if self.settings.answers.generator_enabled:
            return None  # a generator's failed call must not be remembered
        return self.cache.key(text, audience, (filters or SearchFilters()).key())

    def _ask(self, question: str, audience: str, filters: SearchFilters | None) -> Answer:
        cfg = self.settings.answers
        result = self.searcher.search(question, filters=filters, top_k=max(cfg.max_provisions * 2, 8))
        plan = result.plan
        answer = Answer(question=result.query, audience=audience, summary="",
                        expansions=list(plan.expansion_terms), notes=list(plan.notes))
        if not result.hits or self._weak(result.hits, plan):
            answer.abstained = True
            answer.nearest = result.hits[:3]
            answer.summary = ("The knowledge base has no provision that answers this. "
                              + ("The nearest matches are listed below; they are not an answer." if result.hits else ""))
            return answer

        q_embedding = np.asarray(self.encoder.embed_query(plan.semantic_text or result.query), dtype=np.float32)
        q_terms = _terms(plan.keyword_text)
        selected = self._select(result.hits)
        provisions = self.store.get_provisions([h.provision_key for h in selected])
        citations = []
        for hit in selected:
            provision = provisions.get(hit.provision_key)
            if provision is None or provision.status == "omitted":
                continue
            quotes = self._quotes(provision, hit, q_embedding, q_terms, audience, plan.is_definition)
            citations.append(Citation(hit.provision_key, provision.locator, quotes, score=hit.score))
        answer.citations, _ = verify_citations(self.store, citations)
        answer.related = self._related(answer.citations)
        self._frame(answer)
        if cfg.generator_enabled and not answer.abstained:
            # The evidence is chosen and verified above; the model only phrases it.
            self.phraser.phrase(answer)
        return answer

    # -- evidence strength -------------------------------------------------------------------
    def _weak(self, hits: list[Hit], plan) -> bool:
        if any(h.signals.get("explicit") for h in hits[:1]):
            return False
        best = max((h.signals.get("cosine", 0.0) for h in hits[:3]), default=0.0)
        return best < self.settings.answers.abstain_threshold

    def _select(self, hits: list[Hit]) -> list[Hit]:
        """The top hit, and the next ones that score at least half as well (up to max_provisions)."""
        top = hits[0].score
        chosen = [h for h in hits if h.score >= 0.5 * top]
        return chosen[: self.settings.answers.max_provisions]

    # -- quoting ----------------------------------------------------------------------------
    def _quotes(self, provision: Provision, hit: Hit, q_embedding: np.ndarray, q_terms: set[str],
                audience: str, definition: bool) -> list[Quote]:
        spans = split_spans(provision.text, provision.subunits)
        if not spans:
            return []
        limit = self.settings.answers.max_sentences_per_provision
        if len(spans) <= limit:
            chosen = spans
        else:
            scores = self._span_scores(spans, q_embedding, q_terms, audience, hit)
            best = sorted(range(len(spans)), key=lambda i: -scores[i])[:limit]
            chosen = [spans[i] for i in sorted(best)]
        return [Quote(text=s.text, char_start=s.start, char_end=s.end, subsection=s.path) for s in chosen]

    def _span_scores(self, spans: list[Span], q_embedding: np.ndarray, q_terms: set[str], audience: str, hit: Hit) -> list[float]:
        vectors = self._span_vectors([s.text for s in spans])
        semantic = vectors @ q_embedding
        scores = []
        for i, span in enumerate(spans):
            terms = _terms(span.text)
            overlap = len(terms & q_terms) / (len(q_terms) or 1)
            score = float(semantic[i]) + 0.5 * overlap
            # The retrieved passage is where the match was: prefer spans inside it.
            if hit.locator.char_start is not None and hit.locator.char_end is not None:
                if hit.locator.char_start <= span.start < hit.locator.char_end:
                    score += 0.1
            if audience == "police" and _PROCEDURE.search(span.text):
                score += 0.1
            scores.append(score)
        return scores

    def _span_vectors(self, texts: list[str]) -> np.ndarray:
        """Embeddings of quotable spans. Provisions recur across questions, so vectors are kept
        (bounded LRU keyed by the span text) instead of being re-encoded for every answer."""
        found = {t: v for t in dict.fromkeys(texts) if (v := self._span_cache.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:  # encoded without holding the cache: other answers go on meanwhile
            for text, vector in zip(missing, self.encoder.embed_spans(missing), strict=True):
                found[text] = np.asarray(vector, dtype=np.float32)
                self._span_cache.put(text, found[text])
        return np.stack([found[t] for t in texts])

    # -- related provisions ----------------------------------------------------------------
    def _related(self, citations: list[Citation]) -> list[Citation]:
        """Provisions the quoted ones refer to, resolved to stored text; no quotes of their own."""
        cited = {c.provision_key for c in citations}
        wanted: list[str] = []
        stored = self.store.get_provisions(list(cited))
        for citation in citations:
            provision = stored.get(citation.provision_key)
            for ref in provision.cross_refs if provision else []:
                if ref not in cited and ref not in wanted:
                    wanted.append(ref)
        related = [Citation(k, p.locator) for k, p in self.store.get_provisions(wanted[:12]).items()]
        kept, _ = verify_citations(self.store, related, require_quotes=False)
        order = {k: i for i, k in enumerate(wanted)}
        return sorted(kept, key=lambda c: order.get(c.provision_key, 0))

    # -- framing ----------------------------------------------------------------------------
    def _frame(self, answer: Answer) -> None:
        if not answer.citations:
            answer.abstained = True
            answer.summary = "The knowledge base has no provision that answers this."
            return
        names = "; ".join(f"{c.text} ({c.locator.heading})" if c.locator.heading else c.text for c in answer.citations)
        if answer.audience == "lawyer":
            answer.summary = f"Relevant provisions: {names}."
        elif answer.audience == "ngo":
            topics = ", ".join((c.locator.heading or c.text).rstrip(".").lower() for c in answer.citations)
            answer.summary = (f"In short, the law on this is found in {len(answer.citations)} "
                              f"provision{'s' if len(answer.citations) > 1 else ''} dealing with {topics}. "
                              f"The exact words of the law are quoted below with where to find them: {names}.")
        else:
            answer.summary = f"Procedure and duties under: {names}."
            answer.steps = _steps(answer.citations)


def _steps(citations: list[Citation]) -> list[str]:
    """Numbered steps for police: each quote that sets a duty or a time limit, cited, in order."""
    steps = []
    for citation in citations:
        for quote in citation.quotes:
            if not _PROCEDURE.search(quote.text) or _PENALTY.search(quote.text):
                continue
            where = citation.locator.narrowed(subsection=quote.subsection).citation(with_page=True)
            limit = _TIME.search(quote.text)
            prefix = f"[{limit.group(0)}] " if limit else ""
            steps.append(f"{prefix}{quote.text} ({where})")
    return steps
