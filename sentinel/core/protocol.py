"""Every MQTT message sentinel publishes, as a typed value, and the words and limits both programs check.

docs/mqtt.md describes these messages for whoever subscribes; tests/test_protocol.py checks that it
names every field, kind and verb defined here, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from sentinel.core.alerts import Severity

MAX_ID = 100  # characters in an alert's or a notice's id
# \Z, not $: "$" also matches before a final newline
ALERT_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{MAX_ID - 1}}}\Z")
"""An alert's or a notice's id: it becomes a topic level (``alert/<id>/ack``), so nothing that could be a wildcard."""

EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
"""No monitor stamps a time outside these; one that does cannot be shown in any time zone without overflow."""


def believable(at: datetime) -> bool:
    """Whether a monitor could have stamped ``at`` (see ``EARLIEST``, ``LATEST``)."""
    return EARLIEST <= at < LATEST

ALERT_KINDS: dict[str, Severity] = {
    "help": "critical",
    "inactivity": "high",
    "not_up": "high",
    "not_back": "normal",
    "door_open": "high",
}
"""Each kind of alert the agent raises, and its severity."""
QUIET_KINDS = ("inactivity", "not_up", "not_back")
"""The kinds of alert raised for unusual quiet (the watch's own; movement may end them)."""
ALERT_FIELDS = ("alert_id", "home", "kind", "severity", "raised_at", "reason", "facts")
"""The fields of an alert (``Alert.payload``)."""
NOTICE_KINDS = (
    "sensor_silent",
    "sensor_alone",
    "bridge_offline",
    "device_offline",
    "battery_low",
    "zigbee_setup",
    "still_away",
    "still_paused",
)
"""Kit faults, and reminders of a monitor left away or paused; the Zigbee faults also come as ``<kind>_ok`` when
they are right again."""
STATES = ("ok", "learning", "checking", "alert", "away", "paused")
"""The home's state in its retained status."""
COMMANDS = ("away", "ok", "home", "resume", "pause", "status")
"""The verbs of ``cmd/<verb>``."""
ACK_WORDS = {"resident": ("cancel", "help"), "sensors": ("resolve", "activity")}
"""What the agent says on an alert's ack topic, by who said it."""
NOTIFIER_ACK_WORDS = ("claim", "release", "resolve")
"""What the notifier says there (with ``"source": "notifier"``) about what the circle did."""


class Message:
    """A message body: its fields in order; fields in ``OMIT_IF_NONE`` are left out when they are None."""

    OMIT_IF_NONE: ClassVar[tuple[str, ...]] = ()

    def body(self) -> dict[str, Any]:
        """The JSON object, as published."""
        out = asdict(self)  # type: ignore[call-overload]
        return {k: v for k, v in out.items() if v is not None or k not in self.OMIT_IF_NONE}

    def to_json(self) -> str:
        return json.dumps(self.body(), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Status(Message):
    """``status`` (retained): the home's state a neighbour's app shows; ``up`` and ``out`` only with ``share_day``."""

    OMIT_IF_NONE = ("up", "out")

    state: str
    since: str | None
    reason: str
    mode: str
    last_activity: str | None
    last_checkin: str | None
    open_alerts: list[str]
    home: str
    name: str
    version: str
    storage: str
    up: str | None = None  # when the resident got up today
    out: list[list[str]] | None = None  # today's outings, each once it is over: [left, back], at most MAX_OUTINGS


MAX_OUTINGS = 24
"""The most outings a status tells, the latest: more in one day is no day anyone lives (a door gone wrong)."""


@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    """``heartbeat``: the agent is alive, every ``interval_s``."""

    seq: int
    at: str | None
    uptime_s: int
    interval_s: float
    outbox: int
    storage: str


@dataclass(frozen=True, slots=True)
class AckMessage(Message):
    """``alert/<alert_id>/ack``: who did what about an alert."""

    OMIT_IF_NONE = ("note", "source")

    who: str
    what: str
    at: str | None
    alert_id: str
    note: str | None = None
    source: str | None = None  # "notifier" on the notifier's own messages


@dataclass(frozen=True, slots=True)
class Notice(Message):
    """``notice``: a kit fault for the home's keepers, told once per ``notice_id``."""

    OMIT_IF_NONE = ("sensor",)

    notice_id: str
    home: str
    kind: str
    text: str
    at: str | None
    sensor: str | None = None


@dataclass(frozen=True, slots=True)
class SensorValue(Message):
    """``sensor/<name>`` (retained, only with ``publish_sensors``): a sensor's value."""

    value: int
    kind: str
    room: str | None
    at: str | None


@dataclass(frozen=True, slots=True)
class Reply(Message):
    """``cmd/<verb>/reply``: whether a command was done."""

    OMIT_IF_NONE = ("transaction", "error")

    status: str
    transaction: Any = None
    error: str | None = None


DOCUMENTED: dict[str, tuple[str, ...]] = {
    "status": tuple(f.name for f in fields(Status)),
    "heartbeat": tuple(f.name for f in fields(Heartbeat)),
    "alert": ALERT_FIELDS,
    "alert acknowledgements": tuple(f.name for f in fields(AckMessage)),
    "notices": tuple(f.name for f in fields(Notice)),
    "sensor": tuple(f.name for f in fields(SensorValue)),
    "reply": tuple(f.name for f in fields(Reply)),
}
"""The fields of each message, by where docs/mqtt.md describes it."""
