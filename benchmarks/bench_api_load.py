"""Load on the HTTP service: N concurrent clients for T seconds against /search and /ask.

    python benchmarks/bench_api_load.py                       # fixture corpus, 50 clients, 60 s, search then ask
    python benchmarks/bench_api_load.py --data-dir /tmp/kb-acts --clients 50 --seconds 60 --runs search,ask,mixed
    python benchmarks/bench_api_load.py --data-dir /tmp/kb-acts --runs search --open-rate 40 --seconds 60
    python benchmarks/bench_api_load.py --data-dir /tmp/kb-acts --runs search --workers 2 --profile /tmp/search.svg
    python benchmarks/bench_api_load.py --index ../shared/sources/indiacode-md --keep-store /tmp/kb-acts   # build once

The service is started with ``kb serve --workers N`` on a free loopback port (default 1 process).
Each worker process loads its own model and opens the store.
Queries come from :mod:`load_queries`: the dev questions and ~700 distinct variants of them.

Two ways to load it:

* **closed loop** (default): ``--clients`` threads, each with its own HTTP connection, send the
  next request as soon as the previous one returns. Latency then includes queueing in the server:
  with C clients and a throughput of X req/s, the mean latency is C / X (Little's law).
* **open loop** (``--open-rate R``): requests arrive at R per second (Poisson arrivals, fixed
  seed) whatever the service does; up to ``--clients`` are in flight. Latency is counted from the
  scheduled arrival, so a backlog shows up in the figures instead of slowing the arrivals down.

Searches and answers are served from the server's caches when they repeat one made before on
the same content (``retrieval.result_cache_size``, ``answers.answer_cache_size``); the
``X-KB-Cache`` header says which, and the report splits latency into ``hit`` and ``miss``.
``--runs search,search`` measures a cold cache, then a warm one;
``--env KB_RETRIEVAL__RESULT_CACHE_SIZE=0 --env KB_ANSWERS__ANSWER_CACHE_SIZE=0`` makes every
request a real one.

Runs (``--runs search,ask,mixed``) go one after the other against the same server. Each prints
per endpoint: requests, throughput, p50/p95/p99 latency and errors (non-200 or failed), plus the
server's CPU time per request, its resident memory (RSS, sampled every second: mean and peak),
the load average, and how many requests repeated an earlier query (what a cache keyed by the
query could save), then whether the target holds: 0 errors and ``/search`` p99 <= 200 ms. Loops
are bounded by time and by --max-requests; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import queue
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from load_queries import build_queries, load_rows  # noqa: E402

QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FIXTURES = ROOT / "tests" / "fixtures" / "api"
ASK_SHARE = {"search": 0.0, "ask": 1.0}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_store(data_dir: Path, paths: list[Path]) -> None:
    from api.runtime import Runtime
    from kb.settings import Settings

    started = time.perf_counter()
    rt = Runtime.open(Settings(data_dir=data_dir))
    try:
        report = rt.ingestor.ingest(paths)
    finally:
        rt.close()
    print(f"store built in {time.perf_counter() - started:.1f} s: {report.counts()['ingested']} files, "
          f"{report.provisions} provisions, {report.chunks} chunks")
    if report.failed:
        print("failed:", [(f.path, f.reason) for f in report.failed])


def server_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "KB_DATA_DIR": str(data_dir), "KB_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False", **(extra or {})}


def start_server(data_dir: Path, port: int, workers: int = 1, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``kb serve --workers N`` on 127.0.0.1:port over ``data_dir`` (never indexes the starter corpus)."""
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--no-index-corpus", "--workers", str(workers)]
    return subprocess.Popen(command, cwd=ROOT, env=server_env(data_dir, env))


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def wait_ready(base: str, server: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the server did not answer /health within {timeout_s} s")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn workers are children of the supervisor)."""
    tree, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        found = [int(c) for c in children.read_text().split()] if children.exists() else []
        tree += found
        frontier += found
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # exited meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB."""
    total_kb = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except FileNotFoundError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Recorder:
    """Latencies and errors per endpoint; also how many requests repeated a query already sent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.sent: set[tuple[str, str]] = set()
        self.repeats = 0
        self.by_cache: dict[str, list[float]] = defaultdict(list)  # "/search hit" | "/search miss" -> latencies

    def add(self, endpoint: str, query: str, seconds: float, outcome: str | None, cache: str | None = None) -> None:
        with self.lock:
            if (endpoint, query) in self.sent:
                self.repeats += 1
            self.sent.add((endpoint, query))
            if outcome is None:
                self.latency[endpoint].append(seconds)
                if cache:
                    self.by_cache[f"{endpoint} {cache}"].append(seconds)
            else:
                self.errors[endpoint][outcome] += 1


def send(client: httpx.Client, endpoint: str, audience: str, query: str) -> tuple[str | None, str | None]:
    """One request: (None when it succeeded, else what went wrong; the search cache's ``hit``/``miss``)."""
    try:
        if endpoint == "/ask":
            response = client.post("/ask", json={"question": query, "audience": audience})
        else:
            response = client.get("/search", params={"q": query, "top_k": 10})
    except httpx.HTTPError as err:
        return type(err).__name__, None
    cache = response.headers.get("X-KB-Cache")
    return (None if response.status_code == 200 else f"HTTP {response.status_code}"), cache


def pick(rng: random.Random, queries: list[tuple[str, str]], ask_share: float) -> tuple[str, str, str]:
    audience, query = rng.choice(queries)
    return ("/ask" if rng.random() < ask_share else "/search"), audience, query


def client_loop(base: str, queries: list[tuple[str, str]], ask_share: float, deadline: float, budget: itertools.count,
                max_requests: int, recorder: Recorder, seed: int) -> None:
    """Closed loop: the next request leaves when the previous one returned."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.monotonic() < deadline and next(budget) < max_requests:
            endpoint, audience, query = pick(rng, queries, ask_share)
            started = time.perf_counter()
            outcome, cache = send(client, endpoint, audience, query)
            recorder.add(endpoint, query, time.perf_counter() - started, outcome, cache)


def open_loop(base: str, queries: list[tuple[str, str]], ask_share: float, rate: float, seconds: float,
              in_flight: int, recorder: Recorder, seed: int) -> int:
    """Open loop: Poisson arrivals at ``rate``/s for ``seconds``, served by ``in_flight`` connections.
    Latency runs from the scheduled arrival. Returns the largest backlog of waiting requests seen."""
    rng = random.Random(seed)
    work: queue.Queue = queue.Queue()
    backlog = 0

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while (item := work.get()) is not None:
                arrival, endpoint, audience, query = item
                outcome, cache = send(client, endpoint, audience, query)
                recorder.add(endpoint, query, time.perf_counter() - arrival, outcome, cache)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(in_flight)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    arrival = start
    while (arrival := arrival + rng.expovariate(rate)) < start + seconds:
        time.sleep(max(0.0, arrival - time.perf_counter()))
        work.put((arrival, *pick(rng, queries, ask_share)))
        backlog = max(backlog, work.qsize())
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join(timeout=120)
    return backlog


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class RssSampler:
    """The server's RSS once a second while a run lasts (mean and peak)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(1.0):
            self.samples.append(rss_mb(self.pid))

    def __enter__(self) -> RssSampler:
        self.samples.append(rss_mb(self.pid))
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.samples.append(rss_mb(self.pid))

    def summary(self) -> str:
        return (f"server RSS {self.samples[0]:.0f} -> {self.samples[-1]:.0f} MB (mean {statistics.fmean(self.samples):.0f}, "
                f"peak {max(self.samples):.0f}, {len(self.samples)} samples)")


def verdict(recorder: Recorder, clients: int) -> str:
    """The target: 0 errors and /search p99 <= 200 ms."""
    errors = sum(sum(c.values()) for c in recorder.errors.values())
    search = recorder.latency.get("/search")
    p99 = percentile([v * 1000 for v in search], 99) if search else None
    if p99 is None:
        return f"errors {errors} ({'none' if errors == 0 else 'target NOT MET'}); no /search requests, the p99 target does not apply"
    met = errors == 0 and p99 <= 200
    return (f"target (0 errors, /search p99 <= 200 ms, {clients} clients): {'MET' if met else 'NOT MET'} "
            f"(/search p99 {p99:.0f} ms, errors {errors})")


def report(recorder: Recorder, seconds: float, label: str, server_cpu: float, client_cpu: float) -> None:
    print(f"\n{label}: {seconds:.1f} s")
    print(f"{'endpoint':<9} {'ok':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}  errors")
    total_ok = total_errors = 0
    for endpoint in sorted(set(recorder.latency) | set(recorder.errors)):
        lat = recorder.latency.get(endpoint, [])
        errors = dict(recorder.errors.get(endpoint, {}))
        total_ok += len(lat)
        total_errors += sum(errors.values())
        if lat:
            ms = [v * 1000 for v in lat]
            print(f"{endpoint:<9} {len(lat):>7} {len(lat) / seconds:>8.1f} {percentile(ms, 50):>8.0f} {percentile(ms, 95):>8.0f} "
                  f"{percentile(ms, 99):>8.0f} {statistics.fmean(ms):>8.0f} {max(ms):>8.0f}  {errors or 0}")
        else:
            print(f"{endpoint:<9} {0:>7} {0:>8.1f} {'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>8}  {errors}")
    print(f"{'all':<9} {total_ok:>7} {total_ok / seconds:>8.1f}  errors {total_errors}")
    for label in sorted(recorder.by_cache):  # answered from the result cache, or searched
        ms = [v * 1000 for v in recorder.by_cache[label]]
        share = 100 * len(ms) / max(1, len(recorder.latency[label.rsplit(" ", 1)[0]]))
        print(f"  {label:<14} {len(ms):>7} ({share:.1f}%)  "
              f"p50 {percentile(ms, 50):.0f}  p95 {percentile(ms, 95):.0f}  p99 {percentile(ms, 99):.0f}  max {max(ms):.0f} ms")
    requests = total_ok + total_errors
    if requests:
        print(f"server CPU {server_cpu:.1f} s = {1000 * server_cpu / requests:.1f} ms per request "
              f"({server_cpu / seconds:.2f} cores busy); load generator CPU {client_cpu:.1f} s "
              f"({client_cpu / seconds:.2f} cores); repeated queries {recorder.repeats}/{requests} "
              f"({100 * recorder.repeats / requests:.0f}%)")


def run_one(base: str, server_pid: int, queries: list[tuple[str, str]], name: str, args: argparse.Namespace,
            seed: int) -> None:
    ask_share = ASK_SHARE.get(name, args.ask_share)
    before = load_average()
    recorder = Recorder()
    cpu0, client0 = cpu_seconds(server_pid), time.process_time()
    started = time.monotonic()
    with RssSampler(server_pid) as rss:
        run_load(base, queries, name, args, seed, ask_share, recorder, started)
    elapsed = time.monotonic() - started
    label = (f"{name} open loop, {args.open_rate:g} req/s offered, up to {args.clients} in flight" if args.open_rate
             else f"{name} closed loop, {args.clients} clients")
    report(recorder, elapsed, f"{label}, {args.workers} worker(s), /ask share {ask_share:g}",
           cpu_seconds(server_pid) - cpu0, time.process_time() - client0)
    print(rss.summary())
    print(f"load average before {before}, after {load_average()}")
    print(verdict(recorder, args.clients))


def run_load(base: str, queries: list[tuple[str, str]], name: str, args: argparse.Namespace, seed: int,
             ask_share: float, recorder: Recorder, started: float) -> None:
    if args.open_rate:
        backlog = open_loop(base, queries, ask_share, args.open_rate, args.seconds, args.clients, recorder, seed)
        print(f"\n{name}: largest backlog of waiting requests {backlog}")
    else:
        budget = itertools.count()
        deadline = started + args.seconds
        threads = [threading.Thread(target=client_loop, args=(base, queries, ask_share, deadline, budget,
                                                               args.max_requests, recorder, seed * 1000 + i), daemon=True)
                   for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="Closed loop: clients; open loop: most requests in flight.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Length of each run.")
    parser.add_argument("--runs", default="search,ask", help="Comma-separated runs: search, ask, mixed (uses --ask-share).")
    parser.add_argument("--ask-share", type=float, default=0.3, help="Share of /ask requests in a mixed run.")
    parser.add_argument("--open-rate", type=float, help="Open loop at this many requests per second instead of closed loop.")
    parser.add_argument("--workers", type=int, default=1, help="Server processes (> 1: uvicorn --workers over the app factory).")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="Closed loop: stop after this many requests per run.")
    parser.add_argument("--data-dir", type=Path, help="An existing store's data directory (default: build one).")
    parser.add_argument("--index", type=Path, nargs="*", default=[FIXTURES], help="Files/folders to index into a new store.")
    parser.add_argument("--keep-store", type=Path, help="Build the store here and keep it (reuse with --data-dir).")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--warmup", type=int, default=20, help="Requests sent before measuring (model and caches loaded).")
    parser.add_argument("--profile", type=Path, help="Record the server with py-spy during the runs (.svg flame graph "
                        "or .txt collapsed stacks).")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="Extra server environment.")
    args = parser.parse_args()
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if not 1 <= args.clients <= 500 or not 0 < args.seconds <= 3600 or not 1 <= args.workers <= 16:
        raise SystemExit("--clients must be 1..500, --seconds 0..3600 and --workers 1..16")
    if unknown := [r for r in args.runs if r not in ("search", "ask", "mixed")]:
        raise SystemExit(f"--runs takes search, ask, mixed; got {unknown}")
    if args.open_rate is not None and not 0 < args.open_rate <= 1000:
        raise SystemExit("--open-rate must be 0..1000 requests per second")
    return args


