"""Ranking metrics against hand-computed values, and against trec_eval (pytrec_eval) when installed.

Hand computations use the log2 discount: 1/log2(2) = 1, 1/log2(3) = 0.6309, 1/log2(4) = 0.5,
1/log2(5) = 0.4307, 1/log2(6) = 0.3869.
"""

from __future__ import annotations

import math
import random

import pytest

from kb.evaluation.metrics import (
    average_precision,
    hit_at_k,
    mrr,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    summarise,
)

D2, D3, D4, D5 = 1.0, 1 / math.log2(3), 0.5, 1 / math.log2(5)

# (ranked, relevant, k, expected nDCG@k)
NDCG = [
    (["a", "b", "c"], {"a"}, 10, 1.0),
    (["x", "a"], {"a"}, 10, D3),
    (["x", "a", "y", "b"], {"a", "b"}, 10, (D3 + D5) / (D2 + D3)),
    (["a", "b"], {"a", "b", "gone"}, 10, (D2 + D3) / (D2 + D3 + D4)),  # judged but never rankable (AILA's S58)
    (["x", "y", "a"], {"a"}, 2, 0.0),  # relevant item below the cut-off
    (["x", "y"], set(), 10, 0.0),  # nothing relevant: defined as 0, as trec_eval does
    (["a", "b", "c"], {"a", "b", "c"}, 2, 1.0),  # ideal DCG is cut at k too
]

# (ranked, relevant, expected AP): relevant items never retrieved add 0 but count in the denominator
AP = [
    (["a", "x", "b"], {"a", "b"}, (1 / 1 + 2 / 3) / 2),
    (["x", "a", "y", "b"], {"a", "b", "c"}, (1 / 2 + 2 / 4) / 3),
    (["x", "y"], {"a"}, 0.0),
    (["a"], set(), 0.0),
]

# (ranked, relevant, k, expected P@k): the divisor is k even when fewer items are ranked
PRECISION = [
    (["a", "x", "b", "y"], {"a", "b"}, 2, 0.5),
    (["a", "x", "b", "y"], {"a", "b"}, 10, 0.2),
    (["x"], {"a"}, 1, 0.0),
]


@pytest.mark.parametrize(("ranked", "relevant", "k", "expected"), NDCG)
def test_ndcg_matches_hand_computation(ranked, relevant, k, expected):
    assert ndcg_at_k(ranked, relevant, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("ranked", "relevant", "expected"), AP)
def test_average_precision_matches_hand_computation(ranked, relevant, expected):
    assert average_precision(ranked, relevant) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("ranked", "relevant", "k", "expected"), PRECISION)
def test_precision_matches_hand_computation(ranked, relevant, k, expected):
    assert precision_at_k(ranked, relevant, k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("fn", "args", "expected"),
    [
        (hit_at_k, (["x", "a"], {"a"}, 1), 0.0),
        (hit_at_k, (["x", "a"], {"a"}, 2), 1.0),
        (recall_at_k, (["a", "x", "b"], {"a", "b", "c", "d"}, 3), 0.5),
        (mrr, (["x", "y", "a"], {"a"}), 1 / 3),
        (mrr, (["x"], {"a"}), 0.0),
    ],
)
def test_other_metrics(fn, args, expected):
    assert fn(*args) == pytest.approx(expected)


def test_summarise_means_over_the_named_queries_only():
    rankings = {"q1": ["a", "x"], "q2": ["x", "b"], "q3": ["c"]}
    relevant = {"q1": {"a"}, "q2": {"b"}, "q3": {"zzz"}}
    out = summarise(rankings, relevant, ["q1", "q2"], k=2)
    assert out == pytest.approx({"ndcg@2": (1.0 + D3) / 2, "p@2": 0.5, "map": (1.0 + 0.5) / 2})


def test_summarise_refuses_an_empty_query_list():
    with pytest.raises(ValueError, match="no queries"):
        summarise({}, {}, [])


def _random_case(rng: random.Random) -> tuple[list[str], set[str]]:
    pool = [f"S{i}" for i in range(30)]
    ranked = rng.sample(pool, rng.randint(1, 30))
    relevant = set(rng.sample(pool + ["S_absent"], rng.randint(1, 6)))
    return ranked, relevant


def test_agrees_with_trec_eval_on_random_rankings():
    """The reference: trec_eval's own code through pytrec_eval (optional test dependency)."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = random.Random(2019)
    cases = {f"q{n}": _random_case(rng) for n in range(200)}
    qrels = {q: {doc: 1 for doc in relevant} | {"S_judged_wrong": 0} for q, (_, relevant) in cases.items()}
    # Distinct, strictly decreasing scores so trec_eval's order is exactly ours.
    run = {q: {doc: float(len(ranked) - i) for i, doc in enumerate(ranked)} for q, (ranked, _) in cases.items()}
    reference = pytrec_eval.RelevanceEvaluator(qrels, {"map", "ndcg_cut_10", "P_10"}).evaluate(run)
    for q, (ranked, relevant) in cases.items():
        assert ndcg_at_k(ranked, relevant, 10) == pytest.approx(reference[q]["ndcg_cut_10"], abs=1e-9), q
        assert average_precision(ranked, relevant) == pytest.approx(reference[q]["map"], abs=1e-9), q
        assert precision_at_k(ranked, relevant, 10) == pytest.approx(reference[q]["P_10"], abs=1e-9), q
