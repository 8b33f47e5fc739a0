"""API key: writes need it (403 when none is configured, 401 when missing or wrong); reads are open
unless api.require_key_for_reads."""

from __future__ import annotations

import pytest
from api_helpers import API_KEY, assert_error, client_for, with_api

WRITES = [
    ("delete", "/documents/" + "a" * 64, {}),
    ("post", "/ingest", {"files": [("files", ("note.md", b"# Note\n\nSome text about child protection.\n", "text/markdown"))]}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
def test_write_without_key_is_401(client, method, path, kwargs):
    err = assert_error(getattr(client, method)(path, **kwargs), 401, "unauthorized", field="X-API-Key")
    assert "X-API-Key" in err["message"]


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
def test_write_with_wrong_key_is_401(client, method, path, kwargs):
    response = getattr(client, method)(path, headers={"X-API-Key": API_KEY + "x"}, **kwargs)
    assert_error(response, 401, "unauthorized", contains="does not match")
    assert response.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
def test_writes_refused_when_no_key_is_configured(runtime, method, path, kwargs):
    with client_for(runtime, with_api(runtime.settings, api_key=None)) as client:
        for headers in ({}, {"X-API-Key": API_KEY}, {"X-API-Key": ""}):
            response = getattr(client, method)(path, headers=headers, **kwargs)
            assert_error(response, 403, "forbidden", contains="no API key is configured")


def test_right_key_passes_auth(client):
    # Reaches the handler: the document does not exist, which is a 404, not an auth error.
    assert_error(client.delete("/documents/" + "a" * 64, headers={"X-API-Key": API_KEY}), 404, "not_found")


READS = ["/search?q=child", "/acts", "/documents", "/stats", "/provisions/pocso/19"]


@pytest.mark.parametrize("path", READS)
def test_reads_are_open_by_default(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", READS)
def test_reads_need_the_key_when_configured(runtime, path):
    with client_for(runtime, with_api(runtime.settings, require_key_for_reads=True)) as client:
        assert_error(client.get(path), 401, "unauthorized")
        assert_error(client.get(path, headers={"X-API-Key": "nope"}), 401, "unauthorized")
        assert client.get(path, headers={"X-API-Key": API_KEY}).status_code == 200
        assert_error(client.post("/ask", json={"question": "child"}), 401, "unauthorized")
        # Health and the page stay open for monitors and the browser.
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 200


def test_key_comparison_handles_non_ascii(client):
    assert_error(client.delete("/documents/x", headers={"X-API-Key": "ключ".encode()}), 401, "unauthorized")
