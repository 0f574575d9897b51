"""Parse what arrives on the agent's subscriptions; malformed input becomes an error, never a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sentinel.core.status import Mode
from sentinel.mqtt.topics import Topics
from sentinel.text import clean

MAX_PAYLOAD = 8192
"""Bytes a command or an acknowledgement may have (they are under 1 kB): a larger one is dropped unread."""
MAX_NAME = 80
"""Characters kept of a name from outside ("set to away by <who>")."""
MAX_NOTE = 500
"""Characters kept of a note from outside ("Ann is with Mary.")."""


@dataclass(frozen=True, slots=True)
class Answer:
    """Someone did something about an alert (on its ack topic)."""

    alert_id: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """A request on cmd/<verb>."""

    verb: str
    body: dict[str, Any]


class Malformed(ValueError):
    """The payload is not a UTF-8 JSON object of a sensible size."""


def parse(topics: Topics, topic: str, payload: bytes) -> Answer | Command | None:
    """An Answer or Command, None for a topic that is not ours; Malformed for a bad payload."""
    alert_id = topics.parse_ack(topic)
    verb = topics.parse_command(topic)
    if alert_id is None and verb is None:
        return None
    if len(payload) > MAX_PAYLOAD:
        # Checked before decoding: a huge message must not grow into a huge string and a huge object.
        raise Malformed(f"{len(payload)} bytes, more than the {MAX_PAYLOAD} a command or an acknowledgement may have")
    try:
        body = json.loads(payload.decode("utf-8")) if payload else {}
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: JSON nested a thousand levels deep.
        raise Malformed(str(exc)[:200]) from exc
    if not isinstance(body, dict):
        raise Malformed("not a JSON object")
    return Answer(alert_id, body) if alert_id is not None else Command(verb or "", body)


def text(body: dict[str, Any], key: str, limit: int) -> str | None:
    """``body[key]`` cleaned when it is a text with something left in it, else None."""
    value = body.get(key)
    if not isinstance(value, str):
        return None
    return clean(value, limit) or None


MODES: dict[str, Mode] = {"away": "away", "home": "home", "pause": "paused", "resume": "home"}
"""The command verbs that set the mode, and the mode each sets."""


@dataclass(frozen=True, slots=True)
class SetMode:
    """Set the home's mode."""

    mode: Mode
    reason: str


@dataclass(frozen=True, slots=True)
class ResidentOk:
    """'I'm OK', as the resident's single press."""

    how: str


@dataclass(frozen=True, slots=True)
class SayStatus:
    """Publish the status again."""


Decision = SetMode | ResidentOk | SayStatus | None


def decide(verb: str, body: dict[str, Any]) -> tuple[Decision, str | None]:
    """What a command asks the agent to do, and the error to reply with (None when it is understood)."""
    if verb in MODES:
        who = text(body, "who", MAX_NAME) or "someone"
        return SetMode(MODES[verb], f"set to {MODES[verb]} by {who}"), None
    if verb == "status":
        return SayStatus(), None
    if verb == "ok":  # "I'm OK" from an app (Home Assistant's button): as the resident's single press
        return ResidentOk(f"from {text(body, 'who', MAX_NAME) or 'an app'}"), None
    shown = clean(verb, MAX_NAME)  # a topic level from outside: any length, any character
    return None, f"unknown command {shown!r}"
