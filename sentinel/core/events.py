"""Immutable records of what the sensors saw: one change as the agent saw it, or as a CSV row; what counts as life."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The kinds of the event CSV; the GPIO agent produces motion, door and button.
KINDS = ("motion", "door", "contact", "pressure", "power", "flush", "button")


def is_activity(kind: str, value: int) -> bool:
    """Every change is a sign of life except a PIR going quiet (its own timer)."""
    return not (kind == "motion" and value == 0)


@dataclass(frozen=True, slots=True)
class Event:
    """One sensor change: ``value`` 1 is active/open/pressed, 0 the opposite."""

    sensor: str
    kind: str
    value: int
    room: str | None
    wall: datetime
    mono: float

    @property
    def is_activity(self) -> bool:
        return is_activity(self.kind, self.value)


@dataclass(frozen=True, slots=True)
class Row:
    """One sensor change from a CSV.

    ``at`` reads as the home's local wall clock (its time of day is the
    routine's); it carries the UTC offset the row was written with, if any, so
    that rows are ordered, and durations measured, by the real instant across a
    change to or from summer time. A file's timestamps all have an offset or none.
    """

    at: datetime
    sensor: str
    kind: str
    value: int
    room: str

    @property
    def is_activity(self) -> bool:
        return is_activity(self.kind, self.value)
