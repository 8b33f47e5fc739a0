"""Word normalisation shared by ranking signals: lowercase, stopwords out, Snowball English stems
(stems are not always words: "offences" -> "offenc").

    >>> terms("Punishment for abetting offences")
    ['punish', 'abet', 'offenc']
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and any are as at be been by can could do does etc for from has have he her his how i if in into is it "
    "its may me must my no not of on or other our shall she should so such than that the their them then there "
    "these they this those to under upon was we were what when where whether which while who whom whose why will "
    "with within without would you your".split()
)
# A Snowball stemmer keeps the word it is working on in itself, so threads sharing one corrupt each
# other's words (wrong stems, IndexError). Requests are served by a thread pool: one per thread.
_local = threading.local()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` in order (duplicates kept)."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def coverage(query_terms: set[str], heading: str) -> tuple[float, int]:
    """Share of a heading's content words that the query contains, and how many matched.

    A heading such as "Penetrative sexual assault" fully covered by "What is penetrative sexual
    assault?" scores 1.0; "Aggravated penetrative sexual assault" scores 0.75.
    """
    words = set(terms(heading))
    if not words:
        return 0.0, 0
    matched = len(words & query_terms)
    return matched / len(words), matched
