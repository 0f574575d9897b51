"""Where the person last was, as the routine names it: a sensor, its value, and the front door coming in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

BACK = " back"  # added to the front door's context when it closes an outing: the resident is coming in


def arrival(context: str) -> bool:
    """Whether ``context`` is the front door closing an outing (coming in)."""
    return context.endswith(BACK)


def sensor_of(context: str) -> str:
    """The sensor named in a context."""
    return context.removesuffix(BACK).split(":")[0]


def parts(context: str) -> tuple[str, str]:
    """The sensor and the value named in a context (no value, "", for a motion sensor's)."""
    sensor, _, value = context.removesuffix(BACK).partition(":")
    return sensor, value


def context_of(sensor: str, kind: str, value: int) -> str:
    """Where the person last was: the sensor, with its value for two-state sensors."""
    return sensor if kind == "motion" else f"{sensor}:{value}"


@dataclass(frozen=True, slots=True)
class Sign:
    """A sign of life: where a spell begins, or a possible stray after the door."""

    at: datetime
    context: str
    learn: bool
