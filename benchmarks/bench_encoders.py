"""Encoder backends side by side: PyTorch fp32, ONNX Runtime fp32, ONNX Runtime int8.

    python benchmarks/bench_encoders.py
    python benchmarks/bench_encoders.py --backends torch onnx-int8 --skip-standalone

Corpus: every Act in ``../shared/sources/indiacode-md`` (``*/part-*.md``), parsed and chunked by
the real ingest stages (``ingest.detect.parse_converted`` picks the India Code parser, or the
printed-Act parser for the page-text child-labour Act), so the texts are exactly what ingest
embeds. For each backend, in its own process (its own model cache and peak RSS):

* **standalone**: ``Encoder.embed_texts`` over all chunk texts in one call (batch size from
  settings, 32 by default) after a warm-up batch: chunks/s of the encoder alone;
* **ingest**: the real :class:`ingest.pipeline.Ingestor` into a fresh SQLite store in a temp data
  dir: wall seconds, ``encode_seconds`` and the share of time outside the encoder (target < 10%);
* **quality**: ``kb.evaluation.dev.evaluate`` on ``../shared/eval/dev_questions.jsonl`` against
  that store: hit@5 and MRR (target for int8: within 1 point of hit@5 of fp32, >= 2x faster ingest);
* cosine of each chunk's embedding with the PyTorch one (mean, 1st percentile, min).

Threads: PyTorch uses ``--threads`` (``torch.set_num_threads``); ONNX Runtime uses its default,
one thread per physical core (printed). The ONNX export is made once into a temp dir first and its
time is printed separately: it is a one-time cost per data directory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

SOURCES = ROOT.parent / "shared" / "sources" / "indiacode-md"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
BACKENDS = ("torch", "onnx", "onnx-int8")


def act_files() -> list[Path]:
    files = sorted(SOURCES.glob("*/part-*.md"))
    if not files:
        raise SystemExit(f"no Acts found under {SOURCES} (../shared/sources is needed for this benchmark)")
    return files


def chunk_texts(files: list[Path]) -> list[str]:
    """The texts ingest embeds for ``files``, in ingest order (see Ingestor._chunks)."""
    from ingest.chunk import chunk_provision
    from ingest.convert import convert_file
    from ingest.detect import parse_converted
    from kb.settings import Settings

    settings = Settings()
    texts = []
    for path in files:
        parsed = parse_converted(convert_file(path, settings.ingest))
        for provision in parsed.provisions:
            texts.extend(c.embed_text or c.text for c in chunk_provision(provision, settings.chunking))
    return texts


def peak_rss_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: the latter carries the parent's peak over fork + exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- one backend, in its own process ----------------------------------------------------------
def run_backend(backend: str, onnx_dir: str, texts: list[str], files: list[str], threads: int, batch_size: int,
                standalone: bool, quality: bool) -> dict:  # fmt: skip
    import numpy as np
    import torch

    from kb.embedding import Encoder
    from kb.settings import EmbeddingSettings, Settings

    torch.set_num_threads(threads)
    embedding = EmbeddingSettings(backend=backend, onnx_dir=onnx_dir, batch_size=batch_size)
    out: dict = {"backend": backend, "torch_threads": torch.get_num_threads()}
    started = time.perf_counter()
    encoder = Encoder(embedding)
    encoder.warm_up()
    encoder.embed_texts(texts[:batch_size])  # first batch allocates kernels and arenas
    out["load_s"] = time.perf_counter() - started
    if standalone:
        started, cpu = time.perf_counter(), time.process_time()
        vectors = np.asarray(encoder.embed_texts(texts), dtype=np.float32)
        out["encode_s"] = time.perf_counter() - started
        out["encode_cpu_ms_per_chunk"] = (time.process_time() - cpu) * 1000 / len(texts)
        out["chunks_per_s"] = len(texts) / out["encode_s"]
        out["vectors"] = vectors
        out["load_avg"] = os.getloadavg()[0]
    if quality:
        with tempfile.TemporaryDirectory(prefix=f"bench-enc-{backend}-") as tmp:
            settings = Settings(data_dir=Path(tmp), embedding=embedding)
            out.update(_ingest_and_evaluate(settings, encoder, [Path(f) for f in files]))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _ingest_and_evaluate(settings, encoder, files: list[Path]) -> dict:
    from ingest.pipeline import Ingestor
    from kb.evaluation.dev import evaluate, load_questions
    from kb.retrieval.search import Searcher
    from kb.stores.factory import open_store

    store = open_store(settings)
    try:
        cpu = time.process_time()
        report = Ingestor(store, encoder, settings).ingest(files, prune=False)
        cpu = time.process_time() - cpu
        if report.failed:
            raise SystemExit(f"{settings.embedding.backend}: ingest failed for {[(f.path, f.reason) for f in report.failed]}")
        result = evaluate(load_questions(QUESTIONS), Searcher(store, encoder, settings), None)
    finally:
        store.close()
    return {
        "ingest_s": report.seconds, "ingest_encode_s": report.encode_seconds, "ingest_chunks": report.chunks,
        "ingest_cpu_s": cpu,
        "hit@5": result["overall"]["hit@5"], "mrr": result["overall"]["mrr"], "hit@1": result["overall"]["hit@1"],
        "top5": {row["id"]: row["ranked"] for row in result["per_question"]},
    }  # fmt: skip


def _child(queue, args: tuple) -> None:
    queue.put(run_backend(*args))


def in_process(args: tuple) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, args))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"backend {args[0]} failed with exit code {proc.exitcode}")
    return result


# --- report ---------------------------------------------------------------------------------------
def print_table(results: list[dict]) -> None:
    import numpy as np

    base = next((r for r in results if r["backend"] == "torch"), None)
    print(f"\n{'backend':<11}{'load s':>7}{'chunks/s':>10}{'speed-up':>9}{'CPU ms/chunk':>13}{'ingest s':>10}{'encode s':>10}"
          f"{'outside enc':>12}{'ingest x':>9}{'hit@5':>7}{'hit@1':>7}{'MRR':>7}{'cos mean/p1/min':>22}{'RSS MB':>8}")  # fmt: skip
    for r in results:
        speed = f"{r['chunks_per_s']:.1f}" if "chunks_per_s" in r else "-"
        speed_up = f"{r['chunks_per_s'] / base['chunks_per_s']:.2f}x" if base and "chunks_per_s" in r and "chunks_per_s" in base else "-"
        cpu = f"{r['encode_cpu_ms_per_chunk']:.1f}" if "encode_cpu_ms_per_chunk" in r else "-"
        if "ingest_s" in r:
            ingest = f"{r['ingest_s']:>10.1f}{r['ingest_encode_s']:>10.1f}{1 - r['ingest_encode_s'] / r['ingest_s']:>11.1%}"
            ingest_x = f"{base['ingest_s'] / r['ingest_s']:.2f}x" if base and "ingest_s" in base else "-"
            quality = f"{r['hit@5']:>7.3f}{r['hit@1']:>7.3f}{r['mrr']:>7.3f}"
        else:
            ingest, ingest_x, quality = f"{'-':>10}{'-':>10}{'-':>11}", "-", f"{'-':>7}{'-':>7}{'-':>7}"
        cos = "-"
        if base is not None and "vectors" in r and "vectors" in base:
            c = (r["vectors"].astype(np.float64) * base["vectors"]).sum(axis=1)
            cos = f"{c.mean():.4f}/{np.percentile(c, 1):.4f}/{c.min():.4f}"
        print(f"{r['backend']:<11}{r['load_s']:>7.1f}{speed:>10}{speed_up:>9}{cpu:>13}{ingest} {ingest_x:>8}{quality}{cos:>22}"
              f"{r['peak_rss_mb']:>8.0f}")  # fmt: skip
    for r in results:
        if "ingest_s" in r:
            print(f"{r['backend']}: ingest of {r['ingest_chunks']} chunks, {r['ingest_cpu_s']:.0f} CPU s for "
                  f"{r['ingest_s']:.0f} wall s; load average after the encoder run {r.get('load_avg', float('nan')):.1f}")  # fmt: skip
    if base is not None and "top5" in base:
        for r in results:
            if r is base or "top5" not in r:
                continue
            same_top1 = sum(1 for q, ranked in r["top5"].items() if ranked[:1] == base["top5"].get(q, [])[:1])
            same_top5 = sum(1 for q, ranked in r["top5"].items() if ranked == base["top5"].get(q))
            print(f"{r['backend']}: same top-1 provision as torch for {same_top1}/{len(r['top5'])} dev questions, "
                  f"identical top-5 for {same_top5}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-standalone", action="store_true", help="only the ingest + quality runs")
    parser.add_argument("--skip-quality", action="store_true", help="only the standalone encoder runs")
    parser.add_argument("--files", type=int, default=None, help="only the first N files (a quick trial)")
    args = parser.parse_args()

    from kb.onnx_export import ensure_onnx_model, quantization_target
    from kb.settings import EmbeddingSettings

    files = act_files()[: args.files]
    started = time.perf_counter()
    texts = chunk_texts(files)
    print(f"corpus: {len(files)} files of {len({f.parent for f in files})} Acts in {SOURCES}: {len(texts)} chunks "
          f"(mean {sum(map(len, texts)) / len(texts):.0f} chars), parsed and chunked in {time.perf_counter() - started:.1f} s")  # fmt: skip
    print(f"cores: {os.cpu_count()}; torch threads: {args.threads}; ONNX Runtime threads: its default (physical cores); "
          f"batch size {args.batch_size}; int8 config: {quantization_target().isa}; load now: {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-enc-onnx-") as export_root:
        onnx_dir = str(Path(export_root) / "model-onnx")
        if any(b != "torch" for b in args.backends):
            started = time.perf_counter()
            ensure_onnx_model(EmbeddingSettings(onnx_dir=onnx_dir))
            print(f"one-time ONNX export (fp32 + int8) into the data dir: {time.perf_counter() - started:.1f} s")
        results = []
        for backend in args.backends:
            started = time.perf_counter()
            results.append(in_process((backend, onnx_dir, texts, [str(f) for f in files], args.threads,
                                       args.batch_size, not args.skip_standalone, not args.skip_quality)))  # fmt: skip
            print(f"  {backend}: done in {time.perf_counter() - started:.0f} s (load now {os.getloadavg()[0]:.1f})", flush=True)
    print_table(results)


if __name__ == "__main__":
    main()
