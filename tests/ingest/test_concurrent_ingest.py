"""Two `kb ingest` processes on one data directory, and a reader searching during an ingest.

Two ingests either take turns (the second waits on the writer lock ``<db>.lock``) or, when the
second's wait is shorter than the first's run, the second stops with a StoreBusyError naming the
lock file and the holder's pid (exit code 2). Either way the store passes ``kb check`` and holds
exactly what one uninterrupted ingest stores. A reader in another process keeps answering searches
while the ingest writes (WAL), and sees the new text once it is committed. Real processes, real
SQLite file, real model, team-written fixture Acts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_support import (FIXTURE_ACTS, FIXTURE_WHOLE, ROOT, SQLITE_FILE, LockProbe, converged, diff, kb_check, kb_command,
                           kb_env, run_kb, slice_acts, snapshot, write_batch)  # fmt: skip

from api.runtime import Runtime
from kb.errors import KBError

pytestmark = pytest.mark.slow

FILES = slice_acts(FIXTURE_ACTS, sections_per_file=1, whole=FIXTURE_WHOLE)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, settings_factory) -> dict:
    root = tmp_path_factory.mktemp("concurrent-ingest")
    folder = root / "batch"
    write_batch(folder, FILES, edited=set())
    settings = settings_factory(root / "ref")
    runtime = Runtime.open(settings)
    try:
        assert not runtime.ingestor.ingest([folder]).failed
    finally:
        runtime.close()
    return {"folder": folder, "ref": snapshot(settings.sqlite_path)}


def _start(data: Path, folder: Path, **settings: str) -> subprocess.Popen:
    return subprocess.Popen(kb_command("ingest", str(folder)), env=kb_env(data, **settings), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_two_ingests_at_once_take_turns(tmp_path: Path, batch) -> None:
    data = tmp_path / "data"
    wait = {"KB_STORE__BUSY_TIMEOUT_MS": "900000"}  # longer than any run: the second waits its turn
    first, second = _start(data, batch["folder"], **wait), _start(data, batch["folder"], **wait)
    outs = [p.communicate(timeout=900) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [o[1][-2000:] for o in outs]
    passed, report = kb_check(data)
    assert passed, report
    result = diff(snapshot(data / SQLITE_FILE), batch["ref"])
    assert converged(result), result
    # one of them stored everything, the other found every file already stored
    again = run_kb(data, "ingest", str(batch["folder"]), "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["counts"]["unchanged"] == len(FILES), again.stdout[:500]


# A writer in another process: takes the store's writer lock (as `kb ingest` does for its whole
# run), says so, and holds it until its stdin closes. A real ingest can finish before a second
# process has even started on a fast machine; a held lock makes the overlap certain.
HOLD_LOCK = """
import sys
from kb.stores.sqlite import SQLiteKnowledgeStore
store = SQLiteKnowledgeStore(sys.argv[1])
with store.writer_lock(timeout_s=60):
    print("locked", flush=True)
    sys.stdin.read()
store.close()
"""


def test_second_ingest_gives_up_clearly_while_another_writes(tmp_path: Path, batch) -> None:
    data = tmp_path / "data"
    db = data / SQLITE_FILE
    assert run_kb(data, "ingest", str(batch["folder"])).returncode == 0
    edited = tmp_path / "edited"
    write_batch(edited, FILES, edited={f.name for f in FILES})  # work to do, so a write would show
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], cwd=ROOT, env=kb_env(data),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = run_kb(data, "ingest", str(edited), KB_STORE__BUSY_TIMEOUT_MS="1000")
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0
    message = "".join(second.stderr.split())  # the console wraps long lines anywhere
    assert second.returncode == 2, second.stderr[-2000:]
    assert "Traceback" not in second.stderr
    expected = f"error: {db}.lock: another process (pid {holder.pid}) is writing the store; gave up after 1.0 s"
    assert "".join(expected.split()) in message, second.stderr[-2000:]
    # The refused run wrote nothing: the store is exactly the first ingest's.
    passed, report = kb_check(data)
    assert passed, report
    result = diff(snapshot(db), batch["ref"])
    assert converged(result), result


def test_searches_keep_answering_during_an_ingest(tmp_path: Path, batch, settings_factory) -> None:
    """A reader (this process, the project's Searcher) on the store an ingest is filling."""
    settings = settings_factory(tmp_path)
    db = settings.sqlite_path
    head = FILES[:1]  # the police guide first, so the reader has something to find
    seed = tmp_path / "seed"
    write_batch(seed, head, edited=set())
    runtime = Runtime.open(settings)
    try:
        assert not runtime.ingestor.ingest([seed]).failed
        searcher = runtime.searcher
        queries = ["punishment for sexual assault on a child", "duty to report an offence",
                   "recording the statement of a child", "publishing sexually explicit material of children"]  # fmt: skip
        seen_before = {h.provision_key for h in searcher.search(queries[-1]).hits}  # also warms the model
        proc = _start(settings.data_dir, batch["folder"])
        failures, slowest, during_lock = [], 0.0, 0
        lock_probe = LockProbe(db)
        try:
            while proc.poll() is None:
                for q in queries:
                    held = lock_probe.writer_lock_held()
                    started = time.perf_counter()
                    try:
                        result = searcher.search(q)
                    except KBError as err:  # a store refusal (busy, locked) is what this test looks for
                        failures.append(f"{q}: {type(err).__name__}: {err}")
                        continue
                    slowest = max(slowest, time.perf_counter() - started)
                    during_lock += held and lock_probe.writer_lock_held()
                    assert result.hits, f"no hits for {q!r} during the ingest"
        finally:
            lock_probe.close()
            out = proc.communicate(timeout=900)
        assert proc.returncode == 0, out[1][-2000:]
        assert failures == []
        assert during_lock >= 5, f"only {during_lock} searches ran while the ingest held the writer lock"
        # far below the 30 s busy timeout a blocked reader would wait
        assert slowest < 10, f"a search took {slowest:.1f} s during the ingest"
        # the committed text is seen by the same reader without reopening the store
        seen_after = {h.provision_key for h in searcher.search(queries[-1]).hits}
        assert seen_after - seen_before, seen_after
    finally:
        runtime.close()
    passed, report = kb_check(settings.data_dir)
    assert passed, report
