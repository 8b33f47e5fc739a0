"""What the AILA run learns from the judged training queries (Q1-Q10), and how it is fitted.

**Neighbour prior.** Cases that read alike cite alike statutes: a murder appeal cites "Punishment
for murder" and "common intention", a writ petition cites "Power of High Courts to issue
certain writs". For a query q the prior of statute s is

    prior(s | q) = Σ_t w_t · [s ∈ relevant(t)],   w = softmax(cos(q, t) / temperature)

over the training queries t ≠ q (MiniLM embeddings of the query texts); ``temperature=None``
gives every training query the same weight (a plain statute-frequency prior). Its log, with
add-α smoothing, is added to z-standardised retrieval scores:

    score(s) = w_bm25 · z(bm25) + w_dense · z(dense) + w_prior · ln((prior + α/n) / (1 + α))

**Fitting.** The four numbers are chosen on Q1-Q10 by leave-one-out: each training query is
scored with the prior built from the other nine, so no query ever sees its own judgments and
the prior's weight is not inflated by memorised answers. The test queries Q11-Q50 play no part.

    >>> params, loo = fit(train_ids, signals, query_vectors, qrels, keys, tiebreak)   # doctest: +SKIP
    >>> params.temperature, round(loo, 3)                                             # doctest: +SKIP
    (0.1, 0.426)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kb.evaluation.metrics import ndcg_at_k

SMOOTHING = 0.5  # add-α on the prior: a statute no neighbour cites keeps a finite log-prior
TEMPERATURES: tuple[float | None, ...] = (0.02, 0.05, 0.1, 0.2, None)
PRIOR_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
SIGNAL_WEIGHTS = {"bm25": (0.5, 1.0), "dense": (0.0, 0.5, 1.0)}


@dataclass(frozen=True)
class Params:
    temperature: float | None
    prior_weight: float
    bm25_weight: float
    dense_weight: float

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True)
class QuerySignals:
    """Per-statute arrays (aligned with the statute key list) for one query."""

    bm25: np.ndarray
    dense: np.ndarray


def standardise(values: np.ndarray) -> np.ndarray:
    """z-scores; a constant array (e.g. no BM25 match at all) becomes all zeros."""
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def aligned(scores: dict[str, float], keys: Sequence[str], missing: float = 0.0) -> np.ndarray:
    return np.array([scores.get(k, missing) for k in keys], dtype=np.float64)


def neighbour_weights(query: np.ndarray, neighbours: np.ndarray, temperature: float | None) -> np.ndarray:
    if temperature is None:
        return np.full(len(neighbours), 1.0 / len(neighbours))
    logits = neighbours @ query / temperature
    logits -= logits.max()  # softmax without overflow
    weights = np.exp(logits)
    return weights / weights.sum()


def log_prior(
    query: np.ndarray,
    neighbours: np.ndarray,
    neighbour_relevant: Sequence[set[str]],
    keys: Sequence[str],
    temperature: float | None,
) -> np.ndarray:
    """ln of the smoothed neighbour prior of every statute in ``keys`` (see the module docstring)."""
    if len(neighbours) == 0:
        raise ValueError("the neighbour prior needs at least one judged training query")
    weights = neighbour_weights(query, neighbours, temperature)
    mass = np.zeros(len(keys))
    index = {k: i for i, k in enumerate(keys)}
    for weight, relevant in zip(weights, neighbour_relevant, strict=True):
        for sid in relevant:
            if sid in index:  # S58 is judged but absent from the pool: nothing to boost
                mass[index[sid]] += weight
    n = len(neighbours)
    return np.log((mass + SMOOTHING / n) / (1.0 + SMOOTHING))


def rank(scores: np.ndarray, keys: Sequence[str], tiebreak: np.ndarray) -> list[str]:
    """Keys by descending score; equal scores follow ``tiebreak`` (ascending)."""
    order = np.lexsort((tiebreak, -scores))
    return [keys[i] for i in order]


def combined(signals: QuerySignals, prior: np.ndarray, params: Params) -> np.ndarray:
    score = params.bm25_weight * standardise(signals.bm25) + params.prior_weight * prior
    if params.dense_weight:
        score = score + params.dense_weight * standardise(signals.dense)
    return score


def loo_prior(
    qid: str,
    train_ids: Sequence[str],
    vectors: dict[str, np.ndarray],
    qrels: dict[str, set[str]],
    keys: Sequence[str],
    temperature: float | None,
) -> np.ndarray:
    """The prior of ``qid`` built from the training queries other than ``qid`` itself."""
    others = [t for t in train_ids if t != qid]
    return log_prior(vectors[qid], np.stack([vectors[t] for t in others]), [qrels[t] for t in others], keys, temperature)


def grid() -> list[Params]:
    return [
        Params(temperature=t, prior_weight=p, bm25_weight=b, dense_weight=d)
        for t, p, b, d in itertools.product(TEMPERATURES, PRIOR_WEIGHTS, SIGNAL_WEIGHTS["bm25"], SIGNAL_WEIGHTS["dense"])
    ]


def fit(
    train_ids: Sequence[str],
    signals: dict[str, QuerySignals],
    vectors: dict[str, np.ndarray],
    qrels: dict[str, set[str]],
    keys: Sequence[str],
    tiebreak: np.ndarray,
    *,
    k: int = 10,
) -> tuple[Params, float]:
    """The grid point with the best leave-one-out mean nDCG@k over ``train_ids`` (first wins ties)."""
    if len(train_ids) < 2:
        raise ValueError(f"leave-one-out fitting needs at least 2 training queries, got {len(train_ids)}")
    priors = {
        (qid, t): loo_prior(qid, train_ids, vectors, qrels, keys, t) for qid in train_ids for t in TEMPERATURES
    }
    best: tuple[Params, float] | None = None
    for params in grid():
        score = sum(
            ndcg_at_k(rank(combined(signals[q], priors[(q, params.temperature)], params), keys, tiebreak), qrels[q], k)
            for q in train_ids
        ) / len(train_ids)
        if best is None or score > best[1] + 1e-12:
            best = (params, score)
    assert best is not None
    return best


def describe(params: Params) -> str:
    temperature = "flat" if params.temperature is None else f"{params.temperature:g}"
    return (
        f"temperature={temperature}, prior weight={params.prior_weight:g}, "
        f"bm25 weight={params.bm25_weight:g}, dense weight={params.dense_weight:g}"
    )
