"""Encoder backends side by side: PyTorch fp32, ONNX Runtime fp32, ONNX Runtime int8.

    python benchmarks/bench_encoders.py                        # every Act: encode, ingest, dev quality
    python benchmarks/bench_encoders.py --quick                # 3 files: encode and ingest only
    python benchmarks/bench_encoders.py --files 8 --ingest-files 4   # subsets; quality by re-embedding
    python benchmarks/bench_encoders.py --backends torch onnx-int8

Corpus: the Acts in ``../shared/sources/indiacode-md`` (``*/part-*.md``), parsed and chunked by the
real ingest stages, so the texts are exactly what ingest embeds. For each backend, in its own
process (its own model cache and peak RSS):

* **encode**: ``Encoder.embed_texts`` over the chunk texts of ``--files`` (default all) in one
  call after a warm-up batch: chunks/s of the encoder alone, and the cosine of every vector with
  the PyTorch one (mean, 1st percentile, min);
* **ingest**: the real :class:`ingest.pipeline.Ingestor` (convert, parse, chunk, embed, write) of
  ``--ingest-files`` (default all of ``--files``) into a fresh SQLite store: wall seconds, chunks/s,
  the share outside the encoder, and the speed-up over PyTorch (target for int8: >= 2x);
* **quality**: ``kb.evaluation.dev.evaluate`` (what ``kb eval --no-answers`` runs) of
  ``../shared/eval/dev_questions.jsonl`` on a store of every Act plus ``corpus/`` (as the README's
  ``kb ingest`` builds it): hit@1, hit@5, MRR (target for int8: hit@5 within 1 point of fp32). When
  the ingest above covered every Act, that store is the one evaluated; otherwise PyTorch ingests
  the full corpus once and each other backend re-embeds a copy of it (``Ingestor.rebuild``, the
  ``kb ingest --rebuild`` path), which gives the same vectors as its own ingest would.

Threads: PyTorch uses ``--threads`` (``torch.set_num_threads``); ONNX Runtime uses its default,
one thread per physical core. The ONNX export is made once into a temp dir first and its time is
printed separately: it is a one-time cost per data directory. The load average is printed before,
during and after each backend: on a shared machine read the speeds with it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
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
GUIDES = ROOT / "corpus"
BACKENDS = ("torch", "onnx", "onnx-int8")


def act_files() -> list[Path]:
    files = sorted(SOURCES.glob("*/part-*.md"))
    if not files:
        raise SystemExit(f"no Acts found under {SOURCES} (../shared/sources is needed for this benchmark)")
    return files


def spread(files: list[Path], n: int | None) -> list[Path]:
    """``n`` of ``files`` taken at even steps, so a subset spans the Acts instead of the first one."""
    if n is None or n >= len(files):
        return files
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


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


def load_avg() -> float:
    return os.getloadavg()[0]


# --- one backend, in its own process ----------------------------------------------------------
def run_backend(job: dict) -> dict:
    """Encode, ingest and evaluate with ``job['backend']``; every timing is of this process alone."""
    import numpy as np
    import torch

    from kb.embedding import Encoder
    from kb.settings import EmbeddingSettings, Settings

    torch.set_num_threads(job["threads"])
    embedding = EmbeddingSettings(backend=job["backend"], onnx_dir=job["onnx_dir"], batch_size=job["batch_size"])
    out: dict = {"backend": job["backend"], "loads": [load_avg()]}
    started = time.perf_counter()
    encoder = Encoder(embedding)
    encoder.warm_up()
    encoder.embed_texts(job["texts"][: job["batch_size"]])  # first batch allocates kernels and arenas
    out["load_s"] = time.perf_counter() - started
    if job["texts"] and job["encode"]:
        started, cpu = time.perf_counter(), time.process_time()
        out["vectors"] = np.asarray(encoder.embed_texts(job["texts"]), dtype=np.float32)
        out["encode_s"] = time.perf_counter() - started
        out["encode_cpu_ms_per_chunk"] = (time.process_time() - cpu) * 1000 / len(job["texts"])
        out["chunks_per_s"] = len(job["texts"]) / out["encode_s"]
        out["loads"].append(load_avg())
    with tempfile.TemporaryDirectory(prefix=f"bench-enc-{job['backend']}-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "ingest", embedding=embedding)
        if job["ingest_paths"]:
            out.update(_ingest(settings, encoder, [Path(p) for p in job["ingest_paths"]]))
            out["loads"].append(load_avg())
        if job["quality"]:
            if job["base_store"] is None:  # the ingest above is the full corpus
                out.update(_evaluate(settings, encoder, rebuild=False))
            else:
                settings = Settings(data_dir=Path(tmp) / "quality", embedding=embedding)
                _copy_store(Path(job["base_store"]), settings.sqlite_path)
                out.update(_evaluate(settings, encoder, rebuild=job["backend"] != "torch"))
            out["loads"].append(load_avg())
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _ingest(settings, encoder, paths: list[Path]) -> dict:
    from ingest.pipeline import Ingestor
    from kb.stores.factory import open_store

    store = open_store(settings)
    try:
        cpu = time.process_time()
        report = Ingestor(store, encoder, settings).ingest(paths, prune=False)
        cpu = time.process_time() - cpu
    finally:
        store.close()
    if report.failed:
        raise SystemExit(f"{settings.embedding.backend}: ingest failed for {[(f.path, f.reason) for f in report.failed]}")
    return {"ingest_s": report.seconds, "ingest_encode_s": report.encode_seconds, "ingest_chunks": report.chunks,
            "ingest_files": len(report.files), "ingest_cpu_s": cpu}  # fmt: skip


def _evaluate(settings, encoder, *, rebuild: bool) -> dict:
    from ingest.pipeline import Ingestor
    from kb.evaluation.dev import evaluate, load_questions
    from kb.retrieval.search import Searcher
    from kb.stores.factory import open_store

    out = {}
    store = open_store(settings)
    try:
        if rebuild:
            report = Ingestor(store, encoder, settings).rebuild()
            out.update(rebuild_s=report.seconds, rebuild_encode_s=report.encode_seconds, rebuild_chunks=report.chunks)
        result = evaluate(load_questions(QUESTIONS), Searcher(store, encoder, settings), None)
        out["quality_chunks"] = store.count_documents()
    finally:
        store.close()
    overall = result["overall"]
    out.update({"hit@1": overall["hit@1"], "hit@5": overall["hit@5"], "mrr": overall["mrr"],
                "answerable": sum(1 for q in result["per_question"] if q["gold"]),
                "top5": {row["id"]: row["ranked"] for row in result["per_question"]}})  # fmt: skip
    return out


def _copy_store(source: Path, dest: Path) -> None:
    """A consistent copy of a closed SQLite store (main file and any WAL beside it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for path in source.parent.glob(source.name + "*"):
        shutil.copy2(path, dest.parent / path.name.replace(source.name, dest.name, 1))


def build_base_store(job: dict) -> dict:
    """PyTorch ingest of the full quality corpus into ``job['data_dir']`` (kept for the other backends)."""
    import torch

    from kb.embedding import Encoder
    from kb.settings import EmbeddingSettings, Settings

    torch.set_num_threads(job["threads"])
    settings = Settings(data_dir=Path(job["data_dir"]), embedding=EmbeddingSettings(batch_size=job["batch_size"]))
    out = _ingest(settings, Encoder(settings.embedding), [Path(p) for p in job["ingest_paths"]])
    out["store"] = str(settings.sqlite_path)
    return out


def _child(queue, target, job: dict) -> None:
    queue.put(target(job))


def in_process(target, job: dict) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, target, job))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{target.__name__}({job.get('backend', 'torch')}) failed with exit code {proc.exitcode}")
    return result


