"""Parse what arrives on the agent's subscriptions; malformed input becomes an error, never a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sentinel.mqtt.topics import Topics


@dataclass(frozen=True, slots=True)
class Ack:
    """Someone did something about an alert."""

    alert_id: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """A request on cmd/<verb>."""

    verb: str
    body: dict[str, Any]


class Malformed(ValueError):
    """The payload is not a UTF-8 JSON object."""


def parse(topics: Topics, topic: str, payload: bytes) -> Ack | Command | None:
    """An Ack or Command, None for a topic that is not ours; Malformed for a bad payload."""
    alert_id = topics.parse_ack(topic)
    verb = topics.parse_command(topic)
    if alert_id is None and verb is None:
        return None
    try:
        body = json.loads(payload.decode("utf-8")) if payload else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(str(exc)) from exc
    if not isinstance(body, dict):
        raise Malformed("not a JSON object")
    return Ack(alert_id, body) if alert_id is not None else Command(verb or "", body)
