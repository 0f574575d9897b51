"""Immutable records of what the sensors saw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The kinds of the event CSV; the GPIO agent produces motion, door and button.
KINDS = ("motion", "door", "contact", "pressure", "power", "flush", "button")


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
        """Every change is a sign of life except a PIR going quiet (its own timer)."""
        return not (self.kind == "motion" and self.value == 0)
