"""Quality gate on the dev questions, with the real Acts indexed (skipped without ../shared)."""

from __future__ import annotations

import pytest

from kb.evaluation.dev import evaluate, load_questions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(real_runtime, dev_questions_path):
    return evaluate(load_questions(dev_questions_path), real_runtime.searcher, real_runtime.answerer)


def test_retrieval_quality(report):
    overall = report["overall"]
    misses = [(q["id"], q["gold"], q["ranked"]) for q in report["per_question"] if q["gold"] and q["hit@5"] == 0]
    assert overall["hit@5"] >= 0.95, misses
    assert overall["mrr"] >= 0.85, report["per_question"]


def test_abstains_on_the_off_topic_question_only(report):
    wrong = [(q["id"], q["abstained"]) for q in report["per_question"] if q["abstained"] != (not q["gold"])]
    assert report["abstention_accuracy"] == 1.0, wrong


def test_every_citation_is_valid(report):
    assert report["citations_checked"] > 0
    assert report["citation_validity"] == 1.0
