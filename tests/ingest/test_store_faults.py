"""A store that cannot be written: disk full, a read-only data volume, a data directory that cannot
be created. Each gives an error naming the file, and the store keeps what it held before and passes
the integrity check. Real store, real ingest, real SQLite errors: a full disk is a small tmpfs
(and SQLite's own page limit, ``PRAGMA max_page_count``, which raises the same SQLITE_FULL at a
chosen point of a batch); a read-only volume is a tmpfs remounted read-only. The tests run as
root, where file modes stop nothing, so mounts are the honest way; they skip when ``mount`` is not
permitted.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fault_support import (FIXTURE_ACTS, FIXTURE_WHOLE, SQLITE_FILE, StoreSnapshot, check_in_process, converged, diff,
                           kb_check, partial_state_problems, run_kb, slice_acts, snapshot, write_batch)  # fmt: skip

from api.runtime import Runtime

pytestmark = pytest.mark.slow

FILES = slice_acts(FIXTURE_ACTS, sections_per_file=1, whole=FIXTURE_WHOLE)
FIRST, SECOND = FILES[:10], FILES[10:]


@pytest.fixture(scope="module")
def batch(tmp_path_factory, settings_factory) -> dict:
    """Two folders of the batch, and the stores an uninterrupted ingest builds: the first folder (ref1),
    then the second on top of it (ref12)."""
    root = tmp_path_factory.mktemp("store-faults")
    first, second = root / "first", root / "second"
    write_batch(first, FIRST, edited=set())
    write_batch(second, SECOND, edited=set())
    settings = settings_factory(root / "ref")
    runtime = Runtime.open(settings)
    try:
        assert not runtime.ingestor.ingest([first]).failed
        ref1, pages1 = snapshot(settings.sqlite_path), _page_count(settings.sqlite_path)
        assert not runtime.ingestor.ingest([second]).failed
        ref12, pages12 = snapshot(settings.sqlite_path), _page_count(settings.sqlite_path)
    finally:
        runtime.close()
    assert len(ref1.sources) == len(FIRST) and len(ref12.sources) == len(FILES)
    return {"first": first, "second": second, "ref1": ref1, "ref12": ref12, "pages_second": pages12 - pages1}


def _page_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()


def _squeezed(text: str) -> str:
    """``text`` without whitespace: the console wraps long messages anywhere, paths included."""
    return "".join(text.split())


def _kept(before: StoreSnapshot, after: StoreSnapshot) -> list[str]:
    """Sources of ``before`` that are missing from ``after`` or changed."""
    return [d[:12] for d in before.sources if after.chunks_of(d) != before.chunks_of(d)
            or after.provisions_of(d) != before.provisions_of(d)]  # fmt: skip


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True)  # fmt: skip
    except FileNotFoundError:
        pytest.skip("no mount command: a small file system cannot be made here")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _remount(where: Path, mode: str) -> None:
    done = subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"remounting {mode} is not permitted here: {done.stderr.strip()}")


def _fill(folder: Path, leave_bytes: int) -> Path:
    """Fill the file system of ``folder`` with a ballast file, then free ``leave_bytes`` of it."""
    ballast = folder / "ballast"
    block = b"\0" * (1 << 16)
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    os.truncate(ballast, max(ballast.stat().st_size - leave_bytes, 0))
    return ballast


def test_disk_full_during_one_file_fails_that_file_and_keeps_the_rest(tmp_path: Path, settings_factory, batch) -> None:
    """SQLITE_FULL half-way through a batch: the file being written fails with a message naming the
    store file; files before it stay stored whole; lifting the limit and re-running converges."""
    settings = settings_factory(tmp_path)
    runtime = Runtime.open(settings)
    db = settings.sqlite_path
    try:
        assert not runtime.ingestor.ingest([batch["first"]]).failed
        before = snapshot(db)
        conn = runtime.store._db.connection()  # the connection this thread's writes use
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        # room for a few of the second folder's files, not all (measured on the reference stores)
        conn.execute(f"PRAGMA max_page_count = {pages + batch['pages_second'] // 2}")
        report = runtime.ingestor.ingest([batch["second"]])
        statuses = {Path(f.path).name: f for f in report.files}
        conn.execute("PRAGMA max_page_count = 1073741823")
    finally:
        runtime.close()

    failed = [f for f in statuses.values() if f.status == "failed"]
    stored = [f for f in statuses.values() if f.status == "ingested"]
    assert failed and stored, {n: (f.status, f.reason) for n, f in statuses.items()}
    for f in failed:
        assert "disk full" in f.reason and str(db) in f.reason, f.reason
    assert len(failed) + len(stored) == len(SECOND)

    assert check_in_process(db) == []
    after = snapshot(db)
    assert _kept(before, after) == []
    assert partial_state_problems(after, [batch["ref12"]]) == []
    assert {f.doc_id for f in stored} <= set(after.sources)
    assert set(after.sources) == set(before.sources) | {f.doc_id for f in stored}

    runtime = Runtime.open(settings)  # a fresh connection: no page limit
    try:
        report = runtime.ingestor.ingest([batch["second"]])
    finally:
        runtime.close()
    assert not report.failed and report.counts()["ingested"] == len(failed), report.counts()
    result = diff(snapshot(db), batch["ref12"])
    assert converged(result), result


def test_full_file_system_fails_clearly_and_keeps_the_store(tmp_path: Path, batch) -> None:
    """`kb ingest` into a data directory on a full tmpfs (ENOSPC from the kernel)."""
    with tmpfs(tmp_path / "mnt", "8m") as mnt:
        data = mnt / "data"
        db = data / SQLITE_FILE
        first = run_kb(data, "ingest", str(batch["first"]), "--json")
        assert first.returncode == 0, first.stderr[-2000:]
        before = snapshot(db)
        ballast = _fill(mnt, leave_bytes=96 * 1024)

        done = run_kb(data, "ingest", str(batch["second"]), "--json")
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        message = " ".join(done.stderr.split())  # the console wraps long lines
        if done.returncode == 1:  # the report: the files that did not fit failed, naming the store file
            report = json.loads(done.stdout)
            failed = [f for f in report["files"] if f["status"] == "failed"]
            assert failed, report["counts"]
            for f in failed:
                assert f["reason"].startswith(f"store: {db}: disk full"), f["reason"]
            assert report["counts"]["failed"] + report["counts"]["ingested"] == len(SECOND), report["counts"]
        else:  # the store's writes took the last free pages, so recording the run in the audit log failed
            assert done.returncode == 2, (done.returncode, message)
            expected = f"error: cannot write the audit log {data / 'audit.log'}: No space left on device"
            assert _squeezed(expected) in _squeezed(message), message

        passed, check = kb_check(data)  # while the disk is still full
        assert passed, check
        after = snapshot(db)
        assert _kept(before, after) == []
        assert partial_state_problems(after, [batch["ref12"]]) == []

        ballast.unlink()
        again = run_kb(data, "ingest", str(batch["second"]), "--json")
        assert again.returncode == 0, again.stderr[-2000:]
        passed, check = kb_check(data)
        assert passed, check
        result = diff(snapshot(db), batch["ref12"])
        assert converged(result), result


def test_read_only_data_volume_fails_clearly_and_keeps_the_store(tmp_path: Path, batch) -> None:
    """The data directory's volume remounted read-only (as a container volume mounted ``:ro``)."""
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        data = mnt / "data"
        db = data / SQLITE_FILE
        first = run_kb(data, "ingest", str(batch["first"]), "--json")
        assert first.returncode == 0, first.stderr[-2000:]
        image = db.read_bytes()
        _remount(mnt, "ro")
        try:
            done = run_kb(data, "ingest", str(batch["second"]), "--json")
            assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
            assert "Traceback" not in done.stderr
            message = " ".join(done.stderr.split())  # the console wraps long lines
            assert _squeezed(f"error: {db}: cannot open the database file") in _squeezed(message), message
            assert "writable" in message, message
            assert db.read_bytes() == image
        finally:
            _remount(mnt, "rw")
        passed, check = kb_check(data)
        assert passed, check
        result = diff(snapshot(db), batch["ref1"])
        assert converged(result), result


@pytest.mark.parametrize("layout", ["file-as-data-dir", "file-as-parent"])
def test_data_directory_that_cannot_be_created(tmp_path: Path, batch, layout: str) -> None:
    """A file stands where the data directory (or its parent) should be: a one-line error naming it,
    exit code 2, and the file left as it was."""
    blocker = tmp_path / "occupied"
    blocker.write_text("not a directory\n")
    data = blocker if layout == "file-as-data-dir" else blocker / "data"
    done = run_kb(data, "ingest", str(batch["first"]), "--json")
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())
    assert _squeezed(f"error: {data}: cannot create the data directory") in _squeezed(message), message
    assert blocker.read_text() == "not a directory\n"
