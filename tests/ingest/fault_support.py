"""Batches, store snapshots and lock probes for the fault and concurrency checks of ingest.

Used by ``tests/ingest/test_fault_kill.py``, ``test_concurrent_ingest.py``, ``test_store_faults.py``
and by ``benchmarks/bench_faults.py`` / ``bench_concurrency.py``.

* **Batches.** An India Code Markdown file is cut into files of a few ``## Section`` blocks each,
  every file keeping the original front matter and title, so one Act becomes many small files
  (many transactions) that parse exactly like the original. Each file also has an *edited*
  form (a sentence added to its last section): ingesting it replaces the stored copy, which is the
  write most exposed to a crash (old rows deleted and new rows inserted in one transaction).
* **Snapshots.** Read straight from the SQLite file with plain SQL (not through the store's code
  under test): chunks as ``(doc_id, provision_key, sha256(text))`` counts, provisions, paths,
  stored file hashes and embeddings. Comparing two snapshots gives lost and duplicated rows.
* **Probes.** Whether another process holds the store's writer lock (``<db>.lock``, ``flock``) or
  SQLite's WAL write lock (byte 120 of ``<db>-shm``, asked with ``F_GETLK``, which takes nothing),
  so a kill timed from outside says where it landed. A kill inside a chosen write transaction
  comes from the child itself (``run_killed_in_write``): a file's write lasts well under a
  millisecond and the files of a group are written back to back, too fast to hit from outside.

    >>> files = slice_acts(FIXTURE_ACTS, sections_per_file=1)          # doctest: +SKIP
    >>> write_batch(tmp / "batch", files, edited=set())                 # doctest: +SKIP
    >>> snap = snapshot(tmp / "data" / "kb.sqlite3")                    # doctest: +SKIP
    >>> diff(snap, reference)["lost"]                                   # doctest: +SKIP
    0
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# Team-written Act-like fixtures in the India Code layout, and one guide kept whole.
FIXTURE_ACTS = [
    FIXTURES / "indiacode" / "pocso-sample" / "part-001.md",
    FIXTURES / "indiacode" / "it-sample" / "part-001.md",
    FIXTURES / "indiacode" / "it-sample" / "part-002.md",
    FIXTURES / "indiacode" / "bns-sample" / "part-001.md",
    FIXTURES / "api" / "pocso-sample.md",
    FIXTURES / "api" / "it-sample.md",
    FIXTURES / "api" / "jj-sample.md",
]
FIXTURE_WHOLE = [FIXTURES / "api" / "police-guide.md"]
EDIT_NOTE = "\n\nThis copy of the provision was edited between two ingest runs of the fault tests.\n"
SQLITE_FILE = "kb.sqlite3"

_SECTION = re.compile(r"^## Section ", re.M)
# SQLite's unix VFS locks byte 120 of the -shm file (UNIX_SHM_BASE + WAL_WRITE_LOCK) for as long as
# a connection has a write transaction open on a WAL database.
_WAL_WRITE_LOCK_BYTE = 120
_FLOCK = "hhqqi4x"  # struct flock on Linux x86-64/arm64: type, whence, start, len, pid


# --- batches -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchFile:
    """One file of a batch: the original's header (front matter, title) and some of its sections."""

    name: str
    header: str
    sections: tuple[str, ...]

    def text(self, edited: bool = False) -> str:
        body = "".join(self.sections)
        return self.header + (body.rstrip("\n") + EDIT_NOTE if edited else body)


