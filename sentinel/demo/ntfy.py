"""A local stand-in for an ntfy server, for the demo and the tests.

It speaks the part of ntfy's HTTP API that sentinel uses (JSON publishing to the
root, plain publishing to a topic as the phone's buttons do, and subscribing to
a topic as a stream or a poll), and it enforces the real server's rules and
limits, so that tests meet what a circle meets on ntfy.sh or a self-hosted
server. It is not a push service: nothing reaches a phone.

The rules, each with the file of the ntfy source it comes from
(github.com/binwiederhier/ntfy, server/ unless said):

- A topic is 1-64 of ``[-_A-Za-z0-9]``: else 400 40009 (server.go topicRegex).
- Reserved topic names (docs, static, file, app, metrics, account, settings,
  signup, login, v1): 400 40010 (config.go DefaultDisallowedTopics, server.go
  topicsFromIDs).
- Requests per visitor (an IP address, or the user of a token): a bucket of 60,
  one more every 5 s, shared by publishes and subscriptions: else 429 42901
  (config.go DefaultVisitorRequestLimitBurst/Replenish, server_middleware.go
  limitRequests, limitRequestsWithTopic). ntfy sends no Retry-After.
- Messages per visitor per day (none by default; ntfy.sh sets a quota): else
  429 42908 (visitor.go MessageAllowed, server.go handlePublishInternal).
- At most 30 open subscriptions per visitor: else 429 42903 (config.go
  DefaultVisitorSubscriptionLimit).
- A JSON publish body of at most 2 x 4,096 bytes: else 413 41303 (server.go
  transformBodyJSON, util.go readJSONWithLimit).
- A body that is not a JSON object, or a field of the wrong type: 400 40024
  (util.go readJSONWithLimit). Unknown fields are ignored and invalid UTF-8 in a
  string becomes U+FFFD (Go's encoding/json): both accepted.
- A message over 4,096 bytes, or a plain body that is not UTF-8, becomes a file
  attachment; a server without attachments refuses it, and so does this one:
  400 40014 (config.go DefaultMessageSizeLimit, server.go handlePublishBody,
  handleBodyAsAttachment).
- Priority 1-5: else 400 40007 (server.go parsePublishParams).
- A delay at least 10 s and at most 3 days ahead: else 400 40005 / 40006
  (config.go DefaultMessageDelayMin/Max, server.go parsePublishParams).
- At most 3 actions, each view, broadcast or http, with a label, a url for view
  and http, no body with GET or HEAD: else 400 40018 (actions.go parseActions).
- A token the server does not know: 401 40101 (server.go authenticate).
- No permission for the topic (auth-default-access and access grants): 403
  40301 (server.go authorizeTopic).
- Messages are kept 12 h; ``since`` takes all, none, latest, a message id, a unix
  time or a duration, and an unknown id means all: else 400 40008 (config.go
  DefaultCacheDuration, server.go parseSince, message_cache.go messagesSinceID).
- A subscription starts with an ``open`` event and sends a ``keepalive`` every
  45 s (server.go handleSubscribeHTTP, config.go DefaultKeepaliveInterval).
- Message ids are 12 random letters and digits (types.go messageIDLength).
- An http action button sends only its own headers and body, without the app's
  login (the Android app): see docs/circle.md on servers that deny by default.
- ``email`` (the JSON field; X-Email on a plain publish) e-mails the message to one address as
  well: refused 400 40001 by a server without SMTP set up, 400 40003 with a
  delay, and 429 42902 past a visitor's 16 e-mails, one more each hour
  (server.go parsePublishParams, errors.go, config.go
  DefaultVisitorEmailLimitBurst/Replenish, visitor.go EmailAllowed). The
  message is stored and pushed as usual, without the address (types.go
  message); ``emails`` records what was e-mailed. JSON publishes only here.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import string
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
RESERVED = ("docs", "static", "file", "app", "metrics", "account", "settings", "signup", "login", "v1")
MESSAGE_LIMIT = 4096
JSON_BODY_LIMIT = 2 * MESSAGE_LIMIT
CACHE_S = 12 * 3600
ACTION_KINDS = ("view", "broadcast", "http")
MAX_ACTIONS = 3
FIELDS: dict[str, type | tuple[type, ...]] = {
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
    "cache": str,
    "firebase": str,
}
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Refused(Exception):
    """An error answer, as ntfy writes it: HTTP status, ntfy's own code and text."""

    def __init__(self, status: int, code: int, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text

    def body(self) -> str:
        return json.dumps({"code": self.code, "http": self.status, "error": self.text})


@dataclass
class Bucket:
    """A token bucket, as golang.org/x/time/rate's Limiter: ``burst`` tokens, one more every ``every_s``."""

    burst: int
    every_s: float
    tokens: float = -1.0
    at: float = 0.0

    def allow(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) / self.every_s)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Visitor:
    """Who ntfy counts requests against: an IP address, or a user logged in with a token."""

    requests: Bucket
    emails: Bucket | None = None
    messages_today: int = 0
    subscriptions: int = 0


