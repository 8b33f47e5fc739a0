"""Query latency, build time and memory of the embedded SQLite store next to Haystack's
InMemoryDocumentStore, on the same synthetic chunks in the same run.

    python benchmarks/bench_store.py --n 10000 100000
    python benchmarks/bench_store.py --n 10000 --queries 100 --inmemory-queries 20

Chunks are built from real Act text when ``../shared/sources/indiacode-md`` exists: every
section is cut into sentences, and each chunk is a run of 2-6 sentences of one section plus, half
of the time, a sentence of another section of the same Act, shuffled, so N chunks are distinct but
read like statute text. Without the sources a small legal vocabulary is used instead (printed).
Embeddings are random unit vectors of dimension 384 (the cost of exact search does not depend on
their values); queries use the dev questions as text and random unit vectors.

Each backend runs in its own process so its peak RSS (``resource.getrusage``) is its own:
SQLite build, SQLite serving (a fresh process opening the file, as the API does), InMemory
(build and queries). Hybrid = BM25 top 100 + dense top 100 fused by reciprocal rank (k=60),
top 10, run one after the other. Target: hybrid p50 <= 15 ms at 100k chunks on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SOURCES = ROOT.parent / "shared" / "sources" / "indiacode-md"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
DIM = 384
BATCH = 5000
CANDIDATES = 100
AUDIENCES = ("lawyer", "police", "ngo")
_STOP = {"the", "of", "and", "act", "from", "for", "to", "in", "on"}
_SECTION = re.compile(r"^## (?:Section (\S+?) - (.*)|Page (\d+))$")
_SENTENCE_END = re.compile(r"(?<=[.;:])\s+(?=[A-Z(])")


# --- corpus ---------------------------------------------------------------------------------
def act_sections() -> tuple[dict[tuple[str, str], dict], str]:
    """``{(act_key, section): {"title", "year", "heading", "sentences"}}`` and where it came from."""
    if not SOURCES.is_dir():
        words = ("child offence punishment police report court magistrate guardian consent evidence "
                 "imprisonment fine victim statement medical examination officer juvenile board").split()  # fmt: skip
        rng = random.Random(1)
        return {("synthetic", str(s)): {"title": "Synthetic Act", "year": 2000, "heading": f"Heading {s}",
                "sentences": [" ".join(rng.choices(words, k=14)).capitalize() + "." for _ in range(12)]}
                for s in range(1, 400)}, "synthetic vocabulary (../shared/sources absent)"  # fmt: skip
    sections: dict[tuple[str, str], dict] = {}
    for folder in sorted(p for p in SOURCES.iterdir() if p.is_dir()):
        words = [w for w in folder.name.split("-") if w not in _STOP and not w.isdigit()]
        act_key, year = "".join(w[0] for w in words), int(folder.name.rsplit("-", 1)[-1])
        for part in sorted(folder.glob("part-*.md")):
            _read_part(part, act_key, year, folder.name.replace("-", " ").title(), sections)
    sections = {k: v for k, v in sections.items() if len(v["sentences"]) >= 2}
    return sections, f"{len(sections)} sections of {len({k[0] for k in sections})} Acts in {SOURCES}"


def _read_part(path: Path, act_key: str, year: int, title: str, out: dict) -> None:
    current, body, skipping = None, [], False

    def flush() -> None:
        if current is not None:
            text = re.sub(r"\^\d+|\s+", " ", " ".join(body)).strip()
            out.setdefault(current[0], {"title": title, "year": year, "heading": current[1], "sentences": []})[
                "sentences"].extend(s for s in _SENTENCE_END.split(text) if len(s.split()) >= 5)  # fmt: skip

    for line in path.read_text(encoding="utf-8").splitlines():
        match = _SECTION.match(line)
        if match:
            flush()
            section = match.group(1) or f"page-{match.group(3)}"
            current, body, skipping = ((act_key, section), (match.group(2) or "").rstrip(".")), [], False
        elif line.startswith("### Footnotes"):
            skipping = True
        elif current is not None and not skipping:
            body.append(line)
    flush()


def synthetic_chunks(n: int, seed: int = 7) -> Iterator[list]:
    """Batches of ``BATCH`` distinct Haystack Documents with chunk-like meta and unit embeddings."""
    import numpy as np
    from haystack import Document

    sections, _ = act_sections()
    keys = sorted(sections)
    by_act: dict[str, list] = {}
    for key in keys:
        by_act.setdefault(key[0], []).append(key)
    rng, vectors, seen = random.Random(seed), np.random.default_rng(seed), set()
    batch = []
    for i in range(n):
        key = rng.choice(keys)
        info = sections[key]
        sentences = info["sentences"]
        start = rng.randrange(len(sentences))
        picked = sentences[start : start + rng.randint(2, 6)]
        while True:
            if rng.random() < 0.5 or hashlib.blake2b(" ".join(picked).encode()).digest() in seen:
                other = sections[rng.choice(by_act[key[0]])]["sentences"]
                picked = [*picked, rng.choice(other)]
                rng.shuffle(picked)
            digest = hashlib.blake2b(" ".join(picked).encode()).digest()
            if digest not in seen:
                break
        seen.add(digest)
        act_key, section = key
        meta = {"act_key": act_key, "act_title": info["title"], "year": info["year"], "section": section,
                "heading": info["heading"], "provision_key": f"{act_key}:{section}", "pinpoint": section,
                "doc_type": "act", "doc_id": f"bench-{act_key}", "language": "en", "char_start": 0,
                "audience": sorted(rng.sample(AUDIENCES, rng.randint(1, 3))),
                "citation": f"{info['title']}, s. {section}"}  # fmt: skip
        vector = vectors.standard_normal(DIM).astype(np.float32)
        vector /= np.linalg.norm(vector)
        batch.append(Document(id=f"c{i}", content=" ".join(picked), meta=meta, embedding=vector.tolist()))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def queries(count: int, seed: int = 11) -> list[tuple[str, list[float]]]:
    import numpy as np

    texts = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()] if QUESTIONS.is_file() else []
    if not texts:
        texts = ["punishment for sexual assault on a child", "duty to report an offence", "child welfare committee"]
    vectors = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [(texts[i % len(texts)], vectors[i].tolist()) for i in range(count)]


# --- measuring ------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now; ``RssAnon`` is the heap alone, ``RssFile`` the mapped database pages."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def latencies(fn: Callable[[str, list[float]], object], qs: list[tuple[str, list[float]]]) -> dict[str, float]:
    """Wall-clock p50/p95 and the median CPU time of the process per query ("cpu"): on a shared
    machine the wall clock includes waiting for a core, the CPU time does not."""
    times, cpu = [], []
    for text, vector in qs:
        started, started_cpu = time.perf_counter(), time.process_time()
        fn(text, vector)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
            "cpu": statistics.median(cpu), "n": len(times)}  # fmt: skip


def rrf(*rankings: list, k: int = 60, top: int = 10) -> list[str]:
    """Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): sum of 1/(k + rank)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc.id] = scores.get(doc.id, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=scores.__getitem__, reverse=True)[:top]


