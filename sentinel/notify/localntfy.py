"""A small local stand-in for an ntfy server, for the demo and the tests.

It speaks the part of ntfy's HTTP API that sentinel uses (JSON publishing to the
root, plain publishing to a topic, polling a topic), records every publish,
checks it against ntfy's documented JSON fields, and can fail or hang on demand.
It is not a push service: nothing reaches a phone.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

FIELDS = {
    "topic": str,
    "message": str,
    "title": str,
    "tags": list,
    "priority": int,
    "actions": list,
    "click": str,
    "attach": str,
    "markdown": bool,
    "icon": str,
    "filename": str,
    "delay": str,
    "email": str,
    "call": str,
}
ACTION_KINDS = {"view", "http", "broadcast", "copy"}


def check_publish(body: Any) -> list[str]:
    """Problems with a JSON publish, by ntfy's documented fields."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    problems = [f"unknown field {k!r}" for k in body if k not in FIELDS]
    problems += [f"{k} must be {t.__name__}" for k, t in FIELDS.items() if k in body and not isinstance(body[k], t)]
    if not body.get("topic"):
        problems.append("topic is required")
    if "priority" in body and body["priority"] not in (1, 2, 3, 4, 5):
        problems.append("priority must be 1-5")
    for action in body.get("actions", []):
        if action.get("action") not in ACTION_KINDS or not action.get("label"):
            problems.append(f"bad action {action!r}")
        if action.get("action") in ("view", "http") and not str(action.get("url", "")).startswith("http"):
            problems.append(f"action without url {action!r}")
    return problems


class LocalNtfy:
    """The server, on a free loopback port; ``published`` holds every accepted JSON publish."""

    def __init__(self, on_publish: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.on_publish = on_publish
        self.published: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.topics: dict[str, list[dict[str, Any]]] = {}
        self.failures: list[int | float] = []  # next publishes' answers: an HTTP status, or -seconds to hang
        self.lock = threading.Lock()
        self._ids = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: str = "") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _failure(self) -> bool:
                with fake.lock:
                    failure = fake.failures.pop(0) if fake.failures else None
                if failure is None:
                    return False
                if failure < 0:
                    time.sleep(-failure)
                    self._answer(200, "{}")
                else:
                    self._answer(int(failure), '{"error": "on demand"}')
                return True

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = urlparse(self.path).path
                if path == "/":
                    if self._failure():  # failures on demand hit JSON publishes only
                        return
                    body = json.loads(raw.decode("utf-8"))
                    problems = check_publish(body)
                    if problems:
                        self._answer(400, json.dumps({"error": problems}))
                        return
                    message = fake.store(body["topic"], body.get("message", ""), body)
                    with fake.lock:
                        fake.published.append(body)
                        fake.headers.append(dict(self.headers))
                    if fake.on_publish:
                        fake.on_publish(body)
                else:  # a plain publish to /<topic>, as the action buttons do
                    message = fake.store(path.strip("/"), raw.decode("utf-8"), {})
                self._answer(200, json.dumps(message))

            def do_GET(self) -> None:
                url = urlparse(self.path)
                topic = url.path.strip("/").removesuffix("/json")
                since = parse_qs(url.query).get("since", ["all"])[0]
                with fake.lock:
                    messages = list(fake.topics.get(topic, []))
                if since != "all":
                    ids = [m["id"] for m in messages]
                    messages = messages[ids.index(since) + 1 :] if since in ids else messages
                self._answer(200, "".join(json.dumps(m) + "\n" for m in messages))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def store(self, topic: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._ids += 1
            message = {
                "id": f"m{self._ids}",
                "time": int(time.time()),
                "event": "message",
                "topic": topic,
                "message": text,
                **{k: v for k, v in body.items() if k not in ("topic", "message")},
            }
            self.topics.setdefault(topic, []).append(message)
            return message

    def to(self, topic: str) -> list[dict[str, Any]]:
        """Accepted JSON publishes to ``topic``."""
        with self.lock:
            return [p for p in self.published if p["topic"] == topic]

    def press(self, notification: dict[str, Any], label: str) -> int:
        """Do what the phone does when the button ``label`` is pressed."""
        action = next(a for a in notification["actions"] if a["label"] == label)
        request = urllib.request.Request(
            action["url"],
            data=action.get("body", "").encode(),
            method=action.get("method", "POST"),
            headers=action.get("headers", {}),
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
