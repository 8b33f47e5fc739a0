"""How far the embedded SQLite store scales: query latency, memory, open time and file size at
10k, 100k and 1M chunks, and where Elasticsearch should take over.

    python benchmarks/bench_scale.py                      # 10k, 100k, 1M
    python benchmarks/bench_scale.py --quick              # 2k and 10k, one pass: a smoke run
    python benchmarks/bench_scale.py --n 10000 100000 --repeat 4 --db-dir /var/tmp/bench

Chunks and embeddings come from the generator of ``bench_store.py``: recombined real sentences of
the Acts in ``../shared/sources/indiacode-md`` (the fixture sample Acts when absent), with the
metadata ingest writes; every section's text embedded once by the product's encoder, each chunk
its section's vector plus Gaussian noise (sigma 0.025 per dimension), normalised. Documents are
written through ``write_documents`` in batches of 5,000, as ingest does.

Queries: the dev questions, each timed ``--repeat`` times after a warm-up pass; text through
``kb.query.understand`` as the Searcher does, real query embeddings from the same encoder.
BM25 = content top 100; dense = exact cosine top 100; hybrid = the Searcher's: BM25 content +
BM25 heading + dense, fused by ``kb.retrieval.fusion.fuse`` with the settings' weights.

Build and serving each run in a fresh process. Serving reports the time to open the file, the
first dense query (it loads the vector matrix from the file: the cold start of a new API worker),
the first BM25 queries (they load the postings), RSS after each step and the peak (``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import (  # noqa: E402  (same corpus generator and query set)
    CANDIDATES,
    DIM,
    NOISE_SIGMA,
    act_sections,
    in_process,
    load,
    real_queries,
    rss_mb,
    searcher_hybrid,
    section_vectors,
    synthetic_chunks,
)

LATENCY_LIMIT_MS = 100.0  # hybrid p95 a search box can afford before the answer is composed


def build(n: int, path: str, vectors: dict) -> dict:
    from kb.stores.sqlite import SQLiteKnowledgeStore

    store = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    started, written = time.perf_counter(), 0
    for batch in synthetic_chunks(n, vectors):
        written += store.write_documents(batch)
        if written % 100_000 == 0:
            print(f"    {written:,} written, {time.perf_counter() - started:.0f} s, {load()}", flush=True)
    total_s = time.perf_counter() - started
    store.close()
    return {"written": written, "build_s": total_s, "peak_mb": rss_mb("VmHWM")}


def disk_mb(path: str) -> float:
    return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-shm") if os.path.exists(p)) / 2**20


def serve(path: str, queries: list[dict], repeat: int) -> dict:
    from kb.stores.sqlite import SQLiteKnowledgeStore

    started = time.perf_counter()
    store = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    out = {"open_ms": (time.perf_counter() - started) * 1000}
    out["open_mb"] = rss_mb()
    started = time.perf_counter()
    store.embedding_retrieval(queries[0]["vector"], top_k=CANDIDATES)
    out["cold_dense_ms"] = (time.perf_counter() - started) * 1000
    out["dense_mb"] = rss_mb()
    started = time.perf_counter()
    store.bm25_retrieval(queries[0]["keywords"], top_k=CANDIDATES)
    store.bm25_retrieval(queries[0]["keywords"], top_k=CANDIDATES, field="heading")
    out["cold_bm25_ms"] = (time.perf_counter() - started) * 1000
    out["loaded_mb"], out["heap_mb"] = rss_mb(), rss_mb("RssAnon")
    hybrid = searcher_hybrid(store)

    def bm25(q):
        return store.bm25_retrieval(q["keywords"], top_k=CANDIDATES)

    def dense(q):
        return store.embedding_retrieval(q["vector"], top_k=CANDIDATES)

    for q in queries:  # warm-up: stem cache, page cache
        hybrid(q)
    for name, fn in (("bm25", bm25), ("dense", dense), ("hybrid", hybrid)):
        times, cpu = [], []
        for _ in range(repeat):
            for q in queries:
                t0, c0 = time.perf_counter(), time.process_time()
                fn(q)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
        times.sort()
        out[name] = {"p50": statistics.median(times), "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
                     "cpu": statistics.median(cpu), "n": len(times)}  # fmt: skip
    out["count"] = store.count_documents()
    out["served_mb"] = rss_mb()
    out["anon_mb"] = rss_mb("RssAnon")
    out["peak_mb"] = rss_mb("VmHWM")
    out["load"] = load()
    store.close()
    return out


# --- report --------------------------------------------------------------------------------------
def print_table(rows: list[tuple[int, dict, dict]]) -> None:
    print("\nms per query: wall p50/p95 (median CPU time); RSS in MB; open = constructor, cold dense = first "
          "dense query (loads the matrix), cold BM25 = first content + heading query (loads the postings)")  # fmt: skip
    print("RSS includes database pages SQLite maps (reclaimable page cache); heap = RssAnon after loading")
    print(f"{'chunks':>10}{'build s':>9}{'disk MB':>9}  {'BM25':<20}{'dense':<20}{'hybrid':<20}{'open ms':>8}"
          f"{'cold dense':>11}{'cold BM25':>10}{'RSS open':>9}{'+dense':>8}{'+BM25':>8}{'heap':>7}{'served':>8}{'peak':>8}"
          f"{'build peak':>11}")  # fmt: skip
    for n, b, s in rows:
        cells = "".join(f"{s[k]['p50']:.1f}/{s[k]['p95']:.1f} ({s[k]['cpu']:.1f})".ljust(20) for k in ("bm25", "dense", "hybrid"))
        print(f"{n:>10,}{b['build_s']:>9,.0f}{b['disk_mb']:>9,.0f}  {cells}{s['open_ms']:>8,.0f}{s['cold_dense_ms']:>11,.0f}"
              f"{s['cold_bm25_ms']:>10,.0f}{s['open_mb']:>9,.0f}{s['dense_mb']:>8,.0f}{s['loaded_mb']:>8,.0f}{s.get('heap_mb', float('nan')):>7,.0f}"
              f"{s['served_mb']:>8,.0f}{s['peak_mb']:>8,.0f}{b['peak_mb']:>11,.0f}")  # fmt: skip
    for n, _b, s in rows:
        print(f"  {n:,}: {s['hybrid']['n']} timings per mode; measured under {s['load']}")


def conclusion(rows: list[tuple[int, dict, dict]]) -> None:
    print("\nconclusion (on CPU time: wall times on a loaded machine measure the queue for a core):")
    if os.getloadavg()[1] > (os.cpu_count() or 1):
        print(f"  the machine was overloaded ({load()}): rerun on a quiet machine for wall-clock figures")
    over = [(n, s) for n, _b, s in rows if s["hybrid"]["cpu"] > LATENCY_LIMIT_MS]
    if over:
        n, s = over[0]
        print(f"  hybrid CPU p50 passes {LATENCY_LIMIT_MS:.0f} ms at {n:,} chunks ({s['hybrid']['cpu']:.0f} ms; wall "
              f"p50/p95 {s['hybrid']['p50']:.0f}/{s['hybrid']['p95']:.0f} ms): beyond that, use Elasticsearch "
              "(KB_STORE=elasticsearch)")  # fmt: skip
    if len(rows) >= 2:
        (n1, _, s1), (n2, _, s2) = rows[-2], rows[-1]
        per_chunk = (s2["hybrid"]["cpu"] - s1["hybrid"]["cpu"]) / (n2 - n1)
        if per_chunk > 0:
            crossing = n2 + (LATENCY_LIMIT_MS - s2["hybrid"]["cpu"]) / per_chunk
            print(f"  hybrid CPU p50 grows {per_chunk * 1e6:.1f} ms per million chunks between {n1:,} and {n2:,}; "
                  f"linear extrapolation reaches {LATENCY_LIMIT_MS:.0f} ms near {crossing:,.0f} chunks")  # fmt: skip
        mem_per_chunk = (s2.get("heap_mb", s2["loaded_mb"]) - s1.get("heap_mb", s1["loaded_mb"])) / (n2 - n1)
        print(f"  serving heap grows {mem_per_chunk * 1e6:,.0f} MB per million chunks per API process "
              f"(float32 vectors alone: {DIM * 4 * 1e6 / 2**20:,.0f} MB per million); "
              f"cold start grows with the file: {s2['open_ms'] + s2['cold_dense_ms'] + s2['cold_bm25_ms']:,.0f} ms at {n2:,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=4, help="timed passes over the dev questions")
    parser.add_argument("--quick", action="store_true", help="2k and 10k chunks, one timed pass: a smoke run")
    parser.add_argument("--db-dir", type=Path, help="keep the store files here and reuse them (skips the build)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeat = [2_000, 10_000], 1

    sections, origin = act_sections()
    vectors, backend = section_vectors(sections)
    queries, q_origin = real_queries()
    embed_ms = statistics.median(q["embed_ms"] for q in queries)
    print(f"corpus: {origin}; embeddings: {backend} vectors of the {len(vectors)} sections + N(0, {NOISE_SIGMA}^2) "
          f"noise per chunk; queries: {q_origin} x {args.repeat}; query embedding p50 {embed_ms:.1f} ms ({backend}, "
          f"not included below); {load()}")  # fmt: skip
    rows = []
    for n in args.n:
        root = args.db_dir or Path(tempfile.mkdtemp(prefix="bench-scale-"))
        root.mkdir(parents=True, exist_ok=True)
        path = str(root / f"bench-scale-{n}.sqlite3")
        try:
            sidecar = Path(path + ".build.json")  # build figures of a reused file
            if args.db_dir and Path(path).is_file():
                built = json.loads(sidecar.read_text()) if sidecar.is_file() else {"build_s": float("nan"), "peak_mb": float("nan")}
                print(f"  reusing {path} (build figures {'from its first run' if sidecar.is_file() else 'not measured'})", flush=True)
            else:
                print(f"  building {n:,} chunks in {root} (disk free {shutil.disk_usage(root).free / 2**30:.0f} GB)", flush=True)
                built = in_process(build, n, path, vectors)
                sidecar.write_text(json.dumps(built))
            built["disk_mb"] = disk_mb(path)
            served = in_process(serve, path, queries, args.repeat)
            if served["count"] != n:
                raise SystemExit(f"store holds {served['count']} chunks, expected {n}")
            rows.append((n, built, served))
            print_table(rows[-1:])
        finally:
            if not args.db_dir:
                shutil.rmtree(root, ignore_errors=True)
    print_table(rows)
    conclusion(rows)


if __name__ == "__main__":
    main()