def slice_acts(paths: list[Path], *, sections_per_file: int, max_files: int | None = None,
               whole: list[Path] = ()) -> list[BatchFile]:
    """Cut India Code Markdown files into files of ``sections_per_file`` sections, taken from the
    Acts in turn (so a prefix of the list spans every Act; the parts ``ACT/part-00N.md`` of one Act
    count as one); ``whole`` files are kept as they are, first."""
    per_act: dict[str, list[BatchFile]] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        starts = [m.start() for m in _SECTION.finditer(text)]
        if not starts:
            raise ValueError(f"{path}: no '## Section' headings to cut at")
        header, bounds = text[: starts[0]], [*starts, len(text)]
        sections = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
        stem = f"{path.parent.name}-{path.stem}" if path.stem.startswith("part-") else path.stem
        act = path.parent.name if path.stem.startswith("part-") else path.stem
        per_act.setdefault(act, []).extend(
            BatchFile(f"{stem}-{i // sections_per_file + 1:03d}.md", header, tuple(sections[i: i + sections_per_file]))
            for i in range(0, len(sections), sections_per_file)
        )
    files = [BatchFile(p.name, p.read_text(encoding="utf-8"), ()) for p in whole]
    for index in range(max((len(s) for s in per_act.values()), default=0)):
        files.extend(s[index] for s in per_act.values() if index < len(s))
    return files[:max_files] if max_files else files


def write_batch(folder: Path, files: list[BatchFile], *, edited: set[str]) -> None:
    """Write every file in its original form, or edited when its name is in ``edited``; files whose
    bytes would not change are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        data = f.text(f.name in edited).encode("utf-8")
        target = folder / f.name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- snapshots ---------------------------------------------------------------------------------
def _sha(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:16]


@dataclass
class StoreSnapshot:
    """What a store file holds, read with plain SQL."""

    chunks: Counter = field(default_factory=Counter)       # (doc_id, provision_key, sha(text))
    provisions: Counter = field(default_factory=Counter)   # (doc_id, provision_key, sha(payload))
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)  # doc_id -> stored counts
    paths: dict[str, str] = field(default_factory=dict)    # path -> doc_id
    file_hashes: dict[str, str] = field(default_factory=dict)  # path -> file hash of its source
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> vector

    @property
    def n_chunks(self) -> int:
        return sum(self.chunks.values())

    def chunks_of(self, doc_id: str) -> Counter:
        return Counter({k: n for k, n in self.chunks.items() if k[0] == doc_id})

    def provisions_of(self, doc_id: str) -> Counter:
        return Counter({k: n for k, n in self.provisions.items() if k[0] == doc_id})


def snapshot(db_path: Path) -> StoreSnapshot:
    """Read ``db_path`` (a missing file is an empty store). The connection is closed on return."""
    snap = StoreSnapshot()
    if not Path(db_path).exists():
        return snap
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "sources" not in tables:
            return snap
        for doc_id, content, meta, embedding, chunk_id in conn.execute(
                "SELECT doc_id, content, meta, embedding, id FROM documents"):
            key = json.loads(meta).get("provision_key")
            snap.chunks[(doc_id, key, _sha(content))] += 1
            snap.embeddings[chunk_id] = np.frombuffer(embedding, dtype="<f4") if embedding else np.zeros(0)
        for doc_id, key, payload in conn.execute("SELECT doc_id, provision_key, payload FROM provisions"):
            snap.provisions[(doc_id, key, _sha(payload))] += 1
        for doc_id, n_prov, n_chunks, record in conn.execute(
                "SELECT doc_id, n_provisions, n_chunks, record FROM sources"):
            snap.sources[doc_id] = (n_prov, n_chunks)
            file_hash = json.loads(record).get("file_hash")
            for (path,) in conn.execute("SELECT path FROM source_paths WHERE doc_id = ?", (doc_id,)):
                snap.paths[path] = doc_id
                snap.file_hashes[path] = file_hash
    finally:
        conn.close()
    return snap


def diff(actual: StoreSnapshot, expected: StoreSnapshot) -> dict[str, object]:
    """Lost and duplicated rows of ``actual`` against ``expected`` (all zero/empty when equal)."""
    cosines = [
        float(np.dot(vec, expected.embeddings[cid]) / (np.linalg.norm(vec) * np.linalg.norm(expected.embeddings[cid])))
        for cid, vec in actual.embeddings.items() if cid in expected.embeddings and vec.size
    ]  # fmt: skip
    return {
        "lost": sum((expected.chunks - actual.chunks).values()),
        "duplicated": sum((actual.chunks - expected.chunks).values()),
        "provisions_lost": sum((expected.provisions - actual.provisions).values()),
        "provisions_duplicated": sum((actual.provisions - expected.provisions).values()),
        "sources_missing": sorted(set(expected.sources) - set(actual.sources)),
        "sources_extra": sorted(set(actual.sources) - set(expected.sources)),
        "paths_differing": sorted(p for p in set(actual.paths) | set(expected.paths)
                                  if actual.paths.get(p) != expected.paths.get(p)),
        "chunk_ids_differing": len(set(actual.embeddings) ^ set(expected.embeddings)),
        "min_embedding_cosine": min(cosines, default=1.0),
    }


def converged(d: dict[str, object]) -> bool:
    return (d["lost"], d["duplicated"], d["provisions_lost"], d["provisions_duplicated"], d["chunk_ids_differing"]) == (
        0, 0, 0, 0, 0) and not (d["sources_missing"] or d["sources_extra"] or d["paths_differing"])  # fmt: skip


def partial_state_problems(actual: StoreSnapshot, references: list[StoreSnapshot]) -> list[str]:
    """Every source stored after a crash must be one whole source of a reference: its chunks and
    provisions exactly (none lost, none doubled), nothing from an unknown source."""
    problems = []
    for doc_id in actual.sources:
        ref = next((r for r in references if doc_id in r.sources), None)
        if ref is None:
            problems.append(f"source {doc_id[:12]} is in no reference store")
            continue
        if actual.chunks_of(doc_id) != ref.chunks_of(doc_id):
            problems.append(f"source {doc_id[:12]}: chunks differ from the reference")
        if actual.provisions_of(doc_id) != ref.provisions_of(doc_id):
            problems.append(f"source {doc_id[:12]}: provisions differ from the reference")
    orphans = {k[0] for k in actual.chunks} - set(actual.sources)
    problems.extend(f"chunks of missing source {d}" for d in sorted(map(str, orphans)))
    return problems


def check_in_process(db: Path) -> list[str]:
    """The store's own integrity check of ``db``, run in this process: the problems (none: [])."""
    from kb.stores.sqlite import SQLiteKnowledgeStore

    store = SQLiteKnowledgeStore(db)
    try:
        report = store.check()
    finally:
        store.close()
    return [] if report.ok else report.problems


