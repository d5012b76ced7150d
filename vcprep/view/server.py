"""The viewer's HTTP server: the standard library's ThreadingHTTPServer around `ViewApp`, GET only."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vcprep.view.api import Response, ViewApp

_SECURITY_HEADERS = {
    # everything comes from this server: no CDN, no inline code from elsewhere
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _handler(app: ViewApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "vcprep-view"

        def _send(self, response: Response, with_body: bool = True) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for key, value in _SECURITY_HEADERS.items():
                self.send_header(key, value)
            self.end_headers()
            if with_body:
                self.wfile.write(response.body)

        def _answer(self, with_body: bool) -> None:
            parts = urlsplit(self.path)
            try:
                response = app.handle(parts.path, dict(parse_qsl(parts.query)))
            except Exception as exc:  # a page, never a stack trace; the server keeps running
                body = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()
                response = Response(500, "application/json", body)
            self._send(response, with_body)

        def do_GET(self) -> None:
            self._answer(True)

        def do_HEAD(self) -> None:
            self._answer(False)

        def _read_only(self) -> None:
            body = json.dumps({"error": "vcprep view is read-only: only GET"}).encode()
            self._send(Response(405, "application/json", body))

        do_POST = do_PUT = do_DELETE = do_PATCH = _read_only

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the address only
            return

    return Handler


def make_server(app: ViewApp, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A bound server (port 0 picks a free one); call `serve_forever()` on it."""
    server = ThreadingHTTPServer((host, port), _handler(app))
    server.daemon_threads = True
    return server
