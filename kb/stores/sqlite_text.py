"""Text handling of the embedded store: FTS5 tokenizer, user text -> FTS5 query, section order.

The FTS5 tokenizer is ``porter unicode61 remove_diacritics 2`` plus the Devanagari combining
marks as token characters. Without them unicode61 splits Hindi words at every vowel sign and
virama (they are Unicode categories Mn/Mc, which unicode61 treats as separators), so
``बच्चों`` would be indexed as fragments and never match as a word. Section numbers such as
``67B`` are letters and digits only, so unicode61 already keeps them whole (folded to ``67b``).

    >>> fts_match_query("What is the punishment under s. 67B?", column="content")
    '{content} : ("punishment" OR "s" OR "67b")'
    >>> natural_sort_key("42A") < natural_sort_key("100")
    True
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from kb.errors import QueryError

# Every combining mark (Mn/Mc) of the Devanagari block U+0900-U+097F.
DEVANAGARI_MARKS = "".join(
    chr(cp) for cp in range(0x0900, 0x0980) if unicodedata.category(chr(cp)) in ("Mn", "Mc")
)
FTS_TOKENIZE = f"porter unicode61 remove_diacritics 2 tokenchars '{DEVANAGARI_MARKS}'"

# The same token alphabet as the tokenizer: letters and digits (not "_", which unicode61
# treats as punctuation) plus the Devanagari marks.
_TOKEN_RE = re.compile(rf"(?:[^\W_]|[{DEVANAGARI_MARKS}])+")

# Lucene's English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET) plus question words and
# pronouns that users type into a search box but that never distinguish one provision from another.
ENGLISH_STOPWORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then
    there these they this to was will with
    what which who whom whose how when where why do does did can could should would shall may might
    i me my we our you your he she his her its them am been being has have had any some about""".split()
)

MAX_QUERY_TERMS = 64  # distinct terms OR-ed into one query; more add cost, not recall
MAX_TERM_CHARS = 64  # longer "words" are noise (base64, run-together text) and are dropped


def check_top_k(top_k: int) -> None:
    """Raise :class:`~kb.errors.QueryError` unless ``top_k`` is a positive integer."""
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k <= 0:
        raise QueryError(f"top_k must be a positive integer, got {top_k!r}")


def bm25_terms(field: str, query: Any, top_k: int) -> list[str]:
    """Check the arguments of a BM25 retrieval and return the query's terms (``[]``: nothing to search)."""
    if field not in ("content", "heading"):
        raise QueryError(f"field must be 'content' or 'heading', got {field!r}")
    if not isinstance(query, str):
        raise QueryError(f"query must be a string, got {type(query).__name__}")
    check_top_k(top_k)
    return query_terms(query)


def query_terms(text: str) -> list[str]:
    """Distinct search terms of user text, in order, stopwords dropped.

    A stopword written in capitals (``IT`` as in "IT Act") is kept: in this domain capitals
    mark an abbreviation, not the pronoun.
    """
    seen: set[str] = set()
    terms: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        raw = match.group()
        term = raw.casefold()
        if len(raw) > MAX_TERM_CHARS or term in seen:
            continue
        if term in ENGLISH_STOPWORDS and not (raw.isupper() and len(raw) > 1):
            continue
        seen.add(term)
        terms.append(term)
        if len(terms) == MAX_QUERY_TERMS:
            break
    return terms


def fts_match_query(text: str, *, column: str) -> str | None:
    """An FTS5 MATCH expression OR-ing the quoted terms of ``text`` within ``column``.

    Every term is a quoted string, so FTS5 operators typed by a user (``NEAR``, ``AND``, ``*``,
    ``^``, ``:``, parentheses, quotes) are plain words or dropped punctuation. Returns ``None``
    when nothing searchable is left.
    """
    terms = query_terms(text)
    if not terms:
        return None
    # The token alphabet has no '"', so quoting needs no escaping.
    return "{%s} : (%s)" % (column, " OR ".join(f'"{term}"' for term in terms))


_DIGITS_RE = re.compile(r"(\d+)")


def natural_sort_key(section: str) -> str:
    """A string that sorts sections naturally: ``1 < 2 < 2A < 3 < 10 < 42 < 42A``.

    Digit runs are zero-padded to 10 places so plain string order is numeric order; numbered
    sections come before named ones ("Schedule") because '0' sorts before letters.
    """
    parts = _DIGITS_RE.split(section.strip())
    return "".join(part.zfill(10) if part.isdigit() else part.upper() for part in parts)


def heading_text(meta: dict[str, Any]) -> str:
    """What the ``heading`` FTS column holds for a chunk: its heading and heading path."""
    parts: list[str] = []
    path = meta.get("heading_path")
    candidates = [meta.get("heading"), *(path if isinstance(path, (list, tuple)) else [path])]
    for part in candidates:
        if isinstance(part, str) and part and part not in parts:
            parts.append(part)
    return " \u2014 ".join(parts)
