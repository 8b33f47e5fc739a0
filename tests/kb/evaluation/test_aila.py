"""The AILA-2019 statute task end to end: real release, real store, real MiniLM model.

One run (about two minutes on two CPU cores) is shared by every test in this module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.evaluation.aila import run_aila
from kb.evaluation.aila_data import TEST_QUERIES, TRAIN_QUERIES, load_aila
from kb.evaluation.metrics import summarise
from kb.settings import Settings

pytestmark = pytest.mark.slow

RUNS = ("bm25", "dense", "rrf", "bm25_keywords", "dense_passages", "rrf_keywords_passages", "statute_prior", "learned")
METRICS = ("ndcg@10", "p@10", "map")


@pytest.fixture(scope="module")
def dataset_dir(shared_sources: Path) -> Path:
    path = shared_sources / "aila2019" / "AILA_2019_dataset"
    if not (path / "Query_doc.txt").is_file():
        pytest.skip(f"AILA 2019 dataset not found at {path}")
    return path


@pytest.fixture(scope="module")
def report(dataset_dir: Path, tmp_path_factory) -> dict:
    settings = Settings(data_dir=tmp_path_factory.mktemp("aila") / "data")
    return run_aila(dataset_dir, settings, with_rankings=True)


def test_report_is_the_original_protocol(report):
    assert (report["queries"], report["statutes"], report["relevant_pairs"]) == (50, 197, 221)
    assert report["unretrievable_relevant"] == {"S58": 4}
    assert set(report["runs"]) == set(RUNS)
    assert report["best_run"] in report["runs"]
    for name, metrics in report["runs"].items():
        for metric in METRICS:
            for suffix in ("", "_test_q11_50", "_train_q1_10"):
                value = metrics[metric + suffix]
                assert 0.0 <= value <= 1.0, (name, metric + suffix, value)
    assert report["fitted"]["key_terms"] in (10, 15, 20, 30)
    assert any("S58" in note for note in report["notes"])
    assert any("Q11-Q50" in note and "nothing is fitted" in note for note in report["notes"])


def test_every_run_ranks_every_statute_once_for_every_query(report, dataset_dir):
    statutes = set(load_aila(dataset_dir).statutes)
    for name, rankings in report["rankings"].items():
        assert set(rankings) == {*TRAIN_QUERIES, *TEST_QUERIES}, name
        for qid, ranked in rankings.items():
            assert len(ranked) == len(statutes) and set(ranked) == statutes, (name, qid)


def test_plain_baselines_are_near_the_published_references(report):
    """References on this protocol: BM25 (bm25s) 0.119, all-MiniLM-L6-v2 0.094, their RRF 0.112."""
    runs = report["runs"]
    assert 0.08 <= runs["bm25"]["ndcg@10"] <= 0.20
    assert 0.05 <= runs["dense"]["ndcg@10"] <= 0.15
    assert 0.06 <= runs["rrf"]["ndcg@10"] <= 0.18


def test_long_query_handling_and_learning_beat_plain_bm25_on_held_out_queries(report):
    runs = report["runs"]
    bm25 = runs["bm25"]["ndcg@10_test_q11_50"]
    assert runs["bm25_keywords"]["ndcg@10_test_q11_50"] > bm25
    assert runs["dense_passages"]["ndcg@10_test_q11_50"] > runs["dense"]["ndcg@10_test_q11_50"]
    best = runs[report["best_run"]]
    assert best["ndcg@10"] >= 0.25 and best["ndcg@10_test_q11_50"] >= 0.25
    assert best["ndcg@10_test_q11_50"] >= 2 * bm25


def test_metrics_agree_with_trec_eval(report, dataset_dir):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    data = load_aila(dataset_dir)
    qrels = {q: {**{sid: 0 for sid in data.statutes}, **{sid: 1 for sid in rel}} for q, rel in data.qrels.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"map", "ndcg_cut_10", "P_10"})
    for name in ("bm25", report["best_run"]):
        ranked = report["rankings"][name]
        run = {q: {sid: float(len(r) - i) for i, sid in enumerate(r)} for q, r in ranked.items()}
        per_query = evaluator.evaluate(run)
        ours = summarise(ranked, data.qrels, list(ranked))
        n = len(per_query)
        assert ours["ndcg@10"] == pytest.approx(sum(v["ndcg_cut_10"] for v in per_query.values()) / n, abs=1e-9)
        assert ours["map"] == pytest.approx(sum(v["map"] for v in per_query.values()) / n, abs=1e-9)
        assert ours["p@10"] == pytest.approx(sum(v["P_10"] for v in per_query.values()) / n, abs=1e-9)
        assert report["runs"][name]["ndcg@10"] == pytest.approx(ours["ndcg@10"], abs=5e-5)
