"""Crash safety of ingest: SIGKILL `kb ingest` at random points, then check the store and that a
final run converges to exactly what an uninterrupted run stores.

    python benchmarks/bench_faults.py                       # 20 kills, seed printed
    python benchmarks/bench_faults.py --kills 20 --seed 7 --files 39 --sections-per-file 2
    python benchmarks/bench_faults.py --fixtures            # team-written fixtures only

The batch: the Acts of ``../shared/sources/indiacode-md`` (all parts; the Child and Adolescent
Labour Act is left out, it is page text without ``## Section`` headings) cut into files of
``--sections-per-file`` sections, taken from the Acts in turn, ``--files`` of them (default 39 =
3 files of each of 13 Acts). Without the shared sources the team-written fixtures are used.
Each file has an edited form too (a sentence added), whose ingest replaces the stored copy.

1. Reference stores, built once without interruption: the batch as it is (A) and edited (B).
2. ``--kills`` rounds on ONE store: the folder gets a seeded random mix of original and edited
   files (round 1: all original, from an empty store); ``kb ingest FOLDER`` starts as a real
   process and is SIGKILLed after a random delay within the expected run time (start-up + the
   pending files, estimated from the reference run). With probability ``--aim`` the kill instead
   lands inside a write transaction: the process kills itself in a random one of its pending
   source writes, after the write's statements and before COMMIT (writes are under a millisecond
   and back to back, too fast to hit from outside). After each kill: ``kb check`` must pass, every
   stored source must equal one whole source of a reference (no chunk lost or doubled), and an
   aimed kill must leave exactly the writes before it committed.
3. The folder is put back to the original files and ``kb ingest FOLDER`` runs to the end: its
   store must equal reference A (chunks as (doc_id, provision_key, text hash), provisions, source
   doc_ids and paths); embeddings are compared by cosine.

Where each kill landed ("phase"): unlocked (outside the ingest lock: start-up with imports, model
and file scan, or winding down after the last write),
working (holding the ingest lock: hashing, parsing, encoding), in-write (inside SQLite's write
transaction: seen on the WAL write lock, or an aimed kill), finished (the run ended before the kill).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ingest"))

from fault_support import (FIXTURE_ACTS, FIXTURE_WHOLE, SQLITE_FILE, converged, diff, file_sha256, kb_check,  # noqa: E402
                           kb_command, kb_env, partial_state_problems, run_and_kill, run_kb, run_killed_in_write,
                           slice_acts, snapshot, write_batch)  # fmt: skip

SOURCES = ROOT.parent / "shared" / "sources" / "indiacode-md"


def build_batch(args: argparse.Namespace) -> tuple[list, str]:
    if SOURCES.is_dir() and not args.fixtures:
        parts = sorted(p for p in SOURCES.glob("*/part-*.md") if "## Section " in p.read_text(encoding="utf-8"))
        acts = len({p.parent.name for p in parts})
        files = slice_acts(parts, sections_per_file=args.sections_per_file, max_files=args.files)
        return files, f"{len(parts)} Markdown parts of {acts} Acts in {SOURCES}, {args.sections_per_file} sections a file"
    files = slice_acts(FIXTURE_ACTS, sections_per_file=1, whole=FIXTURE_WHOLE, max_files=args.files)
    return files, "team-written fixtures (tests/fixtures), 1 section a file"


def ingest_uninterrupted(data: Path, folder: Path) -> tuple[dict, float]:
    started = time.monotonic()
    done = run_kb(data, "ingest", str(folder), "--json")
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"reference ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout), wall


class Estimator:
    """Expected run time of `kb ingest` from the reference runs: the start-up of a run with nothing
    to do, plus (when files are pending) the model load and each pending file's reference time."""

    def __init__(self, reports: list[tuple[dict, dict[str, str]]], noop_wall: float) -> None:
        self.noop = noop_wall
        self.seconds: dict[str, float] = {}
        loads = []
        for report, hash_of_path in reports:
            files = [f for f in report["files"] if f["status"] in ("ingested", "replaced")]
            typical = statistics.median(f["seconds"] for f in files[1:]) if len(files) > 1 else 0.0
            loads.append(max(files[0]["seconds"] - typical, 0.0))  # the model loads inside the first file
            for index, f in enumerate(files):
                self.seconds[hash_of_path[f["path"]]] = typical if index == 0 else f["seconds"]
        self.load = statistics.mean(loads)

    def expected(self, pending_hashes: list[str]) -> float:
        if not pending_hashes:
            return self.noop
        return self.noop + self.load + sum(self.seconds.get(h, 0.0) for h in pending_hashes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: from the clock; printed).")
    parser.add_argument("--files", type=int, default=39, help="Files in the batch.")
    parser.add_argument("--sections-per-file", type=int, default=2)
    parser.add_argument("--aim", type=float, default=0.4, help="Share of kills aimed inside a write transaction.")
    parser.add_argument("--edit-share", type=float, default=0.5, help="Share of files edited in rounds 2..N.")
    parser.add_argument("--fixtures", action="store_true", help="Use the team-written fixtures even if the sources exist.")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time()) % 1_000_000
    rng = random.Random(seed)
    files, described = build_batch(args)
    print(f"seed {seed}; batch: {len(files)} files cut from {described}")

    with tempfile.TemporaryDirectory(prefix="kb-faults-") as tmp:
        tmp_path = Path(tmp).resolve()
        folder = tmp_path / "batch"
        names = [f.name for f in files]

        # 1. references: original (A), edited (B), and a run with nothing to do (start-up time).
        write_batch(folder, files, edited=set(names))
        report_b, wall_b = ingest_uninterrupted(tmp_path / "ref-b", folder)
        ref_b = snapshot(tmp_path / "ref-b" / SQLITE_FILE)
        hashes_b = {n: file_sha256(folder / n) for n in names}
        write_batch(folder, files, edited=set())
        report_a, wall_a = ingest_uninterrupted(tmp_path / "ref-a", folder)
        ref_a = snapshot(tmp_path / "ref-a" / SQLITE_FILE)
        hashes_a = {n: file_sha256(folder / n) for n in names}
        report_noop, wall_noop = ingest_uninterrupted(tmp_path / "ref-a", folder)
        assert report_noop["counts"]["unchanged"] == len(files), report_noop["counts"]
        assert converged(diff(snapshot(tmp_path / "ref-a" / SQLITE_FILE), ref_a)), "a run with nothing to do changed the store"
        est = Estimator([(report_a, {str(folder / n): h for n, h in hashes_a.items()}),
                         (report_b, {str(folder / n): h for n, h in hashes_b.items()})], wall_noop)
        print(f"reference A: {len(ref_a.sources)} sources, {ref_a.n_chunks} chunks, {wall_a:.1f} s wall "
              f"(encode {report_a['encode_seconds']:.1f} s); reference B (edited): {ref_b.n_chunks} chunks, {wall_b:.1f} s; "
              f"run with nothing to do: {wall_noop:.1f} s")  # fmt: skip
        print(f"estimate of a run: start-up {est.noop:.1f} s + model load {est.load:.1f} s + the pending files' "
              f"reference times (median {statistics.median(est.seconds.values()):.2f} s a file)\n")

        # 2. kills on one store
        data = tmp_path / "data"
        db = data / SQLITE_FILE
        env = kb_env(data)
        header = (f"{'kill':>4} {'pending':>7} {'expect s':>8} {'delay s':>7} {'aimed':>5} {'phase':>9} {'files done':>10} "
                  f"{'check':>5} {'exact':>5} {'sources':>7} {'chunks':>6}")  # fmt: skip
        print(header)
        print("-" * len(header))
        rows, before = [], snapshot(db)
        # A run that ends before its kill is a round but not a kill: go on until --kills processes
        # were really killed (at most 3x as many rounds).
        round_no = 0
        while sum(r["phase"] != "finished" for r in rows) < args.kills and round_no < 3 * args.kills:
            round_no += 1
            edited = set() if round_no == 1 else {n for n in names if rng.random() < args.edit_share}
            write_batch(folder, files, edited=edited)
            current = {n: (hashes_b if n in edited else hashes_a)[n] for n in names}
            pending = [h for n, h in current.items() if before.file_hashes.get(str(folder / n)) != h]
            expected = est.expected(pending)
            # aimed: the kill lands inside pending write number skip + 1
            skip = rng.randrange(len(pending)) if rng.random() < args.aim and pending else None
            if skip is not None:
                outcome = run_killed_in_write(skip, ["ingest", str(folder)], env)
            else:
                outcome = run_and_kill(kb_command("ingest", str(folder)), env, db, delay_s=rng.uniform(0.0, expected))
            if outcome.phase == "finished" and outcome.returncode not in (0,):
                raise SystemExit(f"kb ingest failed on its own ({outcome.returncode}): {outcome.stderr[-2000:]}")
            check_ok, check_report = kb_check(data)
            after = snapshot(db)
            problems = partial_state_problems(after, [ref_a, ref_b])
            done = sum(1 for n, h in current.items()
                       if after.file_hashes.get(str(folder / n)) == h != before.file_hashes.get(str(folder / n)))
            if skip is not None and outcome.phase == "in-write" and done != skip:
                problems.append(f"killed inside write {skip + 1}, but {done} files were committed, not {skip}")
            rows.append(dict(round=round_no, pending=len(pending), expected=expected, delay=outcome.delay_s,
                             phase=outcome.phase, done=done, check=check_ok, exact=not problems,
                             sources=len(after.sources), chunks=after.n_chunks))  # fmt: skip
            where = "no" if skip is None else f"w{skip + 1}"
            print(f"{round_no:>4} {len(pending):>7} {expected:>8.1f} {outcome.delay_s:>7.2f} {where:>5} "
                  f"{outcome.phase:>9} {done:>10} {'ok' if check_ok else 'FAIL':>5} {'yes' if not problems else 'NO':>5} "
                  f"{len(after.sources):>7} {after.n_chunks:>6}", flush=True)  # fmt: skip
            for problem in [*check_report.get("problems", []), *problems][:10]:
                print(f"      problem: {problem}")
            before = after

        # 3. back to the original files, one run to the end
        write_batch(folder, files, edited=set())
        started = time.monotonic()
        final = run_kb(data, "ingest", str(folder), "--json")
        final_wall = time.monotonic() - started
        final_counts = json.loads(final.stdout)["counts"] if final.returncode == 0 else final.stderr[-1000:]
        check_ok, _ = kb_check(data)
        result = diff(snapshot(db), ref_a)

    phases = Counter(r["phase"] for r in rows)
    killed = [r for r in rows if r["phase"] != "finished"]
    print(f"\nrounds {len(rows)}, processes killed {len(killed)}: "
          + ", ".join(f"{p} {phases[p]}" for p in ("unlocked", "working", "in-write", "finished")))
    print(f"kb check passed after {sum(r['check'] for r in rows)}/{len(rows)} rounds; every stored source whole "
          f"after {sum(r['exact'] for r in rows)}/{len(rows)}; files committed by killed runs: "
          f"{sum(r['done'] for r in killed)}")  # fmt: skip
    print(f"final uninterrupted run: exit {final.returncode}, {final_wall:.1f} s, counts {final_counts}, kb check "
          f"{'ok' if check_ok else 'FAILED'}")  # fmt: skip
    print(f"against reference A: lost {result['lost']}, duplicated {result['duplicated']} chunks "
          f"(of {ref_a.n_chunks}); provisions lost {result['provisions_lost']}, duplicated "
          f"{result['provisions_duplicated']}; sources missing {len(result['sources_missing'])}, extra "
          f"{len(result['sources_extra'])}; paths differing {len(result['paths_differing'])}; chunk ids differing "
          f"{result['chunk_ids_differing']}; min embedding cosine {result['min_embedding_cosine']:.6f}")  # fmt: skip
    good = (converged(result) and check_ok and all(r["check"] and r["exact"] for r in rows)
            and len(killed) >= args.kills)
    print("CONVERGED" if good else "NOT CONVERGED")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
