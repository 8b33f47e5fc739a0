"""Soak: the HTTP service under steady mixed load for minutes, its memory sampled all along.

    python benchmarks/bench_soak.py                                  # fixture corpus, 10 minutes
    python benchmarks/bench_soak.py --data-dir /tmp/kb-acts --minutes 10 --clients 10
    python benchmarks/bench_soak.py --minutes 2 --interval 2 --csv /tmp/soak.csv

``kb serve`` runs on a free loopback port over a store (built from the fixture corpus unless
``--data-dir`` names a prepared one). ``--clients`` threads send requests back to back, each
picking ``GET /search``, ``POST /search`` or ``POST /ask`` (``--ask-share``) with a query from
:mod:`load_queries` (~700 distinct ones, cycled in a shuffled order, so a growing cache would show
as growing memory). Every ``--interval`` seconds the server's resident memory (RSS, the process
and its children) is sampled.

Prints one line a minute (requests, errors, p95, RSS, load average) and at the end: first, last
and largest RSS, the least-squares slope in MB per minute over all samples and over the second
half (after warm-up effects), latency percentiles and the errors by kind. An error is any
response other than 200, or a request that failed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_load import (  # noqa: E402
    FIXTURES,
    QUESTIONS,
    build_store,
    free_port,
    load_average,
    percentile,
    rss_mb,
    start_server,
    stop_server,
    wait_ready,
)
from load_queries import build_queries, load_rows  # noqa: E402


class Tally:
    """Latencies and errors, in total and since the last minute line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: list[float] = []
        self.minute: list[float] = []
        self.errors: Counter = Counter()
        self.minute_errors = 0

    def add(self, seconds: float, outcome: str | None) -> None:
        with self.lock:
            if outcome is None:
                self.latency.append(seconds)
                self.minute.append(seconds)
            else:
                self.errors[outcome] += 1
                self.minute_errors += 1

    def take_minute(self) -> tuple[list[float], int]:
        with self.lock:
            lat, errors = self.minute, self.minute_errors
            self.minute, self.minute_errors = [], 0
        return lat, errors


def one_request(client: httpx.Client, rng: random.Random, audience: str, query: str, ask_share: float) -> str | None:
    """None when the request succeeded, else what went wrong."""
    roll = rng.random()
    try:
        if roll < ask_share:
            response = client.post("/ask", json={"question": query, "audience": audience})
        elif roll < ask_share + (1 - ask_share) / 2:
            response = client.get("/search", params={"q": query, "top_k": 10})
        else:
            response = client.post("/search", json={"query": query, "top_k": 10, "offset": rng.choice((0, 0, 10))})
    except httpx.HTTPError as err:
        return type(err).__name__
    return None if response.status_code == 200 else f"HTTP {response.status_code}"


def client_loop(base: str, queries: list[tuple[str, str]], ask_share: float, stop: threading.Event, tally: Tally,
                seed: int) -> None:
    rng = random.Random(seed)
    order = queries[:]
    rng.shuffle(order)
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(10**9):
            if stop.is_set():
                return
            audience, query = order[i % len(order)]
            started = time.perf_counter()
            outcome = one_request(client, rng, audience, query, ask_share)
            tally.add(time.perf_counter() - started, outcome)


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [m for _, m in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0


def soak(base: str, server_pid: int, queries: list[tuple[str, str]], args: argparse.Namespace) -> list[tuple[float, float]]:
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(base, queries, args.ask_share, stop, tally, 1000 + i),
                                daemon=True) for i in range(args.clients)]
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    for thread in threads:
        thread.start()
    print(f"{'min':>4} {'requests':>9} {'req/s':>7} {'errors':>7} {'p50 ms':>7} {'p95 ms':>7} {'RSS MB':>7}  load average")
    next_sample, next_line, minute = started, started + 60, 0
    end = started + args.minutes * 60
    while (now := time.monotonic()) < end:
        if now >= next_sample:
            samples.append((now - started, rss_mb(server_pid)))
            next_sample += args.interval
        if now >= next_line:
            minute += 1
            lat, errors = tally.take_minute()
            ms = [v * 1000 for v in lat]
            p50 = f"{percentile(ms, 50):7.0f}" if ms else f"{'-':>7}"
            p95 = f"{percentile(ms, 95):7.0f}" if ms else f"{'-':>7}"
            print(f"{minute:>4} {len(ms) + errors:>9} {(len(ms) + errors) / 60:>7.1f} {errors:>7} {p50} {p95} "
                  f"{samples[-1][1]:>7.0f}  {load_average()}", flush=True)
            next_line += 60
        time.sleep(min(0.2, max(0.0, min(next_sample, next_line, end) - time.monotonic())))
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    samples.append((elapsed, rss_mb(server_pid)))
    lat, errors = tally.take_minute()
    if lat or errors:  # the last (partial) minute
        ms = [v * 1000 for v in lat]
        p50 = f"{percentile(ms, 50):7.0f}" if ms else f"{'-':>7}"
        p95 = f"{percentile(ms, 95):7.0f}" if ms else f"{'-':>7}"
        print(f"{elapsed / 60:>4.1f} {len(ms) + errors:>9} {(len(ms) + errors) / max(1.0, elapsed - 60 * minute):>7.1f} "
              f"{errors:>7} {p50} {p95} {samples[-1][1]:>7.0f}  {load_average()}")
    summarise(tally, samples, elapsed)
    return samples


