"""The audit log file: one JSON line per write, appended, readable newest first, never holding a key."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from kb.audit import AuditEvent, AuditLog, cli_actor, describe_error, ingest_outcome, key_actor
from kb.errors import NotFoundError, StoreError


def _lines(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), "every event ends its line"
    return [json.loads(line) for line in raw.decode("ascii").splitlines()]


def test_record_appends_one_line_with_every_field(tmp_path: Path):
    log = AuditLog.of(tmp_path / "data")
    with log.record("delete", actor="cli:alice", targets=["ab" * 32], client=None) as event:
        event.outcome = {"status": "deleted", "title": "Model Act"}
    [line] = _lines(tmp_path / "data" / "audit.log")
    assert set(line) == {"time", "actor", "action", "targets", "outcome", "client"}
    assert line["actor"] == "cli:alice" and line["action"] == "delete" and line["targets"] == ["ab" * 32]
    assert line["outcome"] == {"status": "deleted", "title": "Model Act"}
    assert line["time"].endswith("Z") and line["time"][:4].isdigit()


def test_the_log_is_private_to_its_owner(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    log.append(AuditEvent(action="ingest", actor="cli:alice"))
    assert stat.S_IMODE((tmp_path / "audit.log").stat().st_mode) == 0o600


def test_an_error_in_the_block_is_recorded_and_raised_again(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    with pytest.raises(NotFoundError), log.record("delete", actor="key:00000000", targets=["x"], client="10.0.0.1"):
        raise NotFoundError("no stored document 'x'", doc_id="x")
    [line] = _lines(log.path)
    assert line["outcome"] == {"status": "error", "error": {"code": "not_found", "message": "no stored document 'x'"}}
    assert line["client"] == "10.0.0.1"


def test_unexpected_errors_are_named_by_type_only():
    # Arbitrary exception text may hold anything; only the product's own messages are logged.
    assert describe_error(RuntimeError("internal detail /srv/secret")) == {"code": "unexpected", "message": "RuntimeError"}


def test_hostile_target_names_stay_on_one_line(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    names = ["evil\nname.md", "nul\x00.md", "lone \ud800 surrogate.md", "rtl \u202e gpj.md", "बाल.md"]
    with log.record("ingest", actor="key:00000000", targets=names):
        pass
    [line] = _lines(log.path)
    assert line["targets"] == names


def test_concurrent_writers_never_interleave(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    big = "x" * 20_000  # longer than a pipe buffer: a torn write would show

    def write(n: int) -> None:
        for i in range(25):
            with log.record("ingest", actor=f"key:{n:08d}", targets=[f"{n}-{i}", big]):
                pass

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = _lines(log.path)
    assert len(lines) == 200
    assert sorted(line["targets"][0] for line in lines) == sorted(f"{n}-{i}" for n in range(8) for i in range(25))


def test_read_is_newest_first_and_pages(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    for i in range(7):
        log.append(AuditEvent(action="ingest", actor="cli:alice", targets=[f"file-{i}.md"]))
    page = log.read(limit=3)
    assert page.total == 7
    assert [e["targets"][0] for e in page.events] == ["file-6.md", "file-5.md", "file-4.md"]
    assert [e["targets"][0] for e in log.read(limit=3, offset=6).events] == ["file-0.md"]
    assert log.read(limit=3, offset=7).events == []


def test_read_crosses_block_boundaries(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    for i in range(40):  # ~5 kB per line: many lines straddle the 64 kB read blocks
        log.append(AuditEvent(action="ingest", actor="cli:alice", targets=[f"{i}", "y" * 5000]))
    events = log.read(limit=500).events
    assert [e["targets"][0] for e in events] == [str(i) for i in reversed(range(40))]


def test_a_damaged_line_is_shown_not_hidden(tmp_path: Path):
    log = AuditLog(tmp_path / "audit.log")
    log.append(AuditEvent(action="ingest", actor="cli:alice", targets=["a.md"]))
    with log.path.open("ab") as fh:
        fh.write(b'{"time": "2025-01-01T00:00:00Z", "act')  # a write torn by a crash, no newline
    page = log.read()
    assert page.total == 2
    assert page.events[0]["action"] == "unreadable"
    assert "line 2" in page.events[0]["outcome"]["error"]["message"]
    assert page.events[1]["targets"] == ["a.md"]


def test_missing_log_reads_as_empty(tmp_path: Path):
    page = AuditLog(tmp_path / "nothing" / "audit.log").read()
    assert page.events == [] and page.total == 0


def test_a_log_that_cannot_be_opened_stops_the_write_before_it_starts(tmp_path: Path):
    (tmp_path / "audit.log").mkdir()  # a directory where the file should be
    ran = []
    with pytest.raises(StoreError, match="cannot open the audit log"), AuditLog(tmp_path / "audit.log").record(
        "delete", actor="cli:alice"
    ):
        ran.append(True)
    assert ran == []


def test_unknown_action_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="audit action"), AuditLog(tmp_path / "a.log").record("drop", actor="x"):
        pass


@pytest.mark.parametrize(("key", "fingerprint"), [("correct horse battery staple", "key:c4bbcb1f"),
                                                 ("test-key-0123456789", key_actor("test-key-0123456789"))])
def test_key_fingerprint_is_short_and_not_the_key(key: str, fingerprint: str):
    assert key_actor(key) == fingerprint
    assert len(fingerprint) == len("key:") + 8 and key not in fingerprint


def test_cli_actor_names_the_account():
    import os
    import pwd

    assert cli_actor() == f"cli:{pwd.getpwuid(os.getuid()).pw_name}"


def test_ingest_outcome_keeps_per_file_status():
    report = {"counts": {"ingested": 1, "failed": 1}, "provisions": 3, "chunks": 4,
              "files": [{"path": "a.md", "status": "ingested", "doc_id": "d1", "reason": None, "seconds": 0.2},
                        {"path": "b.pdf", "status": "failed", "doc_id": None, "reason": "corrupt PDF", "seconds": 0.1}]}
    outcome = ingest_outcome(report)
    assert outcome["status"] == "partial" and outcome["counts"] == report["counts"]
    assert outcome["files"] == [{"path": "a.md", "status": "ingested", "doc_id": "d1", "reason": None},
                                {"path": "b.pdf", "status": "failed", "doc_id": None, "reason": "corrupt PDF"}]
