"""The HTTP service: JSON API, the search page at ``/`` and an offline API reference at ``/docs``.

    >>> app = create_app(get_settings())            # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP

The lifespan opens the store and loads the model once; routes only call ``kb``. A runtime
passed in (tests, ``kb serve`` after indexing the starter corpus) is used as it is and left open
for its owner to close.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.docs_page import render_docs
from api.errors import PayloadTooLarge, error_body, install_error_handlers
from api.routes import ask, audit, documents, health, ingest, provisions, search
from api.runtime import Runtime
from kb.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Multipart framing (boundaries, part headers) on top of the files' own bytes.
MULTIPART_SLACK = 64 * 1024

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}

DESCRIPTION = (
    "Search Indian child-protection law (POCSO, IT Act, JJ Act, RTE, Child Labour, BNS/BNSS/BSA, ...) and get "
    "answers quoted from the law itself, each cited to its exact provision. Reads are open unless "
    "api.require_key_for_reads is set; writes (POST /ingest, DELETE /documents/{id}) and the audit log "
    "(GET /audit) need the X-API-Key header. "
    'Errors share one body: {"error": {"code", "message", "field"}}.'
)


class SecurityHeadersMiddleware:
    """Adds the CSP and friends to every HTTP response (API, page, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """413 for bodies over the limit: refused up front from Content-Length, and counted while read
    (a client may send no length, or a false one)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                await _send_error(send, 400, "bad_request", f"Content-Length is not a number: {declared!r}")
                return
            if length > limit:
                await _send_error(send, 413, "payload_too_large",
                                  f"request body is {length} bytes; the limit is {limit} bytes")
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit, received)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except PayloadTooLarge as err:
            # Raised outside the routes' exception handlers (e.g. while a middleware read the body).
            if started:
                raise
            await _send_error(send, 413, err.code, err.message)


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def body_limits(settings: Settings) -> Callable[[str], int]:
    upload_limit = settings.api.max_upload_bytes + MULTIPART_SLACK
    # A JSON query body: the longest accepted query, fully \\u-escaped, plus filters.
    json_limit = max(64 * 1024, settings.api.max_query_chars * 12 + 8 * 1024)

    def limit_for(path: str) -> int:
        return upload_limit if path.rstrip("/") == "/ingest" else json_limit

    return limit_for


def _lifespan(settings: Settings, runtime: Runtime | None):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or Runtime.open(settings)
        try:
            if owned:  # a runtime passed in keeps its owner's thread setting (see `kb serve`)
                rt.limit_threads(settings.api.request_threads)
            rt.encoder.warm_up()
            # Searches run in the thread pool of sync routes: its size is how many run at once.
            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api.concurrent_requests
            # Build the pipelines once, before the first request.
            _ = rt.searcher, rt.answerer, rt.ingestor
            app.state.runtime = rt
            log.info("store open (%s), model loaded, index %s", settings.store.backend, settings.index_identity())
            yield
        finally:
            app.state.runtime = None
            if owned:
                rt.close()

    return lifespan


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The FastAPI application. ``settings`` default to the runtime's, then to :func:`get_settings`."""
    settings = settings or (runtime.settings if runtime else get_settings())
    app = FastAPI(
        title="Child Protection Law Knowledge Base",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan(settings, runtime),
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "search", "description": "Provisions ranked for a query."},
            {"name": "ask", "description": "Answers quoted from the law, with citations."},
            {"name": "provisions", "description": "Provisions in full, and the stored Acts."},
            {"name": "documents", "description": "Stored source documents."},
            {"name": "ingest", "description": "Adding documents (needs the API key)."},
            {"name": "health", "description": "Service health and store statistics."},
            {"name": "audit", "description": "The log of every write (needs the API key)."},
        ],
    )
    app.state.settings = settings
    app.state.runtime = None
    install_error_handlers(app)
    for module in (search, ask, provisions, documents, ingest, health, audit):
        app.include_router(module.router)
    _pages(app)
    # Added last = outermost: security headers wrap everything, including 413s and CORS replies.
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limits(settings))
    if settings.api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.api.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Content-Type", "X-API-Key"],
                           max_age=600)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    docs_cache: dict[str, Any] = {}

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        if "html" not in docs_cache:
            docs_cache["html"] = render_docs(app.openapi())
        return HTMLResponse(docs_cache["html"])
