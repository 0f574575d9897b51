"""A real HTTP server on 127.0.0.1 whose answers a test writes: a proxy, or a database that refuses."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, str, bytes]  # status, content type, body


class StubServer:
    """Answers each POST with ``answer(path, body)``; keeps the statuses it gave, in order."""

    def __init__(self, answer: Callable[[str, bytes], Answer]) -> None:
        self.answers: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                code, kind, body = answer(self.path, self.rfile.read(int(self.headers["Content-Length"])))
                outer.answers.append(code)
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def requests(self) -> int:
        return len(self.answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