@dataclass
class Access:
    """ntfy's access control: a default for everyone, users by token, and grants per topic."""

    default: str = "read-write"  # or read-only, write-only, deny-all (auth-default-access)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user name
    grants: list[tuple[str, str, str]] = field(default_factory=list)  # (user or "*", topic or "*", permission)

    def allows(self, user: str | None, topic: str, want: str) -> bool:
        """Whether ``user`` (None: anonymous) may ``want`` ("read" or "write") ``topic``."""
        for who, pattern, permission in self.grants:
            if who in ("*", user) and pattern in ("*", topic):
                return want in permission or permission == "read-write"
        permission = self.default
        return permission == "read-write" or permission == f"{want}-only"


def _message_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))


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
        self.server = _Server(("127.0.0.1", 0), self._handler())
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

    def check_topic(self, topic: str) -> None:
        if not TOPIC.match(topic):
            raise Refused(400, 40009, "invalid request: topic invalid")
        if topic in RESERVED:
            raise Refused(400, 40010, "invalid request: topic name is not allowed")

    def authorize(self, user: str | None, topic: str, want: str) -> None:
        if not self.access.allows(user, topic, want):
            raise Refused(403, 40301, "forbidden")

    def count_message(self, visitor: Visitor) -> None:
        with self.lock:
            if self.daily_messages and visitor.messages_today >= self.daily_messages:
                raise Refused(429, 42908, "limit reached: daily message quota reached")
            visitor.messages_today += 1

    def parse_json_publish(self, raw: bytes) -> dict[str, Any]:
        """A JSON publish body as Go would decode it; Refused when ntfy refuses it."""
        if len(raw) > JSON_BODY_LIMIT:
            raise Refused(413, 41303, "JSON body too large")
        try:
            body = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            raise Refused(400, 40024, "invalid request: request body must be valid JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, 40024, "invalid request: request body must be valid JSON")
        for key, value in body.items():
            kind = FIELDS.get(key)
            if kind is None:
                self.ignored_fields.append(key)
            elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise Refused(400, 40024, "invalid request: request body must be valid JSON")
        if not all(isinstance(t, str) for t in body.get("tags", [])):
            raise Refused(400, 40024, "invalid request: request body must be valid JSON")
        return {k: v for k, v in body.items() if k in FIELDS}

    @staticmethod
    def check_params(body: dict[str, Any]) -> None:
        """Priority, delay and actions, as ``parsePublishParams`` and ``parseActions`` check them."""
        if "priority" in body and body["priority"] not in (0, 1, 2, 3, 4, 5):
            raise Refused(400, 40007, "invalid priority parameter")
        if body.get("delay"):
            delay = _seconds_ahead(body["delay"])
            if delay is None:
                raise Refused(400, 40004, "invalid delay parameter: unable to parse delay")
            if delay < 10:
                raise Refused(400, 40005, "invalid delay parameter: too small, please refer to the docs")
            if delay > 3 * 86400:
                raise Refused(400, 40006, "invalid delay parameter: too large, please refer to the docs")
        actions = body.get("actions") or []
        bad = Refused(400, 40018, "invalid request: actions invalid")
        if len(actions) > MAX_ACTIONS or not all(isinstance(a, dict) for a in actions):
            raise bad
        for action in actions:
            kind = str(action.get("action", "")).lower()
            if kind not in ACTION_KINDS or not action.get("label"):
                raise bad
            if kind in ("view", "http") and not action.get("url"):
                raise bad
            if kind == "http" and str(action.get("method", "POST")).upper() in ("GET", "HEAD") and action.get("body"):
                raise bad

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

    @staticmethod
    def check_message(text: bytes) -> str:
        """The message text; ntfy turns a long or non-UTF-8 one into an attachment, which this server refuses."""
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            decoded = None
        if decoded is None or len(text) > MESSAGE_LIMIT:
            raise Refused(400, 40014, "invalid request: attachments not allowed")
        return decoded.strip()

    # the messages
    def store(self, topic: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a message (12 h) and wake the topic's subscribers; returns it as ntfy returns it."""
        now = int(time.time())
        message = {
            "id": _message_id(),
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
        if marker in ("", "none"):
            return [], count
        if marker == "all":
            return messages, count
        if marker == "latest":
            return messages[-1:], count
        if re.fullmatch(r"[A-Za-z0-9]{12}", marker):
            ids = [m["id"] for m in messages]
            return (messages[ids.index(marker) + 1 :] if marker in ids else messages), count
        if marker.isdigit():
            return [m for m in messages if m["time"] >= int(marker)], count
        if (match := _DURATION.match(marker)) is not None:
            start = time.time() - int(match.group(1)) * _UNIT_S[match.group(2)]
            return [m for m in messages if m["time"] >= start], count
        raise Refused(400, 40008, "invalid since parameter")

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

    # HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

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

            def _failure(self) -> bool:
                with fake.lock:
                    failure = fake.failures.pop(0) if fake.failures else None
                if failure is None:
                    return False
                if failure < 0:
                    time.sleep(-failure)
                    self._answer(200, "{}")
                else:
                    self._answer(int(failure), json.dumps({"http": int(failure), "error": "failure on demand"}))
                return True

            def _read(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_PUT(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                raw = self._read()
                path = urlparse(self.path).path
                try:
                    user = fake.user_of(self.headers.get("Authorization"))
                    visitor = fake.visitor(self.client_address[0], user)
                    if path == "/":
                        if self._failure():  # failures on demand hit JSON publishes only
                            return
                        body = fake.parse_json_publish(raw)
                        topic = str(body.get("topic", ""))
                        text = body.get("message", "").encode()
                    else:  # a plain publish to /<topic>, as the action buttons do
                        topic, body, text = path.strip("/"), {}, raw
                    fake.check_topic(topic)
                    fake.limit_request(visitor)
                    fake.authorize(user, topic, "write")
                    fake.count_message(visitor)
                    fake.check_params(body)
                    fake.check_email(visitor, body)
                    message = fake.store(topic, fake.check_message(text), body)
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
                    fake.check_topic(topic)
                    fake.limit_request(visitor)
                    fake.authorize(user, topic, "read")
                    poll = query.get("poll", ["0"])[0] in ("1", "yes", "true")
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

                event = {"id": _message_id(), "time": int(time.time()), "topic": topic}
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
                            send({**event, "id": _message_id(), "time": int(time.time()), "event": "keepalive"})
                            last_sent = time.monotonic()
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler


class _Server(ThreadingHTTPServer):
    """The HTTP server; a client that hangs up before its answer (a killed notifier) is not an error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _seconds_ahead(delay: str) -> float | None:
    """How far ahead an ntfy ``delay`` is: a unix time or a duration such as '30s' or '2h'."""
    if delay.isdigit():
        return int(delay) - time.time()
    match = _DURATION.match(delay.strip())
    return int(match.group(1)) * _UNIT_S[match.group(2)] if match else None

