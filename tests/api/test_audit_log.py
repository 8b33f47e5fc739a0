"""The audit log end to end: every write through the HTTP API or the ``kb`` command leaves exactly
one event in ``<data_dir>/audit.log`` with the right fields; the API key never reaches the log file
or the application logs; ``GET /audit`` is for key holders only."""

from __future__ import annotations

import json
import logging
import os
import pwd
import socket
import uuid
from pathlib import Path

import pytest
from api_helpers import API_KEY, api_settings, assert_error, client_for, with_api
from typer.testing import CliRunner

from api.cli import app
from api.runtime import Runtime
from kb.audit import key_actor
from kb.settings import get_settings

KEY = {"X-API-Key": API_KEY}
FINGERPRINT = key_actor(API_KEY)
USER = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
GUIDE = (b"---\ntitle: \"Shelter home visit checklist\"\ndoc_type: guideline\n---\n\n# Shelter home visit checklist\n\n"
         b"## Before the visit\n\nThe inspecting officer reads the last inspection report and the list of children "
         b"placed in the home, and informs the Child Welfare Committee of the date.\n")


def events(data_dir: Path) -> list[dict]:
    path = data_dir / "audit.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("ascii").splitlines()]


def _raw_upload(*items: tuple[str, bytes]) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = b""
    for name, content in items:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                 "Content-Type: text/markdown\r\n\r\n").encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), {**KEY, "Content-Type": f"multipart/form-data; boundary={boundary}"}


# --------------------------------------------------------------------------- HTTP writes
def test_api_ingest_is_one_event_with_per_file_outcome(writable, caplog):
    rt, client = writable
    caplog.set_level(logging.DEBUG)
    assert events(rt.settings.data_dir) == []  # the fixture store was filled without the API
    body, headers = _raw_upload(("visits/checklist.md", GUIDE), ("../escape.md", GUIDE))
    response = client.post("/ingest", headers=headers, content=body)
    assert response.status_code == 200, response.text
    [event] = events(rt.settings.data_dir)
    assert event["action"] == "ingest" and event["actor"] == FINGERPRINT and event["client"] == "testclient"
    assert event["targets"] == ["visits/checklist.md", "../escape.md"]
    outcome = event["outcome"]
    assert outcome["status"] == "partial" and outcome["counts"]["ingested"] == 1 and outcome["counts"]["failed"] == 1
    by_path = {f["path"]: f for f in outcome["files"]}
    assert by_path["visits/checklist.md"]["status"] == "ingested"
    assert by_path["visits/checklist.md"]["doc_id"] == response.json()["files"][0]["doc_id"]
    assert by_path["../escape.md"]["status"] == "failed" and "'..' is not allowed" in by_path["../escape.md"]["reason"]
    _assert_key_absent(rt.settings.data_dir, caplog)


def test_api_delete_is_one_event_also_when_it_fails(writable, caplog):
    rt, client = writable
    caplog.set_level(logging.DEBUG)
    doc_id = rt.store.list_sources(limit=1)[0].doc_id
    assert client.delete(f"/documents/{doc_id}", headers=KEY).status_code == 200
    [event] = events(rt.settings.data_dir)
    assert (event["action"], event["actor"], event["targets"]) == ("delete", FINGERPRINT, [doc_id])
    assert event["outcome"]["status"] == "deleted" and event["outcome"]["title"]

    assert_error(client.delete(f"/documents/{doc_id}", headers=KEY), 404, "not_found")
    first, second = events(rt.settings.data_dir)
    assert first == event
    assert second["outcome"]["status"] == "error" and second["outcome"]["error"]["code"] == "not_found"
    _assert_key_absent(rt.settings.data_dir, caplog)


def test_busy_store_is_recorded_as_an_error(writable):
    rt, client = writable
    with rt.store.writer_lock(timeout_s=1):
        assert_error(client.post("/ingest", headers=KEY, files=[("files", ("a.md", GUIDE, "text/markdown"))]),
                     503, "store_busy")
    [event] = events(rt.settings.data_dir)
    assert event["action"] == "ingest" and event["outcome"]["error"]["code"] == "store_busy"


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}])
def test_refused_requests_leave_no_event(writable, headers):
    # Only writes that passed the key check are recorded: an anonymous client cannot fill the disk.
    rt, client = writable
    assert client.delete("/documents/" + "a" * 64, headers=headers).status_code == 401
    assert client.post("/ingest", headers=headers, files=[("files", ("a.md", GUIDE, "text/markdown"))]).status_code == 401
    assert events(rt.settings.data_dir) == []


def test_reads_are_not_recorded(writable):
    rt, client = writable
    for path in ("/search?q=report", "/documents", "/acts", "/stats", "/health"):
        assert client.get(path).status_code == 200
    assert client.post("/ask", json={"question": "who must report abuse?"}).status_code == 200
    assert events(rt.settings.data_dir) == []


def _assert_key_absent(data_dir: Path, caplog) -> None:
    assert API_KEY.encode() not in (data_dir / "audit.log").read_bytes()
    assert API_KEY not in caplog.text
    for record in caplog.records:
        assert API_KEY not in record.getMessage() and API_KEY not in repr(record.args)


