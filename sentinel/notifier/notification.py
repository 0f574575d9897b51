"""One push notification as ntfy takes it: its JSON fields, cleaned and cut so that ntfy never refuses it for its text.

Texts in it come from outside (an alert's reason and kind, a note from a press, a kit notice): control and
bidirectional characters are dropped, and the whole JSON body is kept under ntfy's limit whatever they hold.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sentinel.text import clean

log = logging.getLogger(__name__)

# ntfy keeps messages under 4,096 bytes (DefaultMessageSizeLimit) and turns longer ones into a file
# attachment; Apple's and Google's push services carry about 4 kB in all, title included.
MESSAGE_LIMIT = 3500
TITLE_LIMIT = 200
NOTE_LIMIT = 500  # a note from a message (an ack's note, a kit notice) as it goes to the phones
# ntfy reads a JSON publish through util.Peek with twice the message limit (server.go transformBodyJSON ~1819)
# and refuses it with 413 when the limit is reached (util/peek.go: LimitReached is read == limit): 8,191 at most.
BODY_LIMIT = 2 * 4096 - 1
WORDS_ROOM = 1024  # what a notification keeps for its title and the start of its message, whatever else it holds
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Notification:
    """One push notification to one topic (ntfy's JSON publishing fields)."""

    topic: str
    title: str
    message: str
    priority: int = 3
    tags: tuple[str, ...] = ()
    click: str | None = None
    actions: tuple[dict[str, Any], ...] = field(default=())
    email: str | None = None  # ntfy also e-mails it here (the server must have e-mail set up)

    def body(self) -> dict[str, Any]:
        """The JSON publish: texts cleaned and cut to what ntfy and the phones' push services carry."""
        out: dict[str, Any] = {
            "topic": self.topic,
            "title": cut(shown(self.title), TITLE_LIMIT),
            "message": cut(shown(self.message), MESSAGE_LIMIT),
            "priority": self.priority,
        }
        if self.tags:
            out["tags"] = list(self.tags)
        if self.click:
            out["click"] = self.click
        if self.actions:
            out["actions"] = list(self.actions)
        if self.email:
            out["email"] = self.email
        return fit(out)


def payload(body: dict[str, Any]) -> bytes:
    """The bytes that go to ntfy for ``body``."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "replace")


def shown(text: str) -> str:
    """``text`` fit to show on a phone: each line cleaned of control and bidirectional characters, the breaks kept."""
    return "\n".join(clean(line, len(line)) for line in text.split("\n"))


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes, ending with an ellipsis when it was cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + ELLIPSIS


def tidy(text: str, limit: int) -> str:
    """A text from outside without control characters (``sentinel.text.clean``), in at most ``limit`` UTF-8 bytes."""
    return cut(clean(text, limit), limit)


def fit(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` within BODY_LIMIT once JSON-escaped: its message cut further, then its title."""
    # A link or buttons that leave no room for the words go first: only a circle's settings gone wrong
    # could make them that large, and the words are what tell someone to go.
    for key in ("click", "actions"):
        if len(payload({**body, "title": "", "message": ""})) + WORDS_ROOM <= BODY_LIMIT:
            break
        log.warning("a notification is too large for ntfy even cut short: it goes without its %s", key)
        body = {k: v for k, v in body.items() if k != key}
    # A quote or a backslash takes two bytes in JSON: 3,500 bytes of text can take 7,000, and the
    # buttons (signed JSON in JSON) about 1,100.
    for key in ("message", "title"):
        over = len(payload(body)) - BODY_LIMIT
        if over <= 0:
            break
        body = {**body, key: cut_escaped(body[key], escaped_size(body[key]) - over)}
    return body


def escaped_size(text: str) -> int:
    """The bytes ``text`` takes inside a JSON body."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "replace")) - 2


def cut_escaped(text: str, budget: int) -> str:
    """``text`` cut so that, JSON-escaped and with its ellipsis, it takes at most ``budget`` bytes."""
    if escaped_size(text) <= budget:
        return text
    room, kept = budget - len(ELLIPSIS.encode()), 0
    for i, char in enumerate(text):
        kept += escaped_size(char)
        if kept > room:
            return text[:i] + ELLIPSIS if room >= 0 else ""
    return text