def summarise(tally: Tally, samples: list[tuple[float, float]], elapsed: float) -> None:
    ms = [v * 1000 for v in tally.latency]
    errors = sum(tally.errors.values())
    rss = [m for _, m in samples]
    half = [s for s in samples if s[0] >= elapsed / 2]
    print(f"\nsoak: {elapsed / 60:.1f} min, {len(ms) + errors} requests ({(len(ms) + errors) / elapsed:.1f} req/s), "
          f"errors {errors} {dict(tally.errors) or ''}")
    if ms:
        print(f"latency ms: p50 {percentile(ms, 50):.0f}, p95 {percentile(ms, 95):.0f}, p99 {percentile(ms, 99):.0f}, "
              f"max {max(ms):.0f}")
    print(f"server RSS MB: first {rss[0]:.0f}, last {rss[-1]:.0f}, max {max(rss):.0f}, min {min(rss):.0f} "
          f"({len(samples)} samples)")
    print(f"RSS slope: {slope_per_minute(samples):+.2f} MB/min over the whole run, "
          f"{slope_per_minute(half):+.2f} MB/min over the second half")
    print(f"load average at the end {load_average()}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="Length of the soak.")
    parser.add_argument("--clients", type=int, default=10, help="Concurrent clients, each sending back to back.")
    parser.add_argument("--ask-share", type=float, default=0.3, help="Share of /ask requests (the rest split between "
                        "GET and POST /search).")
    parser.add_argument("--interval", type=float, default=5.0, help="Seconds between RSS samples.")
    parser.add_argument("--data-dir", type=Path, help="An existing store's data directory (default: build one).")
    parser.add_argument("--index", type=Path, nargs="*", default=[FIXTURES], help="Files/folders to index into a new store.")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--warmup", type=int, default=20, help="Requests sent before the soak starts.")
    parser.add_argument("--csv", type=Path, help="Write the RSS samples (seconds, MB) here.")
    args = parser.parse_args()
    if not 0 < args.minutes <= 24 * 60 or not 1 <= args.clients <= 200 or not 0.5 <= args.interval <= 300:
        raise SystemExit("--minutes must be 0..1440, --clients 1..200 and --interval 0.5..300")
    if not 0 <= args.ask_share <= 1:
        raise SystemExit("--ask-share must be between 0 and 1")
    return args


def main() -> None:
    args = parse_args()
    queries = build_queries(load_rows(args.questions))
    print(f"(distinct queries: {len(queries)}; load average {load_average()})")
    with tempfile.TemporaryDirectory(prefix="kb-soak-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            build_store(data_dir, args.index)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(data_dir, port)
        try:
            wait_ready(base, server)
            rng = random.Random(0)
            with httpx.Client(base_url=base, timeout=120) as client:
                for _ in range(args.warmup):
                    one_request(client, rng, *rng.choice(queries), args.ask_share)
            print(f"{args.clients} clients, /ask share {args.ask_share:g}, RSS every {args.interval:g} s, "
                  f"{args.minutes:g} min; RSS after warm-up {rss_mb(server.pid):.0f} MB")
            samples = soak(base, server.pid, queries, args)
            if server.poll() is not None:
                print(f"the server exited during the soak with code {server.returncode}")
        finally:
            stop_server(server)
    if args.csv:
        args.csv.write_text("seconds,rss_mb\n" + "".join(f"{t:.1f},{m:.1f}\n" for t, m in samples))
        print(f"samples written to {args.csv}")


if __name__ == "__main__":
    main()
