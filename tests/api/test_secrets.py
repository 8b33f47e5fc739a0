"""Secrets stay secret: the API key, the Elasticsearch password and API key (and a password put in
the cluster URL) never appear in a log record, the audit log, a response body or header, the
command's output, or ``repr(settings)``.

Everything here runs for real: uploads, searches, answers, deletes, refused requests, the CLI,
and connection attempts to an Elasticsearch address where nothing listens (so the client's own
error and retry logging runs too)."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest
from api_helpers import client_for
from typer.testing import CliRunner

from api.cli import app
from api.runtime import Runtime
from kb.errors import KBError
from kb.settings import Settings, get_settings
from kb.stores.factory import open_store

API_KEY = "kb-api-key-7f3c9e1a55d2"
ES_PASSWORD = "es-password-5b1d0c77e9"
ES_API_KEY = "es-apikey-Zm9vOmJhcjEyMw"
URL_PASSWORD = "url-password-93ac1f"
GENERATOR_KEY = "generator-key-0d8e4b"
SECRETS = (API_KEY, ES_PASSWORD, ES_API_KEY, URL_PASSWORD, GENERATOR_KEY)
GUIDE = (b"# Child Welfare Committee sittings\n\n## Production of a child\n\nA child in need of care and protection is "
         b"produced before the Committee within twenty-four hours, excluding the journey.\n")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def secret_settings(data_dir: Path, **es) -> Settings:
    return Settings(
        data_dir=data_dir, corpus_dir=data_dir / "no-corpus", store={"busy_timeout_ms": 400},
        api={"api_key": API_KEY, "max_upload_bytes": 200_000, "max_query_chars": 500},
        elasticsearch={"url": f"http://elastic:{URL_PASSWORD}@127.0.0.1:{_closed_port()}", "username": "elastic",
                       "password": ES_PASSWORD, "api_key": ES_API_KEY, "request_timeout_s": 1, **es},
        answers={"generator_api_key": GENERATOR_KEY},
    )


def assert_no_secret(where: str, text: str) -> None:
    found = [s for s in SECRETS if s in text]
    assert not found, f"{where} shows {found}"


def assert_logs_clean(caplog) -> None:
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert_no_secret("captured log text", caplog.text)
    for record in caplog.records:
        assert_no_secret(f"log record {record.name}", record.getMessage() + repr(record.args) + str(record.exc_text))


@pytest.mark.parametrize("show", [repr, str, lambda s: repr(s.elasticsearch), lambda s: f"{s.api!r} {s.answers}"])
def test_settings_never_show_secrets(tmp_path: Path, show):
    settings = secret_settings(tmp_path)
    assert_no_secret("settings", show(settings))
    # The values are still there for the code that needs them.
    assert settings.api.api_key.get_secret_value() == API_KEY
    assert URL_PASSWORD in settings.elasticsearch.url


def test_settings_dump_masks_secret_fields(tmp_path: Path):
    # A dump keeps the URL as given (a store serialised by Haystack is matched back by it), so a
    # password belongs in elasticsearch.password, not in the URL; the secret fields are masked.
    dumped = secret_settings(tmp_path).model_dump_json()
    assert not [s for s in (API_KEY, ES_PASSWORD, ES_API_KEY, GENERATOR_KEY) if s in dumped]


def test_api_session_leaks_no_secret(tmp_path: Path, api_fixtures: Path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = secret_settings(tmp_path / "data")
    rt = Runtime.open(settings)
    bodies: list[str] = []
    try:
        assert not rt.ingestor.ingest([api_fixtures / "pocso-sample.md"]).failed
        key = {"X-API-Key": API_KEY}
        with client_for(rt) as client:
            responses = [
                client.post("/ingest", headers=key, files=[("files", ("cwc.md", GUIDE, "text/markdown")),
                                                          ("files", ("../x.md", GUIDE, "text/markdown")),
                                                          ("files", ("broken.pdf", b"%PDF-1.4 junk", "application/pdf"))]),
                client.get("/search", params={"q": "report an offence against a child"}),
                client.post("/search", json={"query": "NEAR(report child) AND *", "top_k": 3}),
                client.post("/ask", json={"question": "who must report sexual abuse of a child?", "audience": "police"}),
                client.get("/documents"), client.get("/stats"), client.get("/health"), client.get("/acts"),
                client.delete("/documents/" + "f" * 64, headers=key),
                client.get("/audit", headers=key),
                # Refusals and errors: wrong key, a key that shares the real key's prefix, bad input.
                client.delete("/documents/x", headers={"X-API-Key": API_KEY[:-1]}),
                client.get("/audit", headers={"X-API-Key": API_KEY + "0"}),
                client.post("/ingest", headers={"X-API-Key": "wrong"}, files=[("files", ("a.md", GUIDE, "text/markdown"))]),
                client.get("/search", params={"q": "x" * 600}),
                client.post("/search", json={"query": "x", "topk": 1}),
                client.get("/provisions/pocso/999"),
                client.get("/openapi.json"), client.get("/docs"),
            ]
            doc_id = rt.store.list_sources(limit=1)[0].doc_id
            responses.append(client.delete(f"/documents/{doc_id}", headers=key))
        for response in responses:
            bodies.append(f"{response.request.method} {response.request.url} -> {response.status_code}")
            assert response.status_code < 500, response.text
            assert_no_secret(f"{response.request.method} {response.request.url.path} body", response.text)
            assert_no_secret(f"{response.request.url.path} headers", json.dumps(dict(response.headers)))
    finally:
        rt.close()
    statuses = {b.rsplit(" ", 1)[-1] for b in bodies}
    assert {"200", "401", "404", "422"} <= statuses, bodies  # the error paths were really taken
    assert_no_secret("audit log", (tmp_path / "data" / "audit.log").read_text("ascii"))
    assert_logs_clean(caplog)


@pytest.mark.parametrize("auth", [
    {"api_key": None},  # basic auth: user name and password
    {"username": None, "password": None, "url": f"http://127.0.0.1:{_closed_port()}"},  # API key only
], ids=["password", "api-key"])
def test_unreachable_cluster_errors_and_logs_leak_no_secret(tmp_path: Path, caplog, auth):
    caplog.set_level(logging.DEBUG)
    settings = secret_settings(tmp_path, **auth)
    settings = settings.model_copy(update={"store": settings.store.model_copy(update={"backend": "elasticsearch"})})
    with pytest.raises(KBError) as caught:
        open_store(settings)
    assert "127.0.0.1" in caught.value.message  # the message names the cluster...
    assert_no_secret("store error", str(caught.value) + repr(caught.value.context))  # ...never its credentials
    assert_logs_clean(caplog)


def test_cli_output_leaks_no_secret(tmp_path: Path, api_fixtures: Path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    port = _closed_port()
    for name, value in {"KB_DATA_DIR": str(tmp_path / "data"), "KB_API__API_KEY": API_KEY,
                        "KB_ELASTICSEARCH__URL": f"http://elastic:{URL_PASSWORD}@127.0.0.1:{port}",
                        "KB_ELASTICSEARCH__USERNAME": "elastic", "KB_ELASTICSEARCH__PASSWORD": ES_PASSWORD,
                        "KB_ELASTICSEARCH__REQUEST_TIMEOUT_S": "1", "KB_ANSWERS__GENERATOR_API_KEY": GENERATOR_KEY}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        outputs = [runner.invoke(app, ["ingest", str(api_fixtures / "pocso-sample.md"), "--json"]),
                   runner.invoke(app, ["search", "report an offence", "--json"]),
                   runner.invoke(app, ["migrate", "--to", "elasticsearch"]),
                   runner.invoke(app, ["delete", "f" * 64])]
    finally:
        get_settings.cache_clear()
    assert [o.exit_code for o in outputs] == [0, 0, 2, 2], [o.output for o in outputs]
    for result in outputs:
        assert_no_secret("kb output", result.output + repr(result.exception))
    assert_no_secret("audit log", (tmp_path / "data" / "audit.log").read_text("ascii"))
    assert_logs_clean(caplog)
