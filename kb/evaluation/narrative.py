"""Long narrative queries against short provisions: sentence passages and key-term selection.

An AILA query is the facts of a case (~520 words: dates, names, who hit whom, what the courts
below did); a statute title is five words. Sent whole, such a query drowns the few words that
name an offence, and the embedded store keeps only its first 64 distinct terms anyway. Two
reductions help:

* **sentences** — each sentence is embedded alone and a provision scores its best sentence
  (max-sim), so one sentence about a stabbing can match "Punishment for murder";
* **key terms** — query words are weighted by ``(1 + ln tf) · idf_background · idf_provisions``
  and the best ``n`` are sent to BM25. ``idf_background`` is computed over a collection of
  *unlabelled* narratives (here: the 50 query texts, no judgments involved), so words every
  case narrative uses ("appellant", "court", "dated") fall away; ``idf_provisions`` is the
  BM25 idf over the provisions, and words no provision contains are dropped.

The weighting is the classic tf·idf query reduction of verbose queries (Bendersky & Croft,
"Discovering key concepts in verbose queries", SIGIR 2008, use such statistics as baselines),
with the background idf playing the part of their query-log/corpus statistics.

    >>> stats = TermStats.of(["Punishment for murder", "Attempt to murder"])
    >>> background = TermStats.of(["the accused stabbed the deceased", "the accused appealed"])
    >>> key_terms("The accused stabbed the deceased to murder him", stats, background, 3)
    ['murder']
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kb.stores.sqlite_text import ENGLISH_STOPWORDS

_WORD = re.compile(r"[a-z]+")
# A sentence ends at . ! ? followed by space and a capital, digit, quote or bracket; "Rs. 5" and
# "u/s. 302" stay whole often enough, and a wrong cut only makes two shorter passages.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
MIN_TERM_CHARS = 3  # "rs", "pw", "vs": abbreviations that carry no legal meaning


def words(text: str) -> list[str]:
    """Lower-case alphabetic words, stopwords and 1-2 letter tokens dropped."""
    return [w for w in _WORD.findall(text.lower()) if len(w) >= MIN_TERM_CHARS and w not in ENGLISH_STOPWORDS]


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (never empty for non-blank text)."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


@dataclass(frozen=True)
class TermStats:
    """Document frequencies of :func:`words` over a collection."""

    documents: int
    df: dict[str, int]

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermStats:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            df.update(set(words(text)))
        return cls(documents=n, df=dict(df))

    def idf(self, term: str) -> float:
        """BM25 idf (Robertson-Spärck Jones with +1, as in Lucene): ln(1 + (N - df + 0.5)/(df + 0.5))."""
        df = self.df.get(term, 0)
        return math.log(1.0 + (self.documents - df + 0.5) / (df + 0.5))

    def rarity(self, term: str) -> float:
        """ln(N / df): zero for a word every document uses; unseen words count as seen once."""
        return math.log(self.documents / max(self.df.get(term, 0), 1)) if self.documents else 0.0


def term_weights(text: str, provisions: TermStats, background: TermStats) -> dict[str, float]:
    """Weight of each distinct word of ``text`` that occurs in some provision."""
    tf = Counter(words(text))
    return {
        term: (1.0 + math.log(count)) * background.rarity(term) * provisions.idf(term)
        for term, count in tf.items()
        if provisions.df.get(term)
    }


def key_terms(text: str, provisions: TermStats, background: TermStats, n: int) -> list[str]:
    """The ``n`` highest-weighted words (ties by the word, for determinism); zero weights dropped."""
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    weights = term_weights(text, provisions, background)
    ranked = sorted((t for t, w in weights.items() if w > 0), key=lambda t: (-weights[t], t))
    return ranked[:n]
