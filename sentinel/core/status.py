"""The home's status: a pure function of open alerts and the resident's mode.

Every change is a Flip with the old state, the new one and why, as healthchecks
records flips; publishing and storing consume flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

State = Literal["ok", "learning", "checking", "alert", "away", "paused"]
Mode = Literal["home", "away", "paused"]
MODES: tuple[Mode, ...] = ("home", "away", "paused")


@dataclass(frozen=True, slots=True)
class Flip:
    """A change of status and its reason."""

    old: str
    new: str
    reason: str
    at: datetime


def derive(open_alerts: int, mode: Mode, checking: bool = False, learning: bool = False) -> State:
    """An open alert outranks everything; then asking the resident; then the resident's mode."""
    if open_alerts:
        return "alert"
    if checking:
        return "checking"
    if mode == "away":
        return "away"
    if mode == "paused":
        return "paused"
    return "learning" if learning else "ok"


def flip(
    current: str,
    open_alerts: int,
    mode: Mode,
    reason: str,
    at: datetime,
    checking: bool = False,
    learning: bool = False,
) -> Flip | None:
    """The flip from ``current`` to what the state should now be, if it differs."""
    new = derive(open_alerts, mode, checking, learning)
    return None if new == current else Flip(current, new, reason, at)
