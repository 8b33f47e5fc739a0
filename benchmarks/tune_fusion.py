"""Grid over fusion weights on a questions file; prints hit@1/@5 and MRR per setting.

    KB_DATA_DIR=/path/to/store python benchmarks/tune_fusion.py ../shared/eval/dev_questions.jsonl

The store must already hold the Acts (``kb ingest ../shared/sources/indiacode-md``). The model
loads once; each setting re-ranks every question. Use the result to choose defaults in
``kb/settings.py`` (RetrievalSettings); report held-out figures on questions not used here.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from kb.embedding import Encoder
from kb.evaluation.dev import evaluate, load_questions
from kb.retrieval.search import Searcher
from kb.settings import get_settings
from kb.stores.factory import open_store

GRID = {
    "bm25_weight": [1.0],
    "dense_weight": [0.5, 1.0, 1.5],
    "heading_weight": [0.0, 0.5, 1.0],
    "coverage_weight": [0.0, 0.5, 1.0, 2.0],
    "intent_weight": [0.0, 0.01, 0.02],
}


class CachedSearcher(Searcher):
    """Retrieval lists depend only on the query, not on the weights: compute them once."""

    cache: dict = {}

    def retrieve(self, plan, filters):
        key = (plan.text, repr(filters))
        if key not in self.cache:
            self.cache[key] = super().retrieve(plan, filters)
        return {k: list(v) for k, v in self.cache[key].items()}


def main(path: Path) -> None:
    settings = get_settings()
    store = open_store(settings)
    encoder = Encoder(settings.embedding)
    questions = [q for q in load_questions(path) if q.gold]
    rows = []
    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        retrieval = settings.retrieval.model_copy(update=dict(zip(names, values)))
        searcher = CachedSearcher(store, encoder, settings.model_copy(update={"retrieval": retrieval}))
        report = evaluate(questions, searcher, None)
        o = report["overall"]
        per_q = {q["id"]: (q["hit@5"], q["mrr"]) for q in report["per_question"]}
        rows.append((o["hit@5"], o["mrr"], o["hit@1"], dict(zip(names, values)), per_q))
        print(f"hit@5 {o['hit@5']:.3f}  MRR {o['mrr']:.3f}  hit@1 {o['hit@1']:.3f}  {dict(zip(names, values))}", flush=True)
    rows.sort(key=lambda r: (-r[0], -r[1]))
    print("\nbest:")
    for row in rows[:5]:
        print(f"hit@5 {row[0]:.3f}  MRR {row[1]:.3f}  hit@1 {row[2]:.3f}  {row[3]}")
    cross_validate(rows, [q.id for q in questions])


def cross_validate(rows, ids: list[str]) -> None:
    """Two folds (alternate questions): choose weights on one, report on the other."""
    folds = [set(ids[0::2]), set(ids[1::2])]

    def score(per_q, fold):
        hits = [per_q[i][0] for i in fold]
        rr = [per_q[i][1] for i in fold]
        return sum(hits) / len(hits), sum(rr) / len(rr)

    print("\n2-fold cross-validation (choose on one fold, report on the other):")
    for tune, test in ((0, 1), (1, 0)):
        best = max(rows, key=lambda r: score(r[4], folds[tune]))
        h, m = score(best[4], folds[test])
        print(f"  chosen on fold {tune}: {best[3]} -> held-out fold {test}: hit@5 {h:.3f} MRR {m:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
