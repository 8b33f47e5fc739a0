"""Ranking metrics over binary relevance. Each takes the ranked keys and the set of relevant keys.

Definitions follow Manning, Raghavan & Schütze, *Introduction to Information Retrieval* (2008),
ch. 8, and Järvelin & Kekäläinen (2002) for nDCG with log2 discount.

    >>> mrr(["a", "b", "c"], {"b"})
    0.5
    >>> round(ndcg_at_k(["a", "b"], {"b"}, 10), 4)
    0.6309
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def hit_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return 1.0 if any(key in relevant for key in ranked[:k]) else 0.0


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return sum(1 for key in ranked[:k] if key in relevant) / k


def mrr(ranked: Sequence[str], relevant: set[str]) -> float:
    for rank, key in enumerate(ranked, start=1):
        if key in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, key in enumerate(ranked[:k], start=1) if key in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def average_precision(ranked: Sequence[str], relevant: set[str]) -> float:
    """Uninterpolated AP as in trec_eval's ``map``: relevant items never retrieved count as 0."""
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for rank, key in enumerate(ranked, start=1):
        if key in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def summarise(
    rankings: dict[str, Sequence[str]], relevant: dict[str, set[str]], query_ids: Sequence[str], k: int = 10
) -> dict[str, float]:
    """Mean nDCG@k, P@k and MAP over ``query_ids`` (every one must have a ranking and judgments)."""
    if not query_ids:
        raise ValueError("no queries to summarise")
    n = len(query_ids)
    return {
        f"ndcg@{k}": sum(ndcg_at_k(rankings[q], relevant[q], k) for q in query_ids) / n,
        f"p@{k}": sum(precision_at_k(rankings[q], relevant[q], k) for q in query_ids) / n,
        "map": sum(average_precision(rankings[q], relevant[q]) for q in query_ids) / n,
    }