def start_profiler(target: Path, pid: int, seconds: float) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    fmt = "flamegraph" if target.suffix == ".svg" else "raw"
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--subprocesses", "--duration", str(int(seconds)),
                             "--rate", "200", "--format", fmt, "--output", str(target), "--nonblocking"])


def main() -> None:
    args = parse_args()
    queries = build_queries(load_rows(args.questions))
    print(f"(distinct queries: {len(queries)}; load average {load_average()}; {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = args.keep_store or Path(tmp) / "data"
            build_store(data_dir, args.index)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(item.split("=", 1) for item in args.env)
        server = start_server(data_dir, port, args.workers, env)
        profiler = None
        try:
            wait_ready(base, server)
            warm = random.Random(0)
            with httpx.Client(base_url=base, timeout=120) as client:  # model and caches loaded outside the figures
                for i in range(args.warmup):
                    send(client, "/ask" if i % 2 else "/search", *warm.choice(queries))
            print(f"server RSS after warm-up: {rss_mb(server.pid):.0f} MB")
            if args.profile:
                profiler = start_profiler(args.profile, server.pid, args.seconds * len(args.runs))
            for i, name in enumerate(args.runs):
                run_one(base, server.pid, queries, name, args, seed=i + 1)
            print(f"\nserver RSS at the end: {rss_mb(server.pid):.0f} MB")
        finally:
            stop_server(server)
            if profiler is not None:
                profiler.wait(timeout=60)
                print(f"profile written to {args.profile}")


if __name__ == "__main__":
    main()
