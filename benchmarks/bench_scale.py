"""How far the embedded SQLite store scales: query latency, memory, build time and file size at
10k, 100k and 1M chunks, and where Elasticsearch should take over.

    python benchmarks/bench_scale.py                      # 10k, 100k, 1M
    python benchmarks/bench_scale.py --n 10000 100000 --repeat 4

Chunks: recombined real sentences of the Acts in ``../shared/sources/indiacode-md`` (the
generator of ``bench_store.py``: 2-6 sentences of one section, half of the time plus a sentence of
another section of the same Act, shuffled; every chunk distinct), with the metadata ingest writes.
Embeddings: every section's real text is embedded once by the product's encoder (ONNX int8 when
onnxruntime is installed, else PyTorch; printed), and each chunk gets the vector of its section
plus Gaussian noise (sigma 0.025 per dimension, cosine ~0.9 to the section's vector), normalised:
realistic clusters, not near-orthogonal random vectors. Documents are written through
``write_documents`` in batches of 5,000, as ingest does.

Queries: the dev questions (``../shared/eval/dev_questions.jsonl``), each timed ``--repeat`` times
after a warm-up pass; text through ``kb.query.understand`` as the Searcher does, real query
embeddings from the same encoder. BM25 = content top 100; dense = exact cosine top 100;
hybrid = BM25 content + BM25 heading + dense, then ``kb.retrieval.fusion.fuse`` with the
settings' weights (what ``Searcher._rank`` does, without explicit-citation pinning).
Build and serving each run in a fresh process: RSS after opening the file, after the first
queries (which load the vector matrix and BM25 postings), and the peak (VmHWM).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from bench_store import AUDIENCES, QUESTIONS, act_sections  # noqa: E402  (same corpus generator)

DIM = 384
BATCH = 5000
CANDIDATES = 100
NOISE_SIGMA = 0.025
LATENCY_LIMIT_MS = 100.0


# --- the corpus ---------------------------------------------------------------------------------
def section_vectors(sections: dict, cache_dir: Path) -> tuple[dict, str]:
    """A real embedding per section (cached on disk: embedding ~2k sections is the slow part)."""
    import numpy as np

    keys = sorted(sections)
    texts = [f"{sections[k]['title']}, section {k[1]}: {sections[k]['heading']}. " + " ".join(sections[k]["sentences"])[:1200]
             for k in keys]  # fmt: skip
    encoder, backend = _encoder()
    digest = hashlib.sha256(json.dumps([backend, texts]).encode()).hexdigest()[:16]
    cache = cache_dir / f"sections-{digest}.npy"
    if cache.is_file():
        matrix = np.load(cache)
    else:
        started = time.perf_counter()
        matrix = np.asarray(encoder.embed_texts(texts), dtype=np.float32)
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(cache, matrix)
        print(f"embedded {len(texts)} sections with {backend} in {time.perf_counter() - started:.0f} s (cached in {cache})")
    return {k: matrix[i] for i, k in enumerate(keys)}, backend


_ENCODER = None


def _encoder():
    """The product encoder: ONNX int8 when available (fast), else PyTorch."""
    global _ENCODER
    if _ENCODER is None:
        from kb.embedding import Encoder
        from kb.settings import EmbeddingSettings

        try:
            import onnxruntime  # noqa: F401

            backend = "onnx-int8"
        except ImportError:
            backend = "torch"
        onnx_dir = Path(tempfile.gettempdir()) / "bench-scale-cache" / "model-onnx"
        _ENCODER = (Encoder(EmbeddingSettings(backend=backend, onnx_dir=str(onnx_dir))), backend)
    return _ENCODER


def synthetic_batches(n: int, vectors: dict, seed: int = 7):
    """Batches of ``BATCH`` distinct Documents with chunk meta and noisy section embeddings."""
    import numpy as np
    from haystack import Document

    sections, _ = act_sections()
    keys = sorted(sections)
    by_act: dict[str, list] = {}
    for key in keys:
        by_act.setdefault(key[0], []).append(key)
    rng, noise, seen = random.Random(seed), np.random.default_rng(seed), set()
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        picked_keys = [rng.choice(keys) for _ in range(size)]
        base = np.stack([vectors[k] for k in picked_keys])
        emb = base + noise.standard_normal(base.shape, dtype=np.float32) * NOISE_SIGMA
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        batch = []
        for offset, key in enumerate(picked_keys):
            text = _distinct_text(sections, by_act, key, rng, seen)
            info, (act_key, section) = sections[key], key
            meta = {"act_key": act_key, "act_title": info["title"], "year": info["year"], "section": section,
                    "heading": info["heading"], "provision_key": f"{act_key}:{section}", "pinpoint": section,
                    "doc_type": "act", "doc_id": f"bench-{act_key}", "language": "en", "char_start": 0,
                    "audience": sorted(rng.sample(AUDIENCES, rng.randint(1, 3))),
                    "citation": f"{info['title']}, s. {section}"}  # fmt: skip
            batch.append(Document(id=f"c{start + offset}", content=text, meta=meta, embedding=emb[offset].tolist()))
        yield batch


def _distinct_text(sections: dict, by_act: dict, key: tuple, rng: random.Random, seen: set) -> str:
    sentences = sections[key]["sentences"]
    first = rng.randrange(len(sentences))
    picked = sentences[first : first + rng.randint(2, 6)]
    while True:
        if rng.random() < 0.5 or hashlib.blake2b(" ".join(picked).encode(), digest_size=16).digest() in seen:
            picked = [*picked, rng.choice(sections[rng.choice(by_act[key[0]])]["sentences"])]
            rng.shuffle(picked)
        digest = hashlib.blake2b(" ".join(picked).encode(), digest_size=16).digest()
        if digest not in seen:
            seen.add(digest)
            return " ".join(picked)


def real_queries() -> list[dict]:
    """Dev questions as the Searcher sees them: keyword text, semantic text, query embedding."""
    from kb.query.understand import understand

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    encoder, _ = _encoder()
    out = []
    for question in questions:
        plan = understand(question)
        started = time.perf_counter()
        vector = encoder.embed_query(plan.semantic_text or plan.text)
        out.append({"question": question, "keywords": plan.keyword_text, "vector": vector,
                    "embed_ms": (time.perf_counter() - started) * 1000,
                    "punishment": plan.is_punishment, "definition": plan.is_definition})  # fmt: skip
    return out


# --- measuring --------------------------------------------------------------------------------------
def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(n: int, path: str, vectors: dict) -> dict:
    from kb.stores.sqlite import SQLiteKnowledgeStore

    store = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    started, write_s, written = time.perf_counter(), 0.0, 0
    for batch in synthetic_batches(n, vectors):
        t0 = time.perf_counter()
        written += store.write_documents(batch)
        write_s += time.perf_counter() - t0
        if written % 100_000 == 0:
            print(f"    {written:,} written, {time.perf_counter() - started:.0f} s", flush=True)
    total_s = time.perf_counter() - started
    store.close()
    files = [p for p in (path, path + "-wal", path + "-shm") if os.path.exists(p)]
    return {"written": written, "build_s": total_s, "write_s": write_s,
            "file_mb": sum(os.path.getsize(p) for p in files) / 2**20, "peak_mb": rss_mb("VmHWM")}  # fmt: skip


def serve(path: str, queries: list[dict], repeat: int) -> dict:
    from kb.retrieval.fusion import fuse
    from kb.settings import Settings
    from kb.stores.sqlite import SQLiteKnowledgeStore

    cfg = Settings().retrieval
    weights = {"bm25": cfg.bm25_weight, "dense": cfg.dense_weight, "heading": cfg.heading_weight}
    store = SQLiteKnowledgeStore(path, embedding_dim=DIM)
    out = {"open_mb": rss_mb()}
    started = time.perf_counter()
    store.embedding_retrieval(queries[0]["vector"], top_k=CANDIDATES)
    out["cold_dense_ms"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    store.bm25_retrieval(queries[0]["keywords"], top_k=CANDIDATES)
    store.bm25_retrieval(queries[0]["keywords"], top_k=CANDIDATES, field="heading")
    out["cold_bm25_ms"] = (time.perf_counter() - started) * 1000
    out["loaded_mb"] = rss_mb()

    def bm25(q):
        return store.bm25_retrieval(q["keywords"], top_k=CANDIDATES)

    def dense(q):
        return store.embedding_retrieval(q["vector"], top_k=CANDIDATES)

    def hybrid(q):
        lists = {"bm25": bm25(q), "heading": store.bm25_retrieval(q["keywords"], top_k=CANDIDATES, field="heading"),
                 "dense": dense(q)}  # fmt: skip
        return fuse(lists, weights, k=cfg.rrf_k, intent_weight=cfg.intent_weight,
                    punishment=q["punishment"], definition=q["definition"])[:10]  # fmt: skip

    for q in queries:  # warm-up: stem cache, page cache
        hybrid(q)
    for name, fn in (("bm25", bm25), ("dense", dense), ("hybrid", hybrid)):
        times = []
        for _ in range(repeat):
            for q in queries:
                t0 = time.perf_counter()
                fn(q)
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out[name] = {"p50": statistics.median(times), "p95": times[min(len(times) - 1, int(0.95 * len(times)))], "n": len(times)}
    out["count"] = store.count_documents()
    out["served_mb"] = rss_mb()
    out["peak_mb"] = rss_mb("VmHWM")
    store.close()
    return out


def _child(queue, target, args) -> None:
    queue.put(target(*args))


def in_process(target, *args) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, target, args))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed with exit code {proc.exitcode}")
    return result


# --- report --------------------------------------------------------------------------------------
def print_table(rows: list[tuple[int, dict, dict]]) -> None:
    print(f"\n{'chunks':>10}{'build s':>9}{'chunks/s':>10}{'file MB':>9}{'BM25 p50/p95':>16}{'dense p50/p95':>16}"
          f"{'hybrid p50/p95':>17}{'cold ms':>9}{'RSS open':>10}{'loaded':>8}{'peak':>8}{'build peak':>11}")  # fmt: skip
    for n, b, s in rows:
        cells = "".join(f"{s[k]['p50']:>8.1f}/{s[k]['p95']:<7.1f}" for k in ("bm25", "dense", "hybrid"))
        cold = s["cold_dense_ms"] + s["cold_bm25_ms"]
        print(f"{n:>10,}{b['build_s']:>9.0f}{n / b['build_s']:>10,.0f}{b['file_mb']:>9,.0f}  {cells}{cold:>9,.0f}"
              f"{s['open_mb']:>10,.0f}{s['loaded_mb']:>8,.0f}{s['peak_mb']:>8,.0f}{b['peak_mb']:>11,.0f}")  # fmt: skip


def conclusion(rows: list[tuple[int, dict, dict]]) -> None:
    over = [(n, s) for n, _b, s in rows if s["hybrid"]["p95"] > LATENCY_LIMIT_MS]
    print("\nconclusion:")
    if over:
        n, s = over[0]
        print(f"  hybrid p95 passes {LATENCY_LIMIT_MS:.0f} ms at {n:,} chunks ({s['hybrid']['p95']:.0f} ms): "
              "beyond that, use Elasticsearch (KB_STORE=elasticsearch).")  # fmt: skip
    if len(rows) >= 2:
        (n1, _, s1), (n2, _, s2) = rows[-2], rows[-1]
        per_chunk = (s2["hybrid"]["p50"] - s1["hybrid"]["p50"]) / (n2 - n1)
        if per_chunk > 0:
            crossing = n2 + (LATENCY_LIMIT_MS - s2["hybrid"]["p50"]) / per_chunk
            print(f"  hybrid p50 grows {per_chunk * 1e6:.1f} ms per million chunks between {n1:,} and {n2:,}; "
                  f"linear extrapolation puts p50 at {LATENCY_LIMIT_MS:.0f} ms near {crossing:,.0f} chunks")  # fmt: skip
        mem_per_chunk = (s2["loaded_mb"] - s1["loaded_mb"]) / (n2 - n1)
        print(f"  serving memory grows {mem_per_chunk * 1e6:,.0f} MB per million chunks "
              f"(float32 vectors alone: {DIM * 4:,} MB per million)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=4, help="timed passes over the dev questions")
    parser.add_argument("--dir", type=Path, default=None, help="where the store files go (default: a temp dir)")
    args = parser.parse_args()

    sections, origin = act_sections()
    cache_dir = Path(tempfile.gettempdir()) / "bench-scale-cache"
    vectors, backend = section_vectors(sections, cache_dir)
    queries = real_queries()
    embed_ms = sorted(q["embed_ms"] for q in queries)
    print(f"corpus: {origin}; embeddings: {backend} vectors of the {len(vectors)} sections + N(0, {NOISE_SIGMA}^2) noise; "
          f"queries: {len(queries)} dev questions x {args.repeat}; query embedding p50 {statistics.median(embed_ms):.1f} ms "
          f"({backend}); cores: {os.cpu_count()}")  # fmt: skip
    rows = []
    for n in args.n:
        root = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.dir))
        try:
            path = str(root / "kb.sqlite3")
            print(f"  building {n:,} chunks in {root} (disk free {shutil.disk_usage(root).free / 2**30:.0f} GB)", flush=True)
            built = in_process(build, n, path, vectors)
            served = in_process(serve, path, queries, args.repeat)
            if served["count"] != n:
                raise SystemExit(f"store holds {served['count']} chunks, expected {n}")
            rows.append((n, built, served))
            print_table(rows[-1:])
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print_table(rows)
    conclusion(rows)


if __name__ == "__main__":
    main()