# --- running the CLI ---------------------------------------------------------------------------
def kb_command(*args: str) -> list[str]:
    """The ``kb`` CLI of this checkout, run by this interpreter."""
    return [sys.executable, "-c", "from api.cli import app; app()", *args]


# Run by the child of ``run_killed_in_write`` in place of ``kb_command``'s one-liner: the real CLI, except that the source
# write number ``{n}`` (counting from 0) SIGKILLs its own process after the transaction's last
# statement and before its COMMIT, the latest point a crash can hit a file's write.
_KILL_IN_WRITE = """
import os, signal
from contextlib import contextmanager
from kb.stores.sqlite_db import SQLiteDatabase
real_write, seen = SQLiteDatabase.write, [0]

@contextmanager
def write(self, action):
    with real_write(self, action) as conn:
        yield conn
        if action.startswith("writing source "):
            seen[0] += 1
            if seen[0] > {n}:
                os.kill(os.getpid(), signal.SIGKILL)

SQLiteDatabase.write = write
from api.cli import app
app()
"""


def kb_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HAYSTACK_TELEMETRY_ENABLED": "False", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.update(settings)
    return env


def run_kb(data_dir: Path, *args: str, timeout: float = 900, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(kb_command(*args), cwd=ROOT, env=kb_env(data_dir, **settings), capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def kb_check(data_dir: Path) -> tuple[bool, dict]:
    """``kb check --json``: (passed, report). Passed means exit code 0 and ``ok`` true."""
    done = run_kb(data_dir, "check", "--json", timeout=300)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False, {"problems": [f"kb check exit {done.returncode}: {done.stderr[-500:]}"]}
    return done.returncode == 0 and bool(report.get("ok")), report


# --- probes and kills --------------------------------------------------------------------------
class LockProbe:
    """Asks, without taking anything, whether another process writes the store at ``db_path``.

    Keep no SQLite connection to the same file open in this process while a probe is open: closing
    any descriptor of a file drops every POSIX lock this process holds on it (SQLite's own included).
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._shm_fd: int | None = None

    def wal_writer(self) -> int | None:
        """Pid of the process inside a write transaction (holding the WAL write lock), or None."""
        if self._shm_fd is None:
            try:
                self._shm_fd = os.open(f"{self.db_path}-shm", os.O_RDONLY)
            except FileNotFoundError:
                return None
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, _WAL_WRITE_LOCK_BYTE, 1, 0)
        kind, _, _, _, pid = struct.unpack(_FLOCK, fcntl.fcntl(self._shm_fd, fcntl.F_GETLK, query))
        return None if kind == fcntl.F_UNLCK else pid

    def writer_lock_held(self) -> bool:
        """True while some process holds the store's ingest lock (``<db>.lock``)."""
        try:
            fd = os.open(f"{self.db_path}.lock", os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also drops the shared lock, if it was taken
        return False

    def close(self) -> None:
        if self._shm_fd is not None:
            os.close(self._shm_fd)
            self._shm_fd = None


@dataclass
class KillOutcome:
    delay_s: float       # seconds from start to the kill (or to the exit, when it finished first)
    phase: str           # unlocked | working | in-write | finished
    returncode: int
    stderr: str


def run_and_kill(command: list[str], env: dict[str, str], db_path: Path, *, delay_s: float) -> KillOutcome:
    """Start ``command``, wait ``delay_s``, then SIGKILL it, and say where it was: unlocked,
    working (holding the ingest lock) or in-write (holding SQLite's WAL write lock); "finished"
    when the process exited before the kill."""
    probe = LockProbe(db_path)
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        started = time.monotonic()
        try:
            phase = _wait_and_kill(proc, probe, started + delay_s)
        finally:
            probe.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait(60)
        elapsed = time.monotonic() - started
        err.seek(0)
        stderr = err.read()
    return KillOutcome(round(elapsed, 2), phase, proc.returncode, stderr)


def _wait_and_kill(proc: subprocess.Popen, probe: LockProbe, kill_at: float) -> str:
    while time.monotonic() < kill_at:
        if proc.poll() is not None:
            return "finished"
        time.sleep(min(0.01, max(kill_at - time.monotonic(), 0)))
    if proc.poll() is not None:
        return "finished"
    phase = "in-write" if probe.wal_writer() == proc.pid else "working" if probe.writer_lock_held() else "unlocked"
    os.kill(proc.pid, signal.SIGKILL)
    return phase


def run_killed_in_write(skip_writes: int, args: list[str], env: dict[str, str], *, max_s: float = 900) -> KillOutcome:
    """Run ``kb *args`` so that ``skip_writes`` source writes commit and the process SIGKILLs
    itself inside the next one, after its statements ran and before COMMIT (a deterministic kill
    point; ``run_and_kill`` times kills from outside). ``phase`` is "in-write" when it did,
    "finished" when the run had fewer writes to make and ended."""
    command = [sys.executable, "-c", _KILL_IN_WRITE.format(n=int(skip_writes)), *args]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=max_s)
    phase = "in-write" if done.returncode == -signal.SIGKILL else "finished"
    return KillOutcome(round(time.monotonic() - started, 2), phase, done.returncode, done.stderr)
