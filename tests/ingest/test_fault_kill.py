"""Crash safety of `kb ingest`: a run SIGKILLed inside a write transaction leaves a store that
passes the integrity check and holds only whole sources; the next full run converges to exactly
what an uninterrupted run stores. Real processes, real SQLite file, real model; the batch is the
team-written fixtures cut into one file per section (30 files). The kill comes from the child
itself, in the chosen source write after its statements ran and before COMMIT: a file's write
lasts well under a millisecond and the files of a group are written back to back, too fast to
hit reliably from outside.

The 20-kill version with random kill points over the real Acts is ``benchmarks/bench_faults.py``.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from fault_support import (FIXTURE_ACTS, FIXTURE_WHOLE, SQLITE_FILE, StoreSnapshot, check_in_process, converged, diff,
                           file_sha256, kb_check, kb_env, partial_state_problems, run_kb, run_killed_in_write,
                           slice_acts, snapshot, write_batch)  # fmt: skip

from api.runtime import Runtime
from ingest.convert import convert_file
from ingest.pipeline import text_id
from kb.settings import Settings

pytestmark = pytest.mark.slow

FILES = slice_acts(FIXTURE_ACTS, sections_per_file=1, whole=FIXTURE_WHOLE)
NAMES = [f.name for f in FILES]


def _reference(settings_factory, where: Path, folder: Path) -> StoreSnapshot:
    """The store an uninterrupted ingest of ``folder`` builds (in this process)."""
    settings = settings_factory(where)
    runtime = Runtime.open(settings)
    try:
        report = runtime.ingestor.ingest([folder])
    finally:
        runtime.close()
    assert not report.failed, [(f.path, f.reason) for f in report.failed]
    return snapshot(settings.sqlite_path)


def test_batch_is_thirty_files_of_one_section(tmp_path: Path) -> None:
    assert len(FILES) == 30 and len(set(NAMES)) == 30
    assert all(len(f.sections) == 1 for f in FILES if f.name != "police-guide.md")
    # ingest stores equal text once (doc_id = hash of the converted text): 30 sources need 30 texts
    write_batch(tmp_path, FILES, edited=set())
    settings = Settings()
    for edited in (False, True):
        texts = {text_id(convert_file(tmp_path / f.name, settings.ingest).text) for f in FILES}
        assert len(texts) == 30, "two files of the batch have the same text and would be stored as one source"
        write_batch(tmp_path, FILES, edited=set(NAMES))


def test_killed_ingest_keeps_whole_sources_and_a_rerun_converges(tmp_path: Path, settings_factory) -> None:
    folder = tmp_path / "batch"
    write_batch(folder, FILES, edited=set(NAMES))
    ref_edited = _reference(settings_factory, tmp_path / "ref-edited", folder)
    write_batch(folder, FILES, edited=set())
    ref = _reference(settings_factory, tmp_path / "ref", folder)
    assert len(ref.sources) == 30 and ref.n_chunks >= 30

    data = tmp_path / "data"
    db = data / SQLITE_FILE
    # (files edited in this round, source writes that commit before the kill)
    rounds = [(set(), 4), (set(NAMES), 6), (set(NAMES[::2]), 5)]
    before = snapshot(db)
    for edited, skip in rounds:
        write_batch(folder, FILES, edited=edited)
        killed = run_killed_in_write(skip, ["ingest", str(folder)], kb_env(data))
        assert (killed.phase, killed.returncode) == ("in-write", -signal.SIGKILL), killed.stderr[-2000:]
        assert check_in_process(db) == []
        after = snapshot(db)
        assert partial_state_problems(after, [ref, ref_edited]) == []
        current = {str(folder / f.name): file_sha256(folder / f.name) for f in FILES}
        committed = [p for p, h in current.items() if after.file_hashes.get(p) == h != before.file_hashes.get(p)]
        assert len(committed) == skip, (skip, committed)
        before = after

    write_batch(folder, FILES, edited=set())
    done = run_kb(data, "ingest", str(folder), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = json.loads(done.stdout)["counts"]
    assert counts["failed"] == 0 and counts["ingested"] + counts["replaced"] + counts["unchanged"] == 30, counts
    passed, report = kb_check(data)
    assert passed, report
    result = diff(snapshot(db), ref)
    assert converged(result), result
    assert result["min_embedding_cosine"] > 0.9999