# --------------------------------------------------------------------------- GET /audit
def test_get_audit_needs_the_key(writable):
    rt, client = writable
    assert_error(client.get("/audit"), 401, "unauthorized", field="X-API-Key")
    assert_error(client.get("/audit", headers={"X-API-Key": "nope"}), 401, "unauthorized", contains="does not match")
    with client_for(rt, with_api(rt.settings, api_key=None)) as no_key:
        assert_error(no_key.get("/audit", headers=KEY), 403, "forbidden", contains="no API key is configured")
    # Reads being open does not open the audit log.
    with client_for(rt, with_api(rt.settings, require_key_for_reads=False)) as open_reads:
        assert_error(open_reads.get("/audit"), 401, "unauthorized")


def test_get_audit_is_newest_first_and_pages(writable):
    rt, client = writable
    for i in range(3):
        client.post("/ingest", headers=KEY, files=[("files", (f"note-{i}.md", GUIDE + bytes([65 + i]), "text/markdown"))])
    client.delete("/documents/" + "f" * 64, headers=KEY)
    page = client.get("/audit", headers=KEY, params={"limit": 2}).json()
    assert page["total"] == 4 and page["offset"] == 0 and page["limit"] == 2 and page["next_offset"] == 2
    assert [e["action"] for e in page["events"]] == ["delete", "ingest"]
    assert page["events"][1]["targets"] == ["note-2.md"]
    assert set(page["events"][0]) == {"time", "actor", "action", "targets", "outcome", "client"}
    last = client.get("/audit", headers=KEY, params={"limit": 2, "offset": 2}).json()
    assert [e["targets"] for e in last["events"]] == [["note-1.md"], ["note-0.md"]] and last["next_offset"] is None
    assert API_KEY not in json.dumps(page) + json.dumps(last)
    assert_error(client.get("/audit", headers=KEY, params={"limit": 0}), 422, "invalid_request", field="limit")


def test_get_audit_on_an_empty_log(writable):
    _rt, client = writable
    assert client.get("/audit", headers=KEY).json() == {"total": 0, "offset": 0, "limit": 50, "next_offset": None,
                                                        "events": []}


# --------------------------------------------------------------------------- the kb command
@pytest.fixture()
def cli_store(tmp_path: Path, api_fixtures: Path, monkeypatch) -> Path:
    """KB_DATA_DIR pointing at an empty store; settings re-read from the environment."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KB_ELASTICSEARCH_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("KB_ELASTICSEARCH__REQUEST_TIMEOUT_S", "1")
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on return: connections are refused


def _kb(*args: str):
    return CliRunner().invoke(app, list(args))


def test_cli_writes_are_one_event_each(cli_store: Path, api_fixtures: Path, caplog):
    caplog.set_level(logging.DEBUG)
    pocso = api_fixtures / "pocso-sample.md"
    result = _kb("ingest", str(pocso), "--json")
    assert result.exit_code == 0, result.output
    [ingest] = events(cli_store)
    assert (ingest["action"], ingest["actor"], ingest["client"]) == ("ingest", USER, None)
    assert ingest["targets"] == [str(pocso)]
    assert ingest["outcome"]["status"] == "ok" and ingest["outcome"]["counts"]["ingested"] == 1
    [file_outcome] = ingest["outcome"]["files"]
    assert file_outcome["path"] == str(pocso.resolve()) and file_outcome["status"] == "ingested"
    doc_id = file_outcome["doc_id"]

    assert _kb("ingest", "--rebuild").exit_code == 0
    rebuild = events(cli_store)[-1]
    assert rebuild["action"] == "rebuild" and rebuild["outcome"]["counts"]["replaced"] == 1
    assert rebuild["outcome"]["files"][0]["doc_id"] == doc_id

    assert _kb("delete", doc_id[:10]).exit_code == 0
    delete = events(cli_store)[-1]
    assert delete["action"] == "delete" and delete["targets"] == [doc_id]  # the prefix resolved
    assert delete["outcome"]["status"] == "deleted"

    missing = _kb("delete", "f" * 64)
    assert missing.exit_code == 2
    assert events(cli_store)[-1]["outcome"]["error"]["code"] == "not_found"

    # No cluster answers here: the migration fails, and the attempt is recorded with its reason.
    migrate = _kb("migrate", "--to", "elasticsearch")
    assert migrate.exit_code == 2, migrate.output
    last = events(cli_store)[-1]
    assert last["action"] == "migrate" and last["targets"] == ["to elasticsearch"]
    assert last["outcome"]["status"] == "error" and last["outcome"]["error"]["code"] == "store_error"

    assert [e["action"] for e in events(cli_store)] == ["ingest", "rebuild", "delete", "delete", "migrate"]
    assert {e["actor"] for e in events(cli_store)} == {USER}


def test_cli_ingest_failure_is_recorded(cli_store: Path, tmp_path: Path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 20)
    result = _kb("ingest", str(broken))
    assert result.exit_code == 1
    [event] = events(cli_store)
    assert event["outcome"]["status"] == "failed"
    assert event["outcome"]["files"][0]["status"] == "failed" and "corrupt PDF" in event["outcome"]["files"][0]["reason"]


def test_api_and_cli_share_one_log(cli_store: Path, api_fixtures: Path):
    assert _kb("ingest", str(api_fixtures / "jj-sample.md")).exit_code == 0
    rt = Runtime.open(api_settings(cli_store))
    try:
        with client_for(rt) as client:
            client.post("/ingest", headers=KEY, files=[("files", ("visit.md", GUIDE, "text/markdown"))])
            page = client.get("/audit", headers=KEY).json()
    finally:
        rt.close()
    assert [(e["action"], e["actor"]) for e in page["events"]] == [("ingest", FINGERPRINT), ("ingest", USER)]
