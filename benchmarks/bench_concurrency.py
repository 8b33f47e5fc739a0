"""Search latency while `kb ingest` writes the same store in another process, against the same
searches with no ingest running.

    python benchmarks/bench_concurrency.py                  # ingest every Act of ../shared/sources/indiacode-md
    python benchmarks/bench_concurrency.py --acts 4         # the 4 smallest Acts
    python benchmarks/bench_concurrency.py --quick          # the 2 smallest Acts, a short baseline

The reader is this process: the project's Searcher (hybrid BM25 + dense, query encoding included)
on the data directory's SQLite file. The store starts with the team-written fixture Acts and guide
(tests/fixtures/api), so every search has something to find before the ingest adds the Acts.

1. Baseline: the queries in turn for ``--baseline-s`` seconds, nothing else running.
2. During ingest: `kb ingest ACT_DIR...` starts as a real process; once it holds the store's
   writer lock (model loaded, files being ingested) the same queries run in turn until it exits.
   Each search is timed; a store error (``KBError``) is counted and the first few shown; any other
   exception stops the run. Searches that
   started while the ingest was inside a SQLite write transaction are counted separately.

The machine has 2 cores: the ingest's encoder and the reader's query encoder share them, so part
of any slowdown is CPU, not the store. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ingest"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fault_support import SQLITE_FILE, LockProbe, kb_check, kb_command, kb_env  # noqa: E402
from load_queries import build_queries, load_rows  # noqa: E402

from api.runtime import Runtime  # noqa: E402
from kb.errors import KBError  # noqa: E402
from kb.settings import Settings  # noqa: E402

SOURCES = ROOT.parent / "shared" / "sources" / "indiacode-md"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
PRELOAD = ROOT / "tests" / "fixtures" / "api"


def pick_acts(count: int | None) -> list[Path]:
    """Act folders of the shared sources, smallest first (all of them when ``count`` is None)."""
    if not SOURCES.is_dir():
        raise SystemExit(f"the Acts to ingest are not here: {SOURCES}")
    acts = sorted((p for p in SOURCES.iterdir() if p.is_dir()), key=lambda p: (sum(f.stat().st_size for f in p.rglob("*.md")), p.name))
    return acts[:count] if count else acts


def percentiles(latencies: list[float]) -> str:
    if not latencies:
        return "no searches"
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return f"p50 {q[49]:7.1f} ms  p95 {q[94]:7.1f} ms  p99 {q[98]:7.1f} ms  max {ms[-1]:7.1f} ms"


class Reader:
    """Runs the queries in turn through the Searcher and keeps every latency and error."""

    def __init__(self, searcher, queries: list[str]) -> None:
        self.searcher, self.queries, self.next = searcher, queries, 0
        self.latencies: list[float] = []
        self.in_write: list[float] = []
        self.errors: list[str] = []
        self.empty = 0

    def one(self, probe: LockProbe | None = None, writer_pid: int | None = None) -> None:
        query = self.queries[self.next % len(self.queries)]
        self.next += 1
        writing = probe is not None and probe.wal_writer() == writer_pid
        started = time.perf_counter()
        try:
            result = self.searcher.search(query)
        except KBError as err:  # a store refusal (busy, locked) is counted; anything else stops the run
            self.errors.append(f"{query!r}: {type(err).__name__}: {err}")
            return
        elapsed = time.perf_counter() - started
        self.latencies.append(elapsed)
        if writing:
            self.in_write.append(elapsed)
        self.empty += not result.hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--acts", type=int, default=None, help="Ingest only the N smallest Acts (default: all).")
    parser.add_argument("--baseline-s", type=float, default=60.0, help="Seconds of searches with no ingest.")
    parser.add_argument("--quick", action="store_true", help="2 smallest Acts, 15 s baseline.")
    args = parser.parse_args()
    if args.quick:
        args.acts, args.baseline_s = args.acts or 2, min(args.baseline_s, 15.0)
    acts = pick_acts(args.acts)
    queries = [q for _, q in build_queries(load_rows(QUESTIONS))]
    print(f"ingest: {len(acts)} Acts of {SOURCES} ({sum(1 for a in acts for _ in a.rglob('*.md'))} files); "
          f"reader: {len(queries)} distinct queries through the Searcher, in turn")

    with tempfile.TemporaryDirectory(prefix="kb-concurrency-") as tmp:
        data = Path(tmp) / "data"
        settings = Settings(data_dir=data)
        runtime = Runtime.open(settings)
        try:
            preload = runtime.ingestor.ingest([PRELOAD])
            print(f"store before: {preload.chunks} chunks of {len(preload.files)} fixture files")
            reader = Reader(runtime.searcher, queries)
            for _ in range(5):
                reader.one()  # load the model and fill the caches
            base = Reader(runtime.searcher, queries)
            until = time.monotonic() + args.baseline_s
            while time.monotonic() < until:
                base.one()

            live = Reader(runtime.searcher, queries)
            probe = LockProbe(data / SQLITE_FILE)
            with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                started = time.monotonic()
                proc = subprocess.Popen(kb_command("ingest", *map(str, acts), "--json"), cwd=ROOT, env=kb_env(data),
                                        stdout=out, stderr=err)  # fmt: skip
                while proc.poll() is None and not probe.writer_lock_held():
                    time.sleep(0.01)
                lock_at = time.monotonic() - started
                while proc.poll() is None:
                    live.one(probe, proc.pid)
                wall = time.monotonic() - started
                out.seek(0)
                err.seek(0)
                stdout, stderr = out.read(), err.read()
        finally:
            runtime.close()
        probe.close()  # after the store's connections: closing it drops this process's locks on the file
        check_ok, check = kb_check(data)

    try:
        report = json.loads(stdout)
        done = f"exit {proc.returncode}, {report['chunks']} chunks, counts {report['counts']}"
    except json.JSONDecodeError:
        done = f"exit {proc.returncode}: {stderr[-1000:]}"
    print(f"ingest: {done}; {wall:.1f} s wall, writer lock taken after {lock_at:.1f} s (start-up)")
    print(f"kb check after: {'ok' if check_ok else 'FAILED ' + str(check.get('problems'))}\n")
    span = max(wall - lock_at, 1e-9)
    for name, r, secs in (("no ingest", base, args.baseline_s), ("during ingest", live, span)):
        print(f"{name:<14} {len(r.latencies):5d} searches  {len(r.latencies) / secs:5.1f}/s  {percentiles(r.latencies)}  "
              f"errors {len(r.errors)}  empty {r.empty}")  # fmt: skip
    print(f"{'  in a write':<14} {len(live.in_write):5d} searches         {percentiles(live.in_write)}  "
          f"(started while the ingest held SQLite's write lock)")
    for line in (base.errors + live.errors)[:5]:
        print(f"  error: {line}")
    sys.exit(0 if proc.returncode == 0 and check_ok and not (base.errors or live.errors) else 1)


if __name__ == "__main__":
    main()
