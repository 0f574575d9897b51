"""The home's status: a pure function of open alerts and the resident's mode.

Every change is a Flip with the old state, the new one and why, as healthchecks
records flips; publishing and storing consume flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# learning and checking arrive with learned inactivity detection.
State = Literal["ok", "alert", "away", "paused"]
Mode = Literal["home", "away", "paused"]
MODES: tuple[Mode, ...] = ("home", "away", "paused")


@dataclass(frozen=True, slots=True)
class Flip:
    """A change of status and its reason."""

    old: str
    new: str
    reason: str
    at: datetime


def derive(open_alerts: int, mode: Mode) -> State:
    """An open alert outranks everything; then the resident's mode."""
    if open_alerts:
        return "alert"
    if mode == "away":
        return "away"
    if mode == "paused":
        return "paused"
    return "ok"


def flip(current: str, open_alerts: int, mode: Mode, reason: str, at: datetime) -> Flip | None:
    """The flip from ``current`` to what the state should now be, if it differs."""
    new = derive(open_alerts, mode)
    return None if new == current else Flip(current, new, reason, at)
