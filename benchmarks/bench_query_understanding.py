"""Latency of query understanding (citations, concordance, expansions, intents) per query.

    python benchmarks/bench_query_understanding.py
    python benchmarks/bench_query_understanding.py --repeat 2000

Two workloads: the dev questions (``../shared/eval/dev_questions.jsonl`` when present, else a
built-in list of typical questions) and synthetic 2,000-character queries (the API's longest
accepted query) packed with section numbers, Act names and lay terms, the worst case for the
citation parser. Prints p50/p95 in microseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kb.query.understand import understand  # noqa: E402  (after the path is set)

DEV = REPO.parent / "shared" / "eval" / "dev_questions.jsonl"
TYPICAL = [
    "what replaced IPC 354D",
    "punishment for storing CSAM",
    "POCSO 19(1)",
    "how to record a child's statement",
    "under the JJ Act who can adopt",
    "sections 19 and 21 of the POCSO Act, 2012",
]
WORDS = (
    "section s. 19 of POCSO IPC 354D under the JJ Act 12 years child CSAM FIR bail 2(1)(da) and to clause (d) "
    "of sub-section (1) u/s 376 r/w 34 aged top 10 Rs 500 IT 67B it act what does"
).split()


def _questions() -> tuple[list[str], str]:
    if DEV.is_file():
        rows = [json.loads(line) for line in DEV.read_text("utf-8").splitlines() if line.strip()]
        return [row["question"] for row in rows], str(DEV)
    return TYPICAL, "built-in list"


def _time(queries: list[str], repeat: int) -> list[float]:
    understand("warm up")
    samples = []
    for _ in range(repeat):
        for query in queries:
            start = time.perf_counter()
            understand(query)
            samples.append((time.perf_counter() - start) * 1e6)
    return samples


def _report(name: str, samples: list[float]) -> None:
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{name:<34} n={len(samples):>6}  p50={statistics.median(samples):>9.0f} us  p95={p95:>9.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="passes over the question list")
    parser.add_argument("--long", type=int, default=50, help="number of synthetic 2,000-character queries")
    args = parser.parse_args()
    questions, source = _questions()
    print(f"questions from {source}")
    _report("questions", _time(questions, args.repeat))
    rng = random.Random(0)
    long_queries = [" ".join(rng.choice(WORDS) for _ in range(400))[:2000] for _ in range(args.long)]
    _report("2,000-char citation-dense queries", _time(long_queries, 1))


if __name__ == "__main__":
    main()
