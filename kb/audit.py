"""The audit log: one JSON line per write to the knowledge base, appended and never rewritten.

Every ingest, delete, rebuild and migration (from the HTTP API or the ``kb`` command) leaves
exactly one event in ``<data_dir>/audit.log``: when (UTC), who, what, on which files or
documents, how it ended, and from which client address. Who is never a secret: an API caller
is named by a short fingerprint of the key (``key:`` + 8 hex digits of its SHA-256), a command
by the operating-system user (``cli:alice``).

Writes go through ``O_APPEND`` (concurrent writers, even in other processes, never interleave
inside a line) and ``fsync`` (an event that was reported as written survives a power cut). The
file is created readable by its owner only: it names uploaded files, and the material is about
crimes against children.

    >>> log = AuditLog(Path(tmp) / "audit.log")                       # doctest: +SKIP
    >>> with log.record("delete", actor=cli_actor(), targets=["3f2a..."]) as event:  # doctest: +SKIP
    ...     store.delete_source("3f2a...")
    ...     event.outcome = {"status": "deleted"}
    >>> log.read(limit=1).events[0]["action"]                         # doctest: +SKIP
    'delete'
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kb.errors import KBError, StoreError

AUDIT_FILE = "audit.log"
ACTIONS = ("ingest", "delete", "rebuild", "migrate")
FINGERPRINT_HEX = 8
_READ_BLOCK = 1 << 16
# One lock per process: threads of the HTTP server append through it, other processes rely on O_APPEND.
_WRITE_LOCK = threading.Lock()


def key_actor(key: str) -> str:
    """The name an API caller is logged under: a fingerprint that cannot be turned back into the key.

    >>> key_actor("correct horse battery staple")
    'key:c4bbcb1f'
    """
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:FINGERPRINT_HEX]


def cli_actor() -> str:
    """``cli:<user>`` for the account running the command, from the password database (not from
    ``$USER``, which the caller controls)."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a container user without a passwd entry
        name = f"uid{uid}"
    return f"cli:{name}"


@dataclass
class AuditEvent:
    """One write. ``outcome`` is filled in by the caller when the write ends (see :meth:`AuditLog.record`)."""

    action: str
    actor: str
    targets: list[str] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    client: str | None = None
    time: str | None = None

    def to_line(self) -> bytes:
        # ensure_ascii: control characters, newlines and lone surrogates in client-sent file
        # names become escapes, so an event is always exactly one valid UTF-8 line.
        data = {"time": self.time, "actor": self.actor, "action": self.action, "targets": self.targets,
                "outcome": self.outcome, "client": self.client}
        return (json.dumps(data, ensure_ascii=True, sort_keys=False, default=str) + "\n").encode("ascii")


@dataclass
class AuditPage:
    """Events newest first; ``total`` counts every line of the log."""

    events: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


