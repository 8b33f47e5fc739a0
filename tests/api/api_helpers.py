"""Helpers shared by the HTTP tests: settings for a test store, clients, the error-body check."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import Runtime
from kb.settings import Settings

API_KEY = "test-key-0123456789"
FIXTURE_FILES = ("pocso-sample.md", "it-sample.md", "jj-sample.md", "police-guide.md")


def api_settings(data_dir: Path, **api: Any) -> Settings:
    base = {"api_key": API_KEY, "max_upload_bytes": 200_000, "max_query_chars": 500}
    return Settings(data_dir=data_dir, corpus_dir=data_dir / "no-corpus", store={"busy_timeout_ms": 400},
                    api={**base, **api})


def with_api(settings: Settings, **api: Any) -> Settings:
    """The same settings with some API fields changed (auth, limits, CORS)."""
    return settings.model_copy(update={"api": settings.api.model_copy(update=api)})


@contextmanager
def client_for(runtime: Runtime, settings: Settings | None = None) -> Iterator[TestClient]:
    app = create_app(settings or runtime.settings, runtime=runtime)
    with TestClient(app) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    """The app under a real uvicorn server on a loopback port, over ``runtime``; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime.settings, runtime=runtime), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def assert_error(response, status: int, code: str, field: str | None = None, contains: str | None = None) -> dict:
    """The shared error body: {"error": {"code", "message", "field"}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body
    if field is not None:
        assert body["error"]["field"] == field, body
    if contains is not None:
        assert contains in body["error"]["message"], body
    return body["error"]
