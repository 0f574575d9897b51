"""The ntfy stand-in's HTTP side: publishing (JSON to the root, plain to a topic) and subscribing (stream or poll).

Failures on demand (``LocalNtfy.failures``, JSON publishes only), each as the real thing answers
(github.com/binwiederhier/ntfy at 81a486ad, server/ unless said):

- An HTTP status of 400 or more: that answer, in ntfy's error form (errors.go errHTTP: http, code, error).
- A 3xx: a redirect to https:// and the same path, as a proxy in front of ntfy answers for http://
  (docs/config.md "nginx/Apache2/caddy" ~648: nginx's return 302, Caddy's redir; Caddy's automatic
  HTTPS answers 308); nothing is stored.
- A 2xx: a login portal's or a proxy's own HTML page, without ntfy's message id; nothing is stored.
- A hang (-seconds): a slow server. ntfy stores and pushes the message before it answers
  (server.go handlePublishInternal: t.Publish ~806 and messageCache.AddMessage ~830 come before
  handlePublish's writeJSON ~855), so the message is kept, and the answer comes late.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from sentinel.demo.ntfy_rules import Refused, check_message, check_params, check_topic, message_id, parse_json_publish

if TYPE_CHECKING:
    from sentinel.demo.ntfy import LocalNtfy


def handler(fake: LocalNtfy) -> type[BaseHTTPRequestHandler]:
    """The request handler class for one stand-in: each request is checked by the rules, then answered."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: str = "") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _refuse(self, refused: Refused) -> None:
            with fake.lock:
                fake.refused.append((urlparse(self.path).path, refused.status, refused.code))
            self._answer(refused.status, refused.body())

        def _failure(self) -> int | float | None:
            """The next failure on demand: answered here unless it is a hang (answered after the message is kept)."""
            with fake.lock:
                failure = fake.failures.pop(0) if fake.failures else None
            if failure is None or failure < 0:
                return failure
            status = int(failure)
            if 300 <= status < 400:
                self.send_response(status)
                self.send_header("Location", f"https://{self.headers.get('Host', 'localhost')}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif status < 300:
                page = b"<html><body>Please log in to use this network.</body></html>"
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
            else:
                self._fail(status)
            return failure

        def _fail(self, status: int) -> None:
            """A failure on demand in ntfy's error form (errors.go errHTTP)."""
            self._answer(status, json.dumps({"http": status, "error": "failure on demand"}))

        def _read(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_PUT(self) -> None:
            self.do_POST()

        def do_POST(self) -> None:
            raw = self._read()
            path = urlparse(self.path).path
            hang = 0.0
            try:
                user = fake.user_of(self.headers.get("Authorization"))
                visitor = fake.visitor(self.client_address[0], user)
                if path == "/":
                    failure = self._failure()  # failures on demand hit JSON publishes only
                    if failure is not None and failure >= 0:
                        return
                    hang = -(failure or 0.0)
                    body = parse_json_publish(raw, fake.ignored_fields)
                    topic = str(body.get("topic", ""))
                    text = body.get("message", "").encode()
                else:  # a plain publish to /<topic>, as the action buttons do
                    topic, body, text = path.strip("/"), {}, raw
                check_topic(topic)
                fake.limit_request(visitor)
                fake.authorize(user, topic, "write")
                fake.count_message(visitor)
                check_params(body)
                fake.check_email(visitor, body)
                message = fake.store(topic, check_message(text), body)
                if body.get("email"):
                    with fake.lock:
                        fake.emails.append(
                            {"to": body["email"], "title": body.get("title", ""), "message": message["message"]}
                        )
            except Refused as refused:
                self._refuse(refused)
                return
            if path == "/":
                with fake.lock:
                    fake.published.append(body)
                    fake.headers.append(dict(self.headers))
                if fake.on_publish:
                    fake.on_publish(body)
            if hang:
                time.sleep(hang)  # kept and pushed already; only the answer is late
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up; ntfy has it
                self._answer(200, json.dumps(message))

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            topic = url.path.strip("/").removesuffix("/json")
            try:
                if not url.path.endswith("/json"):
                    raise Refused(404, 40401, "page not found")
                user = fake.user_of(self.headers.get("Authorization"))
                visitor = fake.visitor(self.client_address[0], user)
                check_topic(topic)
                fake.limit_request(visitor)
                fake.authorize(user, topic, "read")
                poll = query.get("poll", ["0"])[0] in ("1", "yes", "true")
                with fake.lock:
                    failure = fake.poll_failures.pop(0) if poll and fake.poll_failures else None
                if failure is not None:  # on demand: something in front of ntfy fails the poll
                    self._fail(failure)
                    return
                old, seen = fake.since(topic, query.get("since", ["all" if poll else "none"])[0])
                with fake.lock:
                    if not poll and visitor.subscriptions >= 30:
                        raise Refused(429, 42903, "limit reached: too many active subscriptions")
                    visitor.subscriptions += 0 if poll else 1
            except Refused as refused:
                self._refuse(refused)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
            self.end_headers()
            if poll:
                self.wfile.write("".join(json.dumps(m) + "\n" for m in old).encode())
                return
            try:
                self._stream(topic, old, seen)
            finally:
                with fake.lock:
                    visitor.subscriptions -= 1

        def _stream(self, topic: str, old: list[dict[str, Any]], seen: int) -> None:
            def send(item: dict[str, Any]) -> None:
                self.wfile.write((json.dumps(item) + "\n").encode())
                self.wfile.flush()

            event = {"id": message_id(), "time": int(time.time()), "topic": topic}
            try:
                send({**event, "event": "open"})
                for message in old:
                    send(message)
                last_sent = time.monotonic()
                generation = fake.generation
                while True:
                    with fake.arrived:
                        fake.arrived.wait(timeout=min(0.2, fake.keepalive_s))
                        if fake.closing or fake.generation != generation:
                            return
                        fresh = fake.topics.get(topic, [])[seen:]
                        seen += len(fresh)
                    for message in fresh:
                        send(message)
                        last_sent = time.monotonic()
                    if time.monotonic() - last_sent >= fake.keepalive_s:
                        send({**event, "id": message_id(), "time": int(time.time()), "event": "keepalive"})
                        last_sent = time.monotonic()
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


class Server(ThreadingHTTPServer):
    """The HTTP server; a client that hangs up before its answer (a killed notifier) is not an error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
