"""``kb eval QUESTIONS.jsonl``: retrieval quality, abstention and citation validity.

Each line: ``{"id": "D01", "audience": "lawyer", "question": "...", "gold": ["pocso:8"]}``;
an empty ``gold`` means the knowledge base should abstain.

    >>> report = evaluate(load_questions(path), searcher, answerer)   # doctest: +SKIP
    >>> report["overall"]["hit@5"]                                    # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.answers.compose import Answerer
from kb.answers.verify import verify_citations
from kb.errors import KBError
from kb.evaluation.metrics import hit_at_k, mrr, ndcg_at_k, recall_at_k
from kb.retrieval.search import Searcher


@dataclass
class Question:
    id: str
    question: str
    gold: list[str]
    audience: str = "lawyer"
    extra: dict[str, Any] = field(default_factory=dict)


def _gold_key(key: str) -> str:
    """``IT:69A`` -> ``it:69A``: act keys are lowercase, section numbers keep their letters."""
    act, _, section = key.partition(":")
    return f"{act.strip().lower()}:{section.strip().upper()}"


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(id=str(row.get("id", number)), question=row["question"],
                                      gold=[_gold_key(g) for g in row.get("gold", [])], audience=row.get("audience") or "lawyer"))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise KBError(f"{path}:{number}: not a question line ({err})", path=str(path), line=number) from err
    return questions


def _metrics(ranked: list[str], gold: set[str]) -> dict[str, float]:
    return {
        "hit@1": hit_at_k(ranked, gold, 1),
        "hit@5": hit_at_k(ranked, gold, 5),
        "recall@5": recall_at_k(ranked, gold, 5),
        "mrr": mrr(ranked, gold),
        "ndcg@10": ndcg_at_k(ranked, gold, 10),
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}


def _through_guides(searcher: Searcher, hits: list, gold: set[str]) -> list[str]:
    """Ranked keys where a guide block that cites a gold provision stands for it, at its own rank.

    With only the shipped guides indexed, a question about POCSO s. 19 is answered by the guide
    section that explains and cites s. 19; this credits that, and nothing the guide does not cite.
    """
    blocks = [h.provision_key for h in hits if h.locator.doc_type not in ("act", "rules")]
    stored = searcher.store.get_provisions(blocks) if blocks else {}
    ranked: list[str] = []
    for hit in hits:
        cited = set(stored[hit.provision_key].cross_refs) & gold if hit.provision_key in stored else set()
        cited -= set(ranked)  # a gold provision counts once, at its best rank
        ranked.append(min(cited) if cited else hit.provision_key)
    return ranked


def evaluate(questions: list[Question], searcher: Searcher, answerer: Answerer | None = None, *, top_k: int = 10) -> dict[str, Any]:
    per_question = []
    by_audience: dict[str, list[dict[str, float]]] = defaultdict(list)
    overall: list[dict[str, float]] = []
    via_guides: list[dict[str, float]] = []
    abstain_right = abstain_total = 0
    citations_valid = citations_total = 0
    for q in questions:
        result = searcher.search(q.question, top_k=top_k)
        ranked = [h.provision_key for h in result.hits]
        row: dict[str, Any] = {"id": q.id, "audience": q.audience, "question": q.question, "gold": q.gold, "ranked": ranked[:5]}
        if q.gold:
            m = _metrics(ranked, set(q.gold))
            row.update(m)
            overall.append(m)
            by_audience[q.audience].append(m)
            via = _metrics(_through_guides(searcher, result.hits, set(q.gold)), set(q.gold))
            row["via_guides_hit@5"] = via["hit@5"]
            via_guides.append(via)
        if answerer is not None:
            answer = answerer.ask(q.question, audience=q.audience if q.audience in ("lawyer", "police", "ngo") else "lawyer")
            should_abstain = not q.gold
            abstain_total += 1
            abstain_right += int(answer.abstained == should_abstain)
            row["abstained"] = answer.abstained
            row["answer_citations"] = [c.text for c in answer.citations]
            everything = answer.citations + answer.related
            kept, dropped = verify_citations(answerer.store, everything, require_quotes=False)
            citations_total += len(everything)
            citations_valid += len(kept) - sum(1 for d in dropped if d.quote)
        per_question.append(row)
    report: dict[str, Any] = {
        "questions": len(questions),
        "overall": _mean(overall),
        "per_audience": {a: _mean(rows) for a, rows in sorted(by_audience.items())},
        "via_guides": _mean(via_guides),
        "per_question": per_question,
    }
    if answerer is not None:
        report["abstention_accuracy"] = round(abstain_right / abstain_total, 4) if abstain_total else None
        report["citation_validity"] = round(citations_valid / citations_total, 4) if citations_total else None
        report["citations_checked"] = citations_total
    return report