def measure_queries(store, qs, filters=None) -> dict[str, dict[str, float]]:
    def bm25(text, _v):
        return store.bm25_retrieval(text, filters, CANDIDATES)

    def dense(_t, vector):
        return store.embedding_retrieval(vector, filters, CANDIDATES)

    def hybrid(text, vector):
        return rrf(bm25(text, vector), dense(text, vector))

    return {"bm25": latencies(bm25, qs), "dense": latencies(dense, qs), "hybrid": latencies(hybrid, qs)}


# --- the three processes ------------------------------------------------------------------------
def sqlite_build(n: int, path: str) -> dict:
    from kb.stores.sqlite import SQLiteKnowledgeStore

    store = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    baseline, started = current_rss_mb(), time.perf_counter()
    for batch in synthetic_chunks(n):
        store.write_documents(batch)
    build_s = time.perf_counter() - started
    store.close()
    size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)) / 2**20
    return {"build_s": build_s, "file_mb": size, "baseline_mb": baseline, "peak_mb": peak_rss_mb()}


def sqlite_serve(path: str, n_queries: int) -> dict:
    from kb.stores.sqlite import SQLiteKnowledgeStore

    qs = queries(n_queries)
    store = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    baseline = current_rss_mb()
    started = time.perf_counter()
    store.embedding_retrieval(qs[0][1], top_k=CANDIDATES)  # loads the matrix
    cold_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    store.bm25_retrieval(qs[0][0], top_k=CANDIDATES)  # loads the postings
    cold_bm25_ms = (time.perf_counter() - started) * 1000
    for text, vector in qs[:5]:
        rrf(store.bm25_retrieval(text, top_k=CANDIDATES), store.embedding_retrieval(vector, top_k=CANDIDATES))
    result = {"cold_dense_ms": cold_ms, "cold_bm25_ms": cold_bm25_ms, "queries": measure_queries(store, qs), "baseline_mb": baseline}
    top_act = store.get_metadata_field_unique_values("act_key", size=1)[0][0]
    act_filter = {"field": "meta.act_key", "operator": "==", "value": top_act}
    audience_filter = {"operator": "AND", "conditions": [act_filter, {"field": "meta.audience", "operator": "==", "value": "police"}]}
    result["act"] = (top_act, store.count_documents_by_filter(act_filter), store.count_documents_by_filter(audience_filter))
    started = time.perf_counter()
    rrf(store.bm25_retrieval(qs[1][0], audience_filter, CANDIDATES), store.embedding_retrieval(qs[1][1], audience_filter, CANDIDATES))
    result["first_filtered_ms"] = (time.perf_counter() - started) * 1000  # the filter's row set is not cached yet
    result["filtered_act"] = measure_queries(store, qs[: max(20, n_queries // 4)], act_filter)["hybrid"]
    result["filtered_act_audience"] = measure_queries(store, qs[: max(20, n_queries // 4)], audience_filter)["hybrid"]
    result["fts5_rank"] = fts5_native(path, qs[:30])
    started = time.perf_counter()
    result["check_ok"] = store.check().ok
    result["check_s"] = time.perf_counter() - started
    result["peak_mb"] = peak_rss_mb()
    result["anon_mb"], result["file_mb"] = current_rss_mb("RssAnon"), current_rss_mb("RssFile")
    return result


def fts5_native(path: str, qs: list[tuple[str, list[float]]]) -> dict[str, float]:
    """BM25 top 100 the plain FTS5 way (ORDER BY rank), for comparison with the numpy scorer."""
    import sqlite3

    from kb.stores.sqlite_text import fts_match_query

    conn = sqlite3.connect(path)
    sql = "SELECT rowid, -rank FROM documents_fts WHERE documents_fts MATCH ? ORDER BY rank LIMIT ?"
    result = latencies(lambda text, _v: conn.execute(sql, (fts_match_query(text, column="content"), CANDIDATES)).fetchall(), qs)
    conn.close()
    return result


def inmemory(n: int, n_queries: int) -> dict:
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    qs = queries(n_queries)
    store = InMemoryDocumentStore(embedding_similarity_function="cosine")
    baseline, started = current_rss_mb(), time.perf_counter()
    for batch in synthetic_chunks(n):
        store.write_documents(batch)
    build_s = time.perf_counter() - started
    return {"build_s": build_s, "queries": measure_queries(store, qs), "baseline_mb": baseline, "peak_mb": peak_rss_mb()}


def _child(target: Callable, args: tuple, out) -> None:
    out.put(target(*args))


def in_process(target: Callable, *args) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, args, out))
    proc.start()
    result = out.get()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed with exit code {proc.exitcode}")
    return result


# --- report ---------------------------------------------------------------------------------------
def print_table(n: int, sq_build: dict, sq_serve: dict, mem: dict | None) -> None:
    print(f"\n=== {n:,} chunks ===")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; ms per query, wall p50/p95 (cpu p50)")
    print(f"{'backend':<24}{'build s':>9}{'BM25':>24}{'dense':>24}{'hybrid':>24}{'peak RSS MB':>13}{'queries':>9}")

    def row(name: str, build: float | None, q: dict, peak: float) -> None:
        cells = "".join(f"{q[k]['p50']:>9.1f}/{q[k]['p95']:<7.1f}({q[k]['cpu']:.1f})".ljust(24) for k in ("bm25", "dense", "hybrid"))
        print(f"{name:<24}{'' if build is None else f'{build:.1f}':>9}  {cells}{peak:>11.0f}{q['hybrid']['n']:>9}")

    row("SQLite (serving)", sq_build["build_s"], sq_serve["queries"], sq_serve["peak_mb"])
    if mem:
        row("InMemoryDocumentStore", mem["build_s"], mem["queries"], mem["peak_mb"])
    print(f"SQLite build: {n / sq_build['build_s']:,.0f} chunks/s, file {sq_build['file_mb']:.0f} MB, "
          f"build peak RSS {sq_build['peak_mb']:.0f} MB (baseline {sq_build['baseline_mb']:.0f} MB)")  # fmt: skip
    print(f"SQLite serving: baseline RSS {sq_serve['baseline_mb']:.0f} MB after open; first dense query "
          f"(loads the matrix) {sq_serve['cold_dense_ms']:.0f} ms, first BM25 query (loads the postings) "
          f"{sq_serve['cold_bm25_ms']:.0f} ms; check() {sq_serve['check_s']:.1f} s ok={sq_serve['check_ok']}")  # fmt: skip
    print(f"SQLite serving memory at the end: heap (RssAnon) {sq_serve['anon_mb']:.0f} MB + mapped database pages "
          f"(RssFile, reclaimable page cache) {sq_serve['file_mb']:.0f} MB")  # fmt: skip
    act, n_act, n_both = sq_serve["act"]
    for label, key, rows in (("act_key", "filtered_act", n_act), ("act_key + audience", "filtered_act_audience", n_both)):
        q = sq_serve[key]
        print(f"SQLite hybrid filtered by {label} (act {act!r}, {rows:,} chunks pass): "
              f"p50 {q['p50']:.1f} ms, p95 {q['p95']:.1f} ms ({q['n']} queries)")  # fmt: skip
    fts = sq_serve["fts5_rank"]
    print(f"FTS5's own ranking (ORDER BY rank LIMIT {CANDIDATES}, no documents built): "
          f"p50 {fts['p50']:.1f} ms, p95 {fts['p95']:.1f} ms ({fts['n']} queries)")  # fmt: skip
    print(f"SQLite first hybrid query with a new filter (row set not cached yet): {sq_serve['first_filtered_ms']:.1f} ms")
    if mem:
        print(f"InMemory baseline RSS {mem['baseline_mb']:.0f} MB before writing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000], help="corpus sizes (chunks)")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement for SQLite")
    parser.add_argument("--inmemory-queries", type=int, default=50, help="queries for InMemory (it is slow at scale)")
    parser.add_argument("--skip-inmemory", action="store_true")
    parser.add_argument("--blas-threads", type=int, help="OPENBLAS/OMP threads for the measured processes")
    parser.add_argument("--db-dir", type=Path, help="keep the SQLite files here and reuse them (skips the build)")
    args = parser.parse_args()
    if args.blas_threads:  # read by OpenBLAS when the spawned processes import numpy
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)
    _, origin = act_sections()
    print(f"corpus: {origin}; embeddings: random unit vectors, dim {DIM}; query text: "
          f"{'dev questions' if QUESTIONS.is_file() else 'built-in phrases'}; cores: {os.cpu_count()}")  # fmt: skip
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            path = str((args.db_dir or Path(tmp)) / f"bench-{n}.sqlite3")
            if args.db_dir and Path(path).is_file():
                sq_build = {"build_s": float("nan"), "file_mb": os.path.getsize(path) / 2**20, "baseline_mb": float("nan"),
                            "peak_mb": float("nan")}  # fmt: skip
                print(f"reusing {path} (build figures not measured)")
            else:
                sq_build = in_process(sqlite_build, n, path)
            sq_serve = in_process(sqlite_serve, path, args.queries)
        mem = None if args.skip_inmemory else in_process(inmemory, n, args.inmemory_queries)
        print_table(n, sq_build, sq_serve, mem)


if __name__ == "__main__":
    main()