# --- report ---------------------------------------------------------------------------------------
def _fmt(value, spec: str, width: int) -> str:
    return f"{value:>{width}{spec}}" if value is not None else f"{'-':>{width}}"


def print_table(results: list[dict]) -> None:
    import numpy as np

    base = next((r for r in results if r["backend"] == "torch"), None)

    def ratio(r: dict, key: str, invert: bool = False) -> str | None:
        if base is None or key not in r or key not in base:
            return None
        return f"{(base[key] / r[key]) if invert else (r[key] / base[key]):.2f}x"

    print(f"\n{'backend':<10}{'load s':>7}{'enc ch/s':>9}{'enc x':>7}{'CPU ms/ch':>10}{'ingest s':>9}{'ing ch/s':>9}"
          f"{'ingest x':>9}{'outside':>8}{'hit@1':>7}{'hit@5':>7}{'MRR':>7}{'cos mean/p1/min':>22}{'RSS MB':>7}  load avg")  # fmt: skip
    for r in results:
        ingest_rate = r["ingest_chunks"] / r["ingest_s"] if "ingest_s" in r else None
        outside = 1 - r["ingest_encode_s"] / r["ingest_s"] if "ingest_s" in r else None
        cos = "-"
        if base is not None and "vectors" in r and "vectors" in base:
            c = (r["vectors"].astype(np.float64) * base["vectors"]).sum(axis=1)
            cos = f"{c.mean():.4f}/{np.percentile(c, 1):.4f}/{c.min():.4f}"
        print(f"{r['backend']:<10}{r['load_s']:>7.1f}{_fmt(r.get('chunks_per_s'), '.1f', 9)}"
              f"{_fmt(ratio(r, 'chunks_per_s'), 's', 7)}{_fmt(r.get('encode_cpu_ms_per_chunk'), '.1f', 10)}"
              f"{_fmt(r.get('ingest_s'), '.1f', 9)}{_fmt(ingest_rate, '.1f', 9)}{_fmt(ratio(r, 'ingest_s', True), 's', 9)}"
              f"{_fmt(outside, '.1%', 8)}{_fmt(r.get('hit@1'), '.3f', 7)}{_fmt(r.get('hit@5'), '.3f', 7)}"
              f"{_fmt(r.get('mrr'), '.3f', 7)}{cos:>22}{r['peak_rss_mb']:>7.0f}  "
              + "/".join(f"{x:.1f}" for x in r["loads"]))  # fmt: skip
    for r in results:
        notes = []
        if "ingest_s" in r:
            notes.append(f"ingest of {r['ingest_files']} files, {r['ingest_chunks']} chunks: {r['ingest_s']:.1f} s wall, "
                         f"{r['ingest_cpu_s']:.0f} CPU s, {r['ingest_encode_s']:.1f} s in the encoder")  # fmt: skip
        if "rebuild_s" in r:
            notes.append(f"quality store re-embedded ({r['rebuild_chunks']} chunks) in {r['rebuild_s']:.1f} s "
                         f"({r['rebuild_chunks'] / r['rebuild_s']:.1f} chunks/s, {r['rebuild_encode_s']:.1f} s in the encoder)")
        if "hit@5" in r:
            notes.append(f"dev quality over {r['answerable']} answerable questions, store of {r['quality_chunks']} chunks")
        if notes:
            print(f"{r['backend']}: " + "; ".join(notes))
    if base is not None and "top5" in base:
        for r in results:
            if r is base or "top5" not in r:
                continue
            same_top1 = sum(1 for q, ranked in r["top5"].items() if ranked[:1] == base["top5"].get(q, [])[:1])
            same_top5 = sum(1 for q, ranked in r["top5"].items() if ranked == base["top5"].get(q))
            print(f"{r['backend']}: same top-1 provision as torch for {same_top1}/{len(r['top5'])} dev questions, "
                  f"identical top-5 for {same_top5}")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--files", type=int, default=None, help="encode the chunks of N Act files only (spread over the Acts)")
    parser.add_argument("--ingest-files", type=int, default=None,
                        help="time the end-to-end ingest on N of those files (default: all of them)")
    parser.add_argument("--skip-encode", action="store_true", help="no encoder-only run")
    parser.add_argument("--skip-quality", action="store_true", help="no dev-set evaluation")
    parser.add_argument("--quick", action="store_true", help="3 files encoded, 2 ingested, no dev-set evaluation")
    args = parser.parse_args()
    if args.quick:
        args.files = args.files or 3
        args.ingest_files = args.ingest_files or 2
        args.skip_quality = True
    if not QUESTIONS.is_file() and not args.skip_quality:
        raise SystemExit(f"dev questions not found at {QUESTIONS}; pass --skip-quality")
    return args


