"""The citation guarantee: nothing reaches a user unless the store holds the text it quotes.

    >>> kept, dropped = verify_citations(store, citations)    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kb.models import Citation, Quote
from kb.stores.base import KnowledgeStore


@dataclass(frozen=True)
class Dropped:
    provision_key: str
    reason: str
    quote: str | None = None


def verify_quote(text: str, quote: Quote) -> bool:
    """The quote is exactly the stored text at its span."""
    if quote.char_start < 0 or quote.char_end > len(text) or quote.char_start >= quote.char_end:
        return False
    return text[quote.char_start:quote.char_end] == quote.text


def verify_citations(store: KnowledgeStore, citations: list[Citation], *, require_quotes: bool = True) -> tuple[list[Citation], list[Dropped]]:
    """Keep citations whose provision exists and whose every kept quote is verbatim at its span.

    The locator shown is the stored provision's own (act, section, heading, page), never the
    caller's: a forged heading or act title cannot ride on a valid key.
    """
    keys = [c.provision_key for c in citations]
    stored = store.get_provisions(keys) if keys else {}
    kept: list[Citation] = []
    dropped: list[Dropped] = []
    for citation in citations:
        provision = stored.get(citation.provision_key)
        if provision is None:
            dropped.append(Dropped(citation.provision_key, "no such provision in the store"))
            continue
        good = []
        for quote in citation.quotes:
            if verify_quote(provision.text, quote):
                good.append(quote)
            else:
                dropped.append(Dropped(citation.provision_key, "quote not found verbatim at its span", quote.text[:80]))
        if require_quotes and not good:
            dropped.append(Dropped(citation.provision_key, "no verifiable quote left" if citation.quotes else "no quote"))
            continue
        kept.append(replace(citation, locator=provision.locator, quotes=good))
    return kept, dropped
