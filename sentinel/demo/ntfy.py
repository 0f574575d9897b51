"""A local stand-in for an ntfy server, for the demo and the tests.

It speaks the part of ntfy's HTTP API that sentinel uses (JSON publishing to the
root, plain publishing to a topic as the phone's buttons do, and subscribing to
a topic as a stream or a poll), and it enforces the real server's rules and
limits (``ntfy_rules.py``, each cited to the ntfy source; the HTTP side is in
``ntfy_http.py``), so that tests meet what a circle meets on ntfy.sh or a
self-hosted server. It is not a push service: nothing reaches a phone.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from sentinel.demo.ntfy_http import Server, handler
from sentinel.demo.ntfy_rules import CACHE_S, Access, Bucket, Refused, Visitor, after, message_id


class LocalNtfy:
    """The server, on a free loopback port; ``published`` holds every accepted JSON publish."""

    def __init__(
        self,
        on_publish: Callable[[dict[str, Any]], None] | None = None,
        *,
        request_burst: int = 60,
        request_every_s: float = 5.0,
        daily_messages: int = 0,
        keepalive_s: float = 45.0,
        access: Access | None = None,
        clock: Callable[[], float] = time.monotonic,
        smtp: bool = True,
        email_burst: int = 16,
        email_every_s: float = 3600.0,
    ) -> None:
        self.on_publish = on_publish
        self.published: list[dict[str, Any]] = []
        self.smtp = smtp  # e-mail set up (smtp-sender-addr), as on ntfy.sh
        self.email_burst, self.email_every_s = email_burst, email_every_s
        self.emails: list[dict[str, Any]] = []  # what was e-mailed: to, title, message
        self.headers: list[dict[str, str]] = []
        self.refused: list[tuple[str, int, int]] = []  # (path, status, ntfy code) of every error answer
        self.ignored_fields: list[str] = []  # unknown JSON fields the real server would drop silently
        self.topics: dict[str, list[dict[str, Any]]] = {}
        self.failures: list[int | float] = []  # next JSON publishes' answers: an HTTP status, or -seconds to hang
        self.poll_failures: list[int] = []  # next polls' answers: an HTTP status (a proxy's 502, say)
        self.request_burst, self.request_every_s = request_burst, request_every_s
        self.daily_messages = daily_messages
        self.keepalive_s = keepalive_s
        self.access = access or Access()
        self.clock = clock
        self.visitors: dict[str, Visitor] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.closing = False
        self.generation = 0  # drop_subscribers() moves it on
        self.server = Server(("127.0.0.1", 0), handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll: closing the stand-in (after every test) waits for it.
        serve = functools.partial(self.server.serve_forever, poll_interval=0.05)
        self.thread = threading.Thread(target=serve, name="local-ntfy", daemon=True)
        self.thread.start()

    # the rules
    def visitor(self, ip: str, user: str | None) -> Visitor:
        key = f"user:{user}" if user else f"ip:{ip}"
        with self.lock:
            if key not in self.visitors:
                self.visitors[key] = Visitor(Bucket(self.request_burst, self.request_every_s))
            return self.visitors[key]

    def user_of(self, authorization: str | None) -> str | None:
        """The user a request is from; Refused 401 for a token or password the server does not know."""
        if not authorization:
            return None
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer" and credential.strip() in self.access.tokens:
            return self.access.tokens[credential.strip()]
        raise Refused(401, 40101, "unauthorized")

    def limit_request(self, visitor: Visitor) -> None:
        with self.lock:
            allowed = visitor.requests.allow(self.clock())
        if not allowed:
            raise Refused(429, 42901, "limit reached: too many requests")

    def authorize(self, user: str | None, topic: str, want: str) -> None:
        if not self.access.allows(user, topic, want):
            raise Refused(403, 40301, "forbidden")

    def count_message(self, visitor: Visitor) -> None:
        with self.lock:
            if self.daily_messages and visitor.messages_today >= self.daily_messages:
                raise Refused(429, 42908, "limit reached: daily message quota reached")
            visitor.messages_today += 1

    def check_email(self, visitor: Visitor, body: dict[str, Any]) -> None:
        """An ``email`` field, as ``parsePublishParams`` checks it."""
        if not body.get("email"):
            return
        if not self.smtp:
            raise Refused(400, 40001, "e-mail notifications are not enabled")
        with self.lock:
            if visitor.emails is None:
                visitor.emails = Bucket(self.email_burst, self.email_every_s)
            allowed = visitor.emails.allow(self.clock())
        if not allowed:
            raise Refused(429, 42902, "limit reached: too many emails, please be nice")
        if body.get("delay"):
            raise Refused(400, 40003, "delayed e-mail notifications are not supported")

    # the messages
    def store(self, topic: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a message (12 h) and wake the topic's subscribers; returns it as ntfy returns it."""
        now = int(time.time())
        message = {
            "id": message_id(),
            "time": now,
            "expires": now + CACHE_S,
            "event": "message",
            "topic": topic,
            "message": text or "triggered",
            **{k: v for k, v in body.items() if k not in ("topic", "message", "email") and v not in (None, "", [], 0)},
        }
        with self.arrived:
            self.topics.setdefault(topic, []).append(message)
            self.arrived.notify_all()
        return message

    def since(self, topic: str, marker: str) -> tuple[list[dict[str, Any]], int]:
        """Cached messages after ``marker``, and how many the topic holds in all; Refused 400 for a bad marker."""
        with self.lock:
            kept = self.topics.get(topic, [])
            count = len(kept)
            messages = [m for m in kept if m["time"] >= time.time() - CACHE_S]
        return after(messages, marker), count

    def to(self, topic: str) -> list[dict[str, Any]]:
        """Accepted JSON publishes to ``topic``."""
        with self.lock:
            return [p for p in self.published if p["topic"] == topic]

    def press(self, notification: dict[str, Any], label: str) -> dict[str, Any]:
        """Do what the phone does when the button ``label`` is pressed; the message ntfy answers with."""
        action = next(a for a in notification["actions"] if a["label"] == label)
        request = urllib.request.Request(
            action["url"],
            data=action.get("body", "").encode(),
            method=action.get("method", "POST"),
            headers=action.get("headers", {}),  # the app sends these and nothing else
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def drop_subscribers(self) -> None:
        """End every open subscription, as a restart of the server or a lost connection would."""
        with self.arrived:
            self.generation += 1
            self.arrived.notify_all()

    def close(self) -> None:
        with self.arrived:
            self.closing = True
            self.arrived.notify_all()
        self.server.shutdown()
        self.server.server_close()
