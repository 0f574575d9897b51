"""What the notifier's database holds, as values: incidents, deliveries, parked messages, the circle's rhythm."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentinel.core.protocol import believable

log = logging.getLogger(__name__)


PARKED_PAYLOAD_BYTES = 1000  # what is kept of a parked message: enough to see what it was


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Incident:
    """An alert being handled by the circle."""

    alert_id: str
    home: str
    kind: str
    severity: str
    reason: str
    raised_at: datetime
    next_index: int
    next_at: datetime
    claimed_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification waiting to reach one member."""

    id: int
    alert_id: str | None
    home: str
    member: str
    body: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be read: kept, counted, never retried."""

    topic: str
    home: str | None
    size: int
    payload: str
    error: str
    first_seen: datetime
    last_seen: datetime
    count: int


def stored_time(text: str | None) -> datetime | None:
    return when(text, EPOCH) if text else None


_warned: set[str] = set()


def when(text: Any, fallback: datetime, what: str = "a time") -> datetime:
    """A stored time; ``fallback`` (said once in the log) for one that cannot be read, never an exception."""
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError("no UTC offset")
        return parsed
    except (TypeError, ValueError) as exc:
        key = f"{what}:{text!r:.80}"
        if key not in _warned:
            _warned.add(key)
            log.warning("unreadable %s %.80r in the database (%s); %s is used instead", what, text, exc, fallback)
        return fallback


@dataclass(frozen=True, slots=True)
class Consent:
    """Where one member of one home stands on being counted on."""

    home: str
    member: str
    asked_at: datetime | None
    reminded_at: datetime | None
    agreed_at: datetime | None
    how: str
    keepers_told_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResidentCheck:
    """One time the resident's phone was asked, and the answer."""

    home: str
    check_id: str
    kind: str  # 'check' (are you all right?) or 'today' (I'm OK today)
    asked_at: datetime
    answered_at: datetime | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Away:
    """A member's away date set from their phone; ``yaml_was``: the config's date it overrode."""

    member: str
    away_until: str | None
    yaml_was: str | None
    set_at: datetime
    how: str

    def over(self, yaml_date: str | None) -> str | None:
        """The away date that stands: this one, unless the config's has changed since it was set."""
        return self.away_until if self.yaml_was == yaml_date else yaml_date


@dataclass(frozen=True, slots=True)
class Drill:
    """One member's part in one drill."""

    drill_id: str
    member: str
    sent_at: datetime
    due_at: datetime
    answered_at: datetime | None
    missed_at: datetime | None


CHECK_SQL = "SELECT home, check_id, kind, asked_at, answered_at, outcome FROM resident_checks"


def check_row(row: tuple[Any, ...]) -> ResidentCheck:
    return ResidentCheck(row[0], row[1], row[2], when(row[3], EPOCH), stored_time(row[4]), row[5])


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The question after an incident: how is the resident today?"""

    alert_id: str
    home: str
    member: str
    due_at: datetime
    asked_at: datetime | None
    answer: str | None
    answered_at: datetime | None


FOLLOW_UP_SQL = "SELECT alert_id, home, member, due_at, asked_at, answer, answered_at FROM follow_ups"


def follow_up_row(row: tuple[Any, ...]) -> FollowUp:
    return FollowUp(row[0], row[1], row[2], when(row[3], EPOCH), stored_time(row[4]), row[5], stored_time(row[6]))


DRILL_SQL = "SELECT drill_id, member, sent_at, due_at, answered_at, missed_at FROM drills"


def drill_row(row: tuple[Any, ...]) -> Drill:
    return Drill(row[0], row[1], when(row[2], EPOCH), when(row[3], EPOCH), stored_time(row[4]), stored_time(row[5]))


INCIDENT_SQL = (
    "SELECT alert_id, home, kind, severity, reason, raised_at, next_index, next_at, claimed_by, closed_at,"
    " closed_by, close_note, received_at FROM incidents"
)


def incident_row(row: tuple[Any, ...]) -> Incident:
    """An incident row; a time that cannot be read (a row written before alerts were checked) never stops the loop."""
    alert_id, home, kind, severity, reason, raised, index, next_at, claimed, closed, by, note, received = row
    received_at = when(received, EPOCH, "received_at")
    raised_at = when(raised, received_at, f"raised_at of {alert_id}")
    return Incident(
        alert_id,
        home,
        kind,
        severity,
        reason,
        raised_at if believable(raised_at) else received_at,  # kept before it was checked: no zone can show it
        index,
        when(next_at, received_at, f"next_at of {alert_id}"),
        claimed,
        stored_time(closed),
        by,
        note,
    )
