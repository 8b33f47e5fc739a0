"""The neighbour prior, score combination and leave-one-out fitting, on small hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kb.evaluation import aila_learn as learn

KEYS = ["S1", "S2", "S3", "S4"]


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_flat_prior_is_the_smoothed_relevance_frequency():
    neighbours = np.stack([unit(1, 0), unit(0, 1)])
    prior = learn.log_prior(unit(1, 0), neighbours, [{"S1"}, {"S1", "S2"}], KEYS, temperature=None)
    alpha, n = learn.SMOOTHING, 2
    expected = [math.log((mass + alpha / n) / (1 + alpha)) for mass in (1.0, 0.5, 0.0, 0.0)]
    assert prior == pytest.approx(expected)


def test_low_temperature_follows_the_most_similar_training_query():
    neighbours = np.stack([unit(1, 0), unit(0, 1)])
    prior = learn.log_prior(unit(0.9, 0.1), neighbours, [{"S3"}, {"S4"}], KEYS, temperature=0.01)
    ranked = learn.rank(prior, KEYS, np.arange(4))
    assert ranked[0] == "S3"
    # The far query's statute is as unsupported as one nobody cites.
    assert prior[KEYS.index("S4")] == pytest.approx(prior[KEYS.index("S1")], abs=1e-6)


def test_unpooled_relevant_ids_are_ignored_by_the_prior():
    prior = learn.log_prior(unit(1, 0), np.stack([unit(1, 0)]), [{"S58"}], KEYS, temperature=None)
    assert len(set(prior.round(12))) == 1  # every statute equally (un)supported


def test_leave_one_out_prior_never_uses_the_querys_own_judgments():
    vectors = {"q1": unit(1, 0), "q2": unit(1, 0.1), "q3": unit(0, 1)}
    qrels = {"q1": {"S1"}, "q2": {"S2"}, "q3": {"S3"}}
    prior = learn.loo_prior("q1", ["q1", "q2", "q3"], vectors, qrels, KEYS, temperature=0.05)
    assert learn.rank(prior, KEYS, np.arange(4))[0] == "S2"  # the nearest *other* query's statute
    assert prior[KEYS.index("S1")] == pytest.approx(prior[KEYS.index("S4")])  # its own answer gets nothing


@pytest.mark.parametrize(
    ("scores", "tiebreak", "expected"),
    [
        ([1.0, 3.0, 2.0, 0.0], [0, 1, 2, 3], ["S2", "S3", "S1", "S4"]),
        ([1.0, 1.0, 1.0, 5.0], [2, 1, 0, 3], ["S4", "S3", "S2", "S1"]),  # ties follow the tie-break order
        ([-np.inf, 1.0, -np.inf, 0.5], [3, 0, 1, 2], ["S2", "S4", "S3", "S1"]),  # unscored last, tie-broken
    ],
)
def test_rank(scores, tiebreak, expected):
    assert learn.rank(np.array(scores), KEYS, np.array(tiebreak)) == expected


def test_standardise_handles_constant_scores():
    assert learn.standardise(np.zeros(4)).tolist() == [0.0] * 4
    z = learn.standardise(np.array([1.0, 2.0, 3.0]))
    assert z.mean() == pytest.approx(0.0) and z.std() == pytest.approx(1.0)


def test_fit_finds_the_prior_when_retrieval_is_noise():
    """Training queries alike in embedding share answers; BM25 points elsewhere. The fit must
    give the prior weight and rank the shared answer first for every held-out training query."""
    rng = np.random.default_rng(7)
    vectors = {f"q{i}": unit(1, 0.05 * i) for i in range(6)}
    qrels = {q: {"S3"} for q in vectors}
    signals = {
        q: learn.QuerySignals(bm25=np.array([3.0, 2.0, 0.0, 1.0]) + rng.normal(0, 0.01, 4), dense=rng.normal(0, 1, 4))
        for q in vectors
    }
    params, loo = learn.fit(list(vectors), signals, vectors, qrels, KEYS, np.arange(4))
    assert loo == pytest.approx(1.0)
    assert params.prior_weight > 0
    for q in vectors:
        prior = learn.loo_prior(q, list(vectors), vectors, qrels, KEYS, params.temperature)
        assert learn.rank(learn.combined(signals[q], prior, params), KEYS, np.arange(4))[0] == "S3"


def test_fit_needs_two_training_queries():
    with pytest.raises(ValueError, match="at least 2 training queries, got 1"):
        learn.fit(["q1"], {}, {}, {}, KEYS, np.arange(4))
