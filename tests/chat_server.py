"""A real HTTP server on 127.0.0.1 speaking OpenAI's chat-completions protocol from a recorded reply.

No language model runs in the tests: the server answers ``POST /v1/chat/completions`` with a
team-written response file and keeps every request it received (path, headers, JSON body), so a
test can check the prompt the product sent. ``mode`` switches it to a server error or to a reply
that comes too late.

    >>> server = ChatServer.start(Path("tests/fixtures/generator/chat_completion_reporting.json"))  # doctest: +SKIP
    >>> server.url                                                                             # doctest: +SKIP
    'http://127.0.0.1:40123/v1'
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

Mode = Literal["ok", "error", "slow"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    def content(self, role: str) -> str:
        """The text of the first message with ``role`` (plain string or OpenAI content parts)."""
        for message in self.messages:
            if message.get("role") == role:
                content = message.get("content")
                if isinstance(content, list):
                    return "".join(part.get("text", "") for part in content if isinstance(part, dict))
                return content or ""
        raise AssertionError(f"no {role!r} message in {self.messages!r}")


@dataclass
class ChatServer:
    reply: bytes
    mode: Mode = "ok"
    slow_seconds: float = 5.0
    requests: list[Received] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, reply_file: Path) -> ChatServer:
        server = cls(reply=reply_file.read_bytes())
        json.loads(server.reply)  # a broken fixture fails here, not as a puzzling client error
        server._httpd = ThreadingHTTPServer(("127.0.0.1", 0), server._handler())
        server._httpd.daemon_threads = True
        threading.Thread(target=server._httpd.serve_forever, daemon=True).start()
        return server

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def reset(self, mode: Mode = "ok") -> None:
        self.requests.clear()
        self.mode = mode

    def stop(self) -> None:
        self._release.set()  # a slow reply still waiting ends now
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                elif server.mode == "error":
                    self._send(500, {"error": {"message": "the model process stopped", "type": "server_error"}})
                elif server.mode == "slow":
                    server._release.wait(server.slow_seconds)
                    try:
                        self._send(200, server.reply)
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client gave up waiting, as it should
                else:
                    self._send(200, server.reply)

            def _send(self, status: int, payload: bytes | dict[str, Any]) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
