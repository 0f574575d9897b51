"""The real ntfy server's rules and limits, which the local stand-in (``ntfy.py``) enforces.

Each rule, with the file of the ntfy source it comes from (github.com/binwiederhier/ntfy, server/ unless said):

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
- A JSON publish body under 2 x 4,096 bytes: else 413 41303 (server.go
  transformBodyJSON, util.go readJSONWithLimit; util/peek.go Peek says the
  limit is reached when it read as many bytes as the limit, so 8,192 is refused).
- A body that is not a JSON object, or a field of the wrong type: 400 40024
  (util.go readJSONWithLimit). Unknown fields are ignored and invalid UTF-8 in a
  string becomes U+FFFD (Go's encoding/json): both accepted.
- A message of 4,096 bytes or more (util/peek.go, as above), or a plain body that is not UTF-8, becomes a file
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
  well: refused 400 40001 by a server without SMTP set up, 429 42902 past a
  visitor's 16 e-mails (one more each hour), and 400 40003 with a delay
  (server.go parsePublishParams, errors.go, config.go
  DefaultVisitorEmailLimitBurst/Replenish, visitor.go EmailAllowed). The
  message is stored and pushed as usual, without the address (types.go
  message); ``emails`` records what was e-mailed. JSON publishes only here.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}\Z")  # as Go reads "$": the end of the text, never before a newline
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


def message_id() -> str:
    """A new message id, as ntfy makes them."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))


def check_topic(topic: str) -> None:
    """Refused 400 for a topic name ntfy does not take."""
    if not TOPIC.match(topic):
        raise Refused(400, 40009, "invalid request: topic invalid")
    if topic in RESERVED:
        raise Refused(400, 40010, "invalid request: topic name is not allowed")


def parse_json_publish(raw: bytes, ignored: list[str]) -> dict[str, Any]:
    """A JSON publish body as Go would decode it (unknown fields go to ``ignored``); Refused when ntfy refuses it."""
    if len(raw) >= JSON_BODY_LIMIT:
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
            ignored.append(key)
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise Refused(400, 40024, "invalid request: request body must be valid JSON")
    if not all(isinstance(t, str) for t in body.get("tags", [])):
        raise Refused(400, 40024, "invalid request: request body must be valid JSON")
    return {k: v for k, v in body.items() if k in FIELDS}


def check_params(body: dict[str, Any]) -> None:
    """Priority, delay and actions, as ``parsePublishParams`` and ``parseActions`` check them."""
    if "priority" in body and body["priority"] not in (0, 1, 2, 3, 4, 5):
        raise Refused(400, 40007, "invalid priority parameter")
    if body.get("delay"):
        delay = seconds_ahead(body["delay"])
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


def check_message(text: bytes) -> str:
    """The message text; ntfy turns a long or non-UTF-8 one into an attachment, which this server refuses."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        decoded = None
    if decoded is None or len(text) >= MESSAGE_LIMIT:
        raise Refused(400, 40014, "invalid request: attachments not allowed")
    return decoded.strip()


def after(messages: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """The cached ``messages`` a ``since`` marker asks for; Refused 400 for a bad marker."""
    if marker in ("", "none"):
        return []
    if marker == "all":
        return messages
    if marker == "latest":
        return messages[-1:]
    if re.fullmatch(r"[A-Za-z0-9]{12}", marker):
        ids = [m["id"] for m in messages]
        return messages[ids.index(marker) + 1 :] if marker in ids else messages
    if marker.isdigit():
        return [m for m in messages if m["time"] >= int(marker)]
    if (match := _DURATION.match(marker)) is not None:
        start = time.time() - int(match.group(1)) * _UNIT_S[match.group(2)]
        return [m for m in messages if m["time"] >= start]
    raise Refused(400, 40008, "invalid since parameter")


def seconds_ahead(delay: str) -> float | None:
    """How far ahead an ntfy ``delay`` is: a unix time or a duration such as '30s' or '2h'."""
    if delay.isdigit():
        return int(delay) - time.time()
    match = _DURATION.match(delay.strip())
    return int(match.group(1)) * _UNIT_S[match.group(2)] if match else None
