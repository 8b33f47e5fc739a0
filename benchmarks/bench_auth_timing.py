"""Does refusing a wrong API key take longer when the guess shares more of the real key?

    python benchmarks/bench_auth_timing.py
    python benchmarks/bench_auth_timing.py --mode http --rounds 4000
    python benchmarks/bench_auth_timing.py --key-length 4096

Times the refusal of three wrong keys: one sharing no leading character with the real key, one
sharing all but the last, and one of another length. ``--mode function`` calls the key check
directly (sensitive to nanoseconds); ``--mode http`` sends ``DELETE`` requests through the real
FastAPI stack (dependency, error handler, JSON body) with the TestClient. The three are measured
interleaved, round by round, so drift of the machine hits them alike.

To show the measurement could see a leak if there were one, the same kind of guesses are also
timed against a plain ``==`` on a 64 kB key (``--reference-length``; a comparison that stops at the
first differing byte, a few microseconds apart): that row shows a clear gap, the product's check
does not. On a shared machine a few samples are descheduled for milliseconds, so the verdict uses
medians and the Mann-Whitney rank test (robust to those outliers); means and Welch's t are shown too.
"""

from __future__ import annotations

import argparse
import math
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.deps import WriteKeyDep, require_write_key  # noqa: E402  (after the path is set)
from api.errors import ApiError  # noqa: E402
from kb.settings import Settings  # noqa: E402


def guesses(key: str) -> dict[str, str]:
    first = "A" if key[0] != "A" else "B"
    last = "A" if key[-1] != "A" else "B"
    no_prefix = first + key[1:]  # differs at the first character: an early-exit compare stops at once
    return {
        "no shared prefix": no_prefix,
        "all but the last char": key[:-1] + last,
        "other length (8 chars)": key[:4] + "zzzz",
    }


def function_check(settings: Settings) -> Callable[[str], None]:
    def check(guess: str) -> None:
        try:
            require_write_key(settings, guess)
        except ApiError as err:
            assert err.status_code == 401
            return
        raise AssertionError("a wrong key was accepted")

    return check


def plain_equality(key: str) -> Callable[[str], None]:
    real = key.encode()

    def check(guess: str) -> None:
        if guess.encode() == real:  # what the product must NOT do: stops at the first difference
            raise AssertionError("a wrong key was accepted")

    return check


def http_check(settings: Settings) -> Callable[[str], None]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.errors import install_error_handlers

    app = FastAPI()
    app.state.settings = settings
    install_error_handlers(app)

    # WriteKeyDep is imported at module level: annotations are strings here, resolved in the module.
    @app.delete("/documents/{doc_id}")
    def delete(doc_id: str, actor: WriteKeyDep) -> dict:
        return {"deleted": doc_id}

    client = TestClient(app)

    def check(guess: str) -> None:
        status = client.delete("/documents/x", headers={"X-API-Key": guess}).status_code
        if status != 401:
            raise AssertionError(f"expected 401, got {status}")

    return check


def measure(check: Callable[[str], None], named: dict[str, str], rounds: int, batch: int) -> dict[str, list[float]]:
    """Nanoseconds per call, one sample per batch of calls, guesses interleaved every round."""
    samples: dict[str, list[float]] = {name: [] for name in named}
    for guess in named.values():  # warm caches and code paths
        for _ in range(batch):
            check(guess)
    for _ in range(rounds):
        for name, guess in named.items():
            start = time.perf_counter_ns()
            for _ in range(batch):
                check(guess)
            samples[name].append((time.perf_counter_ns() - start) / batch)
    return samples


def mann_whitney_z(a: list[float], b: list[float]) -> float:
    """z of the Mann-Whitney U statistic (normal approximation, ties averaged): > 0 when ``a`` tends
    to be larger. Ranks ignore how far an outlier lies, so descheduled samples do not swamp it."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_a = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    n_a, n_b = len(a), len(b)
    u = rank_a - n_a * (n_a + 1) / 2
    return (u - n_a * n_b / 2) / math.sqrt(n_a * n_b * (n_a + n_b + 1) / 12)


def welch_t(a: list[float], b: list[float]) -> float:
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    return (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(va + vb) if va + vb else 0.0


def report(title: str, samples: dict[str, list[float]]) -> None:
    print(title)
    for name, values in samples.items():
        print(f"  {name:<24} median {statistics.median(values):>10.1f} ns   mean {statistics.fmean(values):>10.1f} ns"
              f"   stdev {statistics.stdev(values):>9.1f} ns   n={len(values)}")
    a, b = samples["no shared prefix"], samples["all but the last char"]
    diff = statistics.median(b) - statistics.median(a)
    z = mann_whitney_z(b, a)
    print(f"  all-but-one minus no-prefix: median {diff:+.1f} ns ({diff / statistics.median(a):+.2%}), "
          f"Mann-Whitney z = {z:+.2f}, Welch t = {welch_t(b, a):+.2f}  "
          f"-> {'no measurable difference' if abs(z) < 3 else 'MEASURABLE difference'} (threshold |z| = 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("function", "http"), default="function")
    parser.add_argument("--rounds", type=int, default=None, help="samples per guess (default 2000 function, 300 http)")
    parser.add_argument("--batch", type=int, default=None, help="calls per sample (default 50 function, 5 http)")
    parser.add_argument("--key-length", type=int, default=64, help="length of the configured key")
    parser.add_argument("--reference-length", type=int, default=65536, help="key length for the plain == reference")
    args = parser.parse_args()
    rounds = args.rounds or (2000 if args.mode == "function" else 300)
    batch = args.batch or (50 if args.mode == "function" else 5)
    key = secrets.token_urlsafe(args.key_length)[: args.key_length]
    settings = Settings(data_dir=Path("/nonexistent"), api={"api_key": key})
    named = guesses(key)
    check = function_check(settings) if args.mode == "function" else http_check(settings)
    print(f"key length {len(key)}, mode {args.mode}, {rounds} rounds x {batch} calls per guess, python {sys.version.split()[0]}")
    report("product key check (sha256 digests + hmac.compare_digest):", measure(check, named, rounds, batch))
    if args.mode == "function":
        long_key = secrets.token_urlsafe(args.reference_length)[: args.reference_length]
        report(f"reference, plain == (early exit) on a {len(long_key)}-character key, to show what a leak looks like:",
               measure(plain_equality(long_key), guesses(long_key), rounds, batch * 10))


if __name__ == "__main__":
    main()