def main() -> None:
    args = parse_args()
    from kb.onnx_export import ensure_onnx_model, quantization_target
    from kb.settings import EmbeddingSettings

    every_act = act_files()
    files = spread(every_act, args.files)
    ingest_files = spread(files, args.ingest_files)
    full_ingest = ingest_files == every_act
    ingest_paths = [str(f) for f in ingest_files] + ([str(GUIDES)] if full_ingest and not args.skip_quality else [])
    started = time.perf_counter()
    texts = [] if args.skip_encode else chunk_texts(files)
    print(f"encode corpus: {len(files)} files of {len({f.parent for f in files})} Acts in {SOURCES}: {len(texts)} chunks"
          + (f" (mean {sum(map(len, texts)) / len(texts):.0f} chars)" if texts else "")
          + f", parsed and chunked in {time.perf_counter() - started:.1f} s")  # fmt: skip
    print(f"ingest corpus: {len(ingest_files)} Act files" + (" + corpus/ guides" if len(ingest_paths) > len(ingest_files) else ""))
    print(f"cores: {os.cpu_count()}; torch threads: {args.threads}; ONNX Runtime threads: its default (physical cores); "
          f"batch size {args.batch_size}; int8 config: {quantization_target().isa} "
          f"({quantization_target().weight_type}); load now: {load_avg():.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-enc-") as work:
        onnx_dir = str(Path(work) / "model-onnx")
        if any(b != "torch" for b in args.backends):
            started = time.perf_counter()
            ensure_onnx_model(EmbeddingSettings(onnx_dir=onnx_dir))
            print(f"one-time ONNX export (fp32 + int8) into the data dir: {time.perf_counter() - started:.1f} s")
        base_store = None
        if not args.skip_quality and not full_ingest:
            started = time.perf_counter()
            job = {"data_dir": str(Path(work) / "base"), "threads": args.threads, "batch_size": args.batch_size,
                   "ingest_paths": [str(f) for f in every_act] + [str(GUIDES)]}  # fmt: skip
            base = in_process(build_base_store, job)
            base_store = base["store"]
            print(f"quality store (torch, every Act + corpus/): {base['ingest_chunks']} chunks in "
                  f"{time.perf_counter() - started:.0f} s (load now {load_avg():.1f})", flush=True)  # fmt: skip
        results = []
        for backend in args.backends:
            started = time.perf_counter()
            job = {"backend": backend, "onnx_dir": onnx_dir, "threads": args.threads, "batch_size": args.batch_size,
                   "texts": texts, "encode": not args.skip_encode, "ingest_paths": ingest_paths,
                   "quality": not args.skip_quality, "base_store": base_store}  # fmt: skip
            results.append(in_process(run_backend, job))
            print(f"  {backend}: done in {time.perf_counter() - started:.0f} s (load now {load_avg():.1f})", flush=True)
    print_table(results)


if __name__ == "__main__":
    main()
