"""POST /ingest: multipart upload, the per-file report with original names, safe file names,
size limits and write-lock contention."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from api_helpers import API_KEY, assert_error

KEY = {"X-API-Key": API_KEY}
GUIDE = (b"---\ntitle: \"NGO note on child marriage\"\ndoc_type: guideline\naudiences: [ngo]\n---\n\n"
         b"# NGO note on child marriage\n\n## Who can stop a child marriage\n\n"
         b"A child marriage can be stopped by an injunction from a magistrate; the note explains how a worker asks "
         b"the Child Marriage Prohibition Officer for help.\n")


def _files(*items: tuple[str, bytes]) -> list:
    return [("files", (name, content, "text/markdown")) for name, content in items]


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_upload_indexes_and_reports_original_names(writable):
    rt, client = writable
    response = client.post("/ingest", headers=KEY, files=_files(("notes/2024/ngo-note.md", GUIDE)),
                           data={"doc_type": "guideline", "audience": ["ngo"]})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["counts"]["ingested"] == 1 and report["counts"]["failed"] == 0
    [entry] = report["files"]
    assert entry["path"] == "notes/2024/ngo-note.md"
    assert entry["status"] == "ingested" and entry["title"] == "NGO note on child marriage"
    assert entry["provisions"] >= 1 and entry["chunks"] >= 1 and report["chunks"] == entry["chunks"]
    # Searchable at once, with the uploaded document as the source.
    hits = client.get("/search", params={"q": "injunction to stop a child marriage"}).json()["hits"]
    assert hits and hits[0]["doc_type"] == "guideline"
    record = client.get(f"/documents/{entry['doc_id']}").json()
    assert record["audiences"] == ["ngo"]
    # The temporary copies are gone; the store keeps the text.
    uploads = rt.settings.data_dir / "uploads"
    assert _all_files(uploads) == set()


def test_same_content_again_is_a_duplicate(writable):
    _rt, client = writable
    first = client.post("/ingest", headers=KEY, files=_files(("a.md", GUIDE))).json()
    again = client.post("/ingest", headers=KEY, files=_files(("b.md", GUIDE))).json()
    assert first["counts"]["ingested"] == 1
    assert again["counts"]["duplicate"] == 1 and again["files"][0]["doc_id"] == first["files"][0]["doc_id"]
    assert again["files"][0]["path"] == "b.md"


def _raw_multipart(*items: tuple[str, bytes]) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, so file names reach the server byte for byte (an HTTP
    client would percent-encode control characters)."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, content in items:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                 "Content-Type: text/markdown\r\n\r\n").encode("utf-8") + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {**KEY, "Content-Type": f"multipart/form-data; boundary={boundary}"}


UNSAFE = [
    ("../escape.md", "'..' is not allowed"),
    ("..\\..\\escape.md", "'..' is not allowed"),
    ("notes/../../escape.md", "'..' is not allowed"),
    ("notes/ .. /escape.md", "'..' is not allowed"),
    ("/etc/escape.md", "absolute paths"),
    ("\\\\server\\share\\escape.md", "absolute paths"),
    ("escape\x01.md", "control characters"),
    ("esc\nape.md", "control characters"),
    ("ok\x00escape.md", "control characters"),
    (".escape.md", "hidden files"),
    ("escape/", "names a folder"),
]


@pytest.mark.parametrize(("name", "reason"), UNSAFE)
def test_unsafe_file_names_are_refused_and_nothing_is_written_outside(writable, name, reason):
    rt, client = writable
    outside = rt.settings.data_dir.parent
    before = _all_files(outside)
    body, headers = _raw_multipart((name, GUIDE), ("fine.md", GUIDE))
    response = client.post("/ingest", headers=headers, content=body)
    assert response.status_code == 200, response.text
    files = response.json()["files"]
    refused = [f for f in files if f["path"] != "fine.md"]
    assert len(refused) == 1 and refused[0]["status"] == "failed", files
    assert reason in refused[0]["reason"], refused
    assert [f["status"] for f in files if f["path"] == "fine.md"] == ["ingested"]
    after = _all_files(outside)
    assert after - before <= {p for p in after if p.startswith("data/")}, "files written outside the data directory"
    assert not any("escape" in p for p in after)


def test_windows_drive_path_is_reduced_to_its_base_name(writable):
    # The multipart parser already strips "C:\\...\\" (old browsers sent full paths); what is left is safe.
    rt, client = writable
    body, headers = _raw_multipart(("C:\\Users\\x\\win-note.md", GUIDE))
    [entry] = client.post("/ingest", headers=headers, content=body).json()["files"]
    assert entry["path"] == "win-note.md" and entry["status"] == "ingested"
    assert not any("win-note" in p for p in _all_files(rt.settings.data_dir.parent))


def test_directories_in_names_are_stripped(writable):
    _rt, client = writable
    body, headers = _raw_multipart(("a/b/c/deep.md", GUIDE))
    [entry] = client.post("/ingest", headers=headers, content=body).json()["files"]
    assert entry["path"] == "a/b/c/deep.md" and entry["status"] == "ingested"


def test_file_that_cannot_be_parsed_fails_alone(writable):
    _rt, client = writable
    response = client.post("/ingest", headers=KEY, files=_files(("empty.md", b"   \n"), ("good.md", GUIDE)))
    files = {f["path"]: f for f in response.json()["files"]}
    assert files["empty.md"]["status"] == "failed" and files["empty.md"]["reason"]
    assert files["good.md"]["status"] == "ingested"


def test_no_files_is_422(writable):
    _rt, client = writable
    assert_error(client.post("/ingest", headers=KEY, data={"doc_type": "sop"}), 422, "invalid_request", field="files")


def test_bad_form_fields_are_422(writable):
    _rt, client = writable
    assert_error(client.post("/ingest", headers=KEY, files=_files(("a.md", GUIDE)), data={"doc_type": "novel"}),
                 422, "invalid_request", field="doc_type")
    assert_error(client.post("/ingest", headers=KEY, files=_files(("a.md", GUIDE)), data={"audience": "judge"}),
                 422, "invalid_request", field="audience.0")


def test_oversize_upload_is_413_from_content_length(writable):
    rt, client = writable
    limit = rt.settings.api.max_upload_bytes
    big = b"x" * (limit + 200_000)
    err = assert_error(client.post("/ingest", headers=KEY, files=_files(("big.md", big))), 413, "payload_too_large")
    assert "limit" in err["message"]


def test_oversize_upload_is_413_while_reading_without_content_length(writable):
    rt, client = writable
    limit = rt.settings.api.max_upload_bytes
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.md\"\r\n"
            f"Content-Type: text/markdown\r\n\r\n").encode()

    def chunks():  # a generator body is sent chunked, with no Content-Length to check up front
        yield head
        for _ in range(limit // 65536 + 4):
            yield b"y" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post("/ingest", headers={**KEY, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                           content=chunks())
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "payload_too_large")
    assert _all_files(rt.settings.data_dir / "uploads") == set()


def test_files_under_the_body_limit_but_over_the_upload_limit_are_413(writable):
    rt, client = writable
    limit = rt.settings.api.max_upload_bytes
    # Together the files exceed max_upload_bytes, but the body is within the multipart slack.
    half = b"z" * (limit // 2 + 10_000)
    response = client.post("/ingest", headers=KEY, files=_files(("one.md", half), ("two.md", half)))
    assert_error(response, 413, "payload_too_large", contains=str(limit))


def test_busy_store_is_503_with_retry_after(writable):
    rt, client = writable
    with rt.store.writer_lock(timeout_s=1):  # another writer (this thread) holds the store
        response = client.post("/ingest", headers=KEY, files=_files(("a.md", GUIDE)))
    assert_error(response, 503, "store_busy")
    assert response.headers["retry-after"] == "5"


def test_oversize_json_body_is_413(client):
    response = client.post("/search", content=b'{"query": "' + b"a" * 300_000 + b'"}',
                           headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
