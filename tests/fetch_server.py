"""A real HTTP server on 127.0.0.1 for the fetch tests: good and broken answers of every kind.

Routes are plain functions of the request handler, so a test can swap a route's content between
two runs (a source that changed upstream). Every request is logged with its headers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Served:
    """What one route answers with: a body, its content type and optional validators."""

    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    send_length: bool = True

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        if self.etag and handler.headers.get("If-None-Match") == self.etag:
            handler.send_response(304)
            handler.send_header("ETag", self.etag)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        if self.send_length:
            handler.send_header("Content-Length", str(len(self.body)))
        if self.etag:
            handler.send_header("ETag", self.etag)
        if self.last_modified:
            handler.send_header("Last-Modified", self.last_modified)
        handler.end_headers()
        handler.wfile.write(self.body)


def redirect(location: str, code: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def truncated(body: bytes, declared: int, content_type: str = "application/pdf") -> Route:
    """Promise ``declared`` bytes, send ``body`` (fewer), close the connection."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True

    return route


def not_found(handler: BaseHTTPRequestHandler) -> None:
    handler.send_error(404, "Not Found")


@dataclass
class LocalServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


def start(server_state: LocalServer) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            server_state.requests.append((self.path, dict(self.headers)))
            server_state.routes.get(self.path, not_found)(self)

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fetch-test-server",
                              daemon=True)
    thread.start()
    return httpd, thread


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)