class AuditLog:
    """The append-only log file. Cheap to construct; nothing is opened until an event is recorded."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def of(cls, data_dir: Path) -> AuditLog:
        """The log of a data directory (``settings.data_dir``)."""
        return cls(Path(data_dir) / AUDIT_FILE)

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def record(self, action: str, *, actor: str, targets: list[str] | None = None,
               client: str | None = None) -> Iterator[AuditEvent]:
        """Record one event for the write done inside the ``with`` block.

        The file is opened before the block runs, so a data directory where the log cannot be
        written stops the write before it happens. An error raised by the block is recorded as
        the outcome (``status: error`` with its code) and raised again.
        """
        if action not in ACTIONS:
            raise ValueError(f"audit action must be one of {ACTIONS}, got {action!r}")
        event = AuditEvent(action=action, actor=actor, targets=[str(t) for t in targets or []], client=client)
        fd = self._open()
        try:
            try:
                yield event
            except BaseException as err:
                event.outcome = {**event.outcome, "status": "error", "error": describe_error(err)}
                raise
            event.outcome.setdefault("status", "ok")
        finally:
            try:
                event.time = _utc_now()
                self._write(fd, event.to_line())
            finally:
                os.close(fd)

    def append(self, event: AuditEvent) -> None:
        """Write one finished event (its time is set now)."""
        event.time = _utc_now()
        fd = self._open()
        try:
            self._write(fd, event.to_line())
        finally:
            os.close(fd)

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as err:
            raise StoreError(f"cannot open the audit log {self.path}: {err.strerror or err}", path=str(self.path)) from err

    def _write(self, fd: int, line: bytes) -> None:
        try:
            with _WRITE_LOCK:
                view = memoryview(line)
                while view:  # os.write may write less than asked (signals, quotas)
                    view = view[os.write(fd, view):]
                os.fsync(fd)
        except OSError as err:
            raise StoreError(f"cannot write the audit log {self.path}: {err.strerror or err}", path=str(self.path)) from err

    # -- reading -------------------------------------------------------------------------
    def read(self, *, limit: int = 50, offset: int = 0) -> AuditPage:
        """Events newest first, skipping ``offset``. A line that is not a JSON object (a torn
        write after a crash, an edit by hand) is returned as an ``unreadable`` event, not hidden."""
        if limit < 1 or offset < 0:
            raise ValueError(f"limit must be >= 1 and offset >= 0, got limit={limit}, offset={offset}")
        if not self.path.exists():
            return AuditPage(events=[], total=0, offset=offset, limit=limit)
        total = self._count_lines()
        events: list[dict[str, Any]] = []
        for index, line in enumerate(self._lines_newest_first()):
            if index < offset:
                continue
            if len(events) == limit:
                break
            events.append(_parse(line, total - index))
        return AuditPage(events=events, total=total, offset=offset, limit=limit)

    def _count_lines(self) -> int:
        count, last = 0, b"\n"
        with self.path.open("rb") as fh:
            while block := fh.read(_READ_BLOCK):
                count += block.count(b"\n")
                last = block[-1:]
        return count + (last != b"\n")  # a last line without its newline still counts

    def _lines_newest_first(self) -> Iterator[bytes]:
        """Lines from the end of the file backwards, reading blocks (the log only grows)."""
        with self.path.open("rb") as fh:
            position = fh.seek(0, os.SEEK_END)
            tail = b""
            while position > 0:
                step = min(_READ_BLOCK, position)
                position -= step
                fh.seek(position)
                lines = (fh.read(step) + tail).split(b"\n")
                tail = lines.pop(0)
                for line in reversed(lines):
                    if line:
                        yield line
            if tail:
                yield tail


def describe_error(err: BaseException) -> dict[str, str]:
    """``{"code", "message"}`` of an error for the log. Only the product's own errors (and the
    HTTP layer's, which carry a code too) contribute their message; anything else is named by type."""
    code = getattr(err, "code", None)
    message = getattr(err, "message", None)
    if isinstance(err, KBError) or (isinstance(code, str) and isinstance(message, str)):
        return {"code": str(code), "message": str(message)[:500]}
    return {"code": "unexpected", "message": type(err).__name__}


def ingest_outcome(report: dict[str, Any]) -> dict[str, Any]:
    """The audit outcome of an ingest or rebuild report (``IngestReport.to_dict()``): counts and
    each file's status, document id and reason."""
    files = [{k: f.get(k) for k in ("path", "status", "doc_id", "reason")} for f in report.get("files", [])]
    counts = report.get("counts", {})
    status = "failed" if files and counts.get("failed") == len(files) else "partial" if counts.get("failed") else "ok"
    return {"status": status, "counts": counts, "provisions": report.get("provisions", 0),
            "chunks": report.get("chunks", 0), "files": files}


def _parse(line: bytes, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return {"time": None, "actor": None, "action": "unreadable", "targets": [], "client": None,
                "outcome": {"status": "error", "error": {"code": "unreadable", "message": f"line {number} is not a JSON object"}}}
    return data


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
