"""Load on the HTTP service: N concurrent clients for T seconds against /search and /ask.

    python benchmarks/bench_api_load.py                       # fixture corpus, 20 clients, 30 s
    python benchmarks/bench_api_load.py --clients 40 --seconds 60 --ask-share 0.5
    python benchmarks/bench_api_load.py --data-dir .kb        # an existing store (kb serve's)
    python benchmarks/bench_api_load.py --index ../shared/sources/indiacode-md/the-protection-of-children-from-sexual-offences-act-2012

The service runs as a uvicorn subprocess on a free loopback port (the way ``kb serve`` runs it,
one process); clients are threads with their own HTTP connection. Questions come from
``../shared/eval/dev_questions.jsonl`` when present (with their audience), else a built-in list.
Prints per endpoint: requests, throughput, p50/p95/p99 latency and errors (non-200 or failed).
Loops are bounded by time and by --max-requests; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
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
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FIXTURES = ROOT / "tests" / "fixtures" / "api"
AUDIENCES = ("lawyer", "police", "ngo")
FALLBACK = [
    ("lawyer", "What is the punishment for failing to report an offence against a child?"),
    ("police", "What must the police do when a child reports sexual abuse?"),
    ("ngo", "Where should a child's statement be recorded?"),
    ("lawyer", "punishment for publishing material depicting children in sexually explicit acts"),
    ("police", "how is the age of a child determined"),
    ("ngo", "what is a Special Court"),
]


def load_questions(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        print(f"(questions: {path} not found, using {len(FALLBACK)} built-in questions)")
        return FALLBACK
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    print(f"(questions: {len(rows)} from {path})")
    # Questions written for "anyone" are asked as a lawyer would (the API takes lawyer, police, ngo).
    return [(row.get("audience") if row.get("audience") in AUDIENCES else "lawyer", row["question"]) for row in rows]


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


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HAYSTACK_TELEMETRY_ENABLED": "False"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_ready(base: str, server: subprocess.Popen, timeout_s: float = 180) -> None:
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


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)

    def add(self, endpoint: str, seconds: float, outcome: str | None) -> None:
        with self.lock:
            if outcome is None:
                self.latency[endpoint].append(seconds)
            else:
                self.errors[endpoint][outcome] += 1


def client_loop(base: str, questions: list[tuple[str, str]], ask_share: float, deadline: float, budget: itertools.count,
                max_requests: int, recorder: Recorder, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60) as client:
        while time.monotonic() < deadline and next(budget) < max_requests:
            audience, question = rng.choice(questions)
            if rng.random() < ask_share:
                endpoint, call = "/ask", lambda: client.post("/ask", json={"question": question, "audience": audience})
            else:
                endpoint, call = "/search", lambda: client.get("/search", params={"q": question, "top_k": 10})
            started = time.perf_counter()
            try:
                response = call()
                outcome = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as err:
                outcome = type(err).__name__
            recorder.add(endpoint, time.perf_counter() - started, outcome)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(recorder: Recorder, seconds: float, clients: int) -> None:
    print(f"\n{clients} clients for {seconds:.1f} s")
    print(f"{'endpoint':<9} {'ok':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}  errors")
    total_ok = 0
    for endpoint in sorted(set(recorder.latency) | set(recorder.errors)):
        lat = recorder.latency.get(endpoint, [])
        errors = dict(recorder.errors.get(endpoint, {}))
        total_ok += len(lat)
        if lat:
            ms = [v * 1000 for v in lat]
            print(f"{endpoint:<9} {len(lat):>7} {len(lat) / seconds:>8.1f} {percentile(ms, 50):>8.0f} {percentile(ms, 95):>8.0f} "
                  f"{percentile(ms, 99):>8.0f} {statistics.fmean(ms):>8.0f}  {errors or 0}")
        else:
            print(f"{endpoint:<9} {0:>7} {0:>8.1f} {'-':>8} {'-':>8} {'-':>8} {'-':>8}  {errors}")
    print(f"{'all':<9} {total_ok:>7} {total_ok / seconds:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ask-share", type=float, default=0.3, help="Share of requests sent to /ask (rest: /search).")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="Stop after this many requests in total.")
    parser.add_argument("--data-dir", type=Path, help="An existing store's data directory (default: build one).")
    parser.add_argument("--index", type=Path, nargs="*", default=[FIXTURES], help="Files/folders to index into a temp store.")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    args = parser.parse_args()
    if not 1 <= args.clients <= 500 or not 0 < args.seconds <= 3600:
        raise SystemExit("--clients must be 1..500 and --seconds 0..3600")

    questions = load_questions(args.questions)
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            build_store(data_dir, args.index)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(data_dir, port)
        try:
            wait_ready(base, server)
            for audience, question in questions[:3]:  # warm caches outside the measurement
                httpx.post(base + "/ask", json={"question": question, "audience": audience}, timeout=60)
            recorder = Recorder()
            budget = itertools.count()
            started = time.monotonic()
            deadline = started + args.seconds
            threads = [threading.Thread(target=client_loop, args=(base, questions, args.ask_share, deadline, budget,
                                                                   args.max_requests, recorder, i), daemon=True)
                       for i in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + 120)
            report(recorder, time.monotonic() - started, args.clients)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
