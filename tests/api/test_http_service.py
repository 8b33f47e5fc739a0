"""Service-wide behaviour: error bodies and the error mapping, security headers, CORS, health and stats."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, client_for, with_api

from api.errors import STATUS_BY_ERROR, status_for
from kb import errors as kb_errors

# The one mapping from domain errors to HTTP, as a table.
EXPECTED_STATUS = [
    (kb_errors.QueryError, 422),
    (kb_errors.CitationError, 422),
    (kb_errors.IngestError, 422),
    (kb_errors.NotFoundError, 404),
    (kb_errors.StaleIndexError, 409),
    (kb_errors.StoreBusyError, 503),
    (kb_errors.StoreError, 503),
    (kb_errors.FetchError, 502),
    (kb_errors.GeneratorError, 502),
    (kb_errors.ConfigError, 500),
    (kb_errors.KBError, 400),
]


@pytest.mark.parametrize(("cls", "status"), EXPECTED_STATUS)
def test_error_status_table(cls, status):
    err = cls("bad", path="x") if cls is kb_errors.IngestError else cls("bad")
    assert status_for(err) == status


def test_every_kb_error_class_is_mapped():
    classes = {c for c in vars(kb_errors).values() if isinstance(c, type) and issubclass(c, kb_errors.KBError)}
    assert classes <= set(STATUS_BY_ERROR) | {c for c, _ in EXPECTED_STATUS}
    assert classes == {c for c, _ in EXPECTED_STATUS}


def test_unknown_route_and_method(client):
    assert_error(client.get("/no/such/thing"), 404, "not_found", contains="/no/such/thing")
    assert_error(client.put("/search"), 405, "method_not_allowed")


def test_malformed_json_is_422(client):
    response = client.post("/search", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 422, "invalid_request")


def test_stale_index_is_reported_and_ingest_refused(runtime):
    changed = runtime.settings.model_copy(
        update={"chunking": runtime.settings.chunking.model_copy(update={"max_chars": 777})})
    assert changed.index_identity() != runtime.settings.index_identity()
    with client_for(runtime, changed) as client:
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["index"]["stale"] is True
        assert health["index"]["stored"] == runtime.settings.index_identity()
        assert health["index"]["identity"] == changed.index_identity()


SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize("path", ["/", "/search?q=child", "/static/app.js", "/docs", "/no/such/page", "/search"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    for name, value in SECURITY.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_security_headers_on_413(client):
    response = client.post("/search", content=b"x" * 400_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


def test_cors_disabled_by_default(client):
    response = client.get("/acts", headers={"Origin": "https://example.org"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_configured_origins_only(runtime):
    settings = with_api(runtime.settings, cors_origins=["https://ngo.example.org"])
    with client_for(runtime, settings) as client:
        ok = client.options("/search", headers={"Origin": "https://ngo.example.org", "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type,x-api-key"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://ngo.example.org"
        assert "x-api-key" in ok.headers["access-control-allow-headers"].lower()
        other = client.get("/acts", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_health(client, runtime):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["store"] == {"reachable": True, "backend": "sqlite", "error": None}
    assert body["model"] == {"loaded": True, "name": runtime.settings.embedding.model}
    assert body["documents"] == 4 and body["chunks"] == runtime.store.count_documents() > 0
    assert body["index"] == {"identity": runtime.settings.index_identity(), "stored": runtime.settings.index_identity(),
                             "stale": False}


def test_stats_add_up(client):
    stats = client.get("/stats").json()
    acts = client.get("/acts").json()["acts"]
    assert stats["sources"] == 4
    assert stats["sections"] == sum(a["sections"] for a in acts) == 15
    assert stats["chunks"] == sum(a["chunks"] for a in acts)
    assert stats["by_doc_type"]["act"] == {"sources": 3, "sections": 11,
                                          "chunks": sum(a["chunks"] for a in acts if a["doc_type"] == "act")}
    assert stats["by_doc_type"]["sop"]["sources"] == 1


def test_request_threads_limit_torch_and_blas_to_one_thread_a_request(runtime):
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    assert runtime.settings.api.request_threads == 1
    torch_before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the BLAS threads on exit
        try:
            runtime.limit_threads(runtime.settings.api.request_threads)
            assert torch.get_num_threads() == 1
            blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
            assert blas and set(blas) == {1}
        finally:
            torch.set_num_threads(torch_before)
