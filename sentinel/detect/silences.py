"""Which sensors have gone silent, counted sign by sign as the tracker follows the spells (``silent.py`` judges)."""

from __future__ import annotations

import math
from datetime import datetime

from sentinel.detect.silent import SilentSensor, Usual, told_silent


class Silences:
    """The moves from sensor to sensor, and the sensors silent far beyond their usual gaps for as many moves."""

    def __init__(self) -> None:
        # Sensors that stopped reporting: the routine is relearned as if they had never been there.
        self.silent: set[str] = set()
        self._unjudged: set[str] = set()  # silence says nothing of the kit: the front door, kinds used now and then
        self._moves = 0  # signs of life of another sensor than the one before (``silent.py``: silences judged by)
        self._moved_from: str | None = None
        self._last_sign: dict[str, tuple[int, datetime]] = {}  # per sensor: the count and time of its last
        self.usual: dict[str, Usual] = {}  # per sensor, from the window at the last refit
        self._next_check = math.inf  # the count at which some sensor would have been silent too long

    def _watch_sensors(self, sensor: str, at: datetime, judged: bool) -> bool:
        """Count this sign of life; True when a sensor has just been found silent, or has come back."""
        self._moves, self._moved_from = self._moves + (self._moved_from != sensor), sensor
        self._last_sign[sensor] = (self._moves, at)
        back = sensor in self.silent
        self.silent.discard(sensor)
        if not judged:
            self._unjudged.add(sensor)
        if self._moves < self._next_check:
            return back
        found = {
            name
            for name, usual in self.usual.items()
            if name not in self._unjudged
            and usual.silent(self._moves - self._last_sign[name][0], (at - self._last_sign[name][1]).total_seconds())
        }
        self.silent |= found
        self._plan_check()
        return back or bool(found)

    def _plan_check(self) -> None:
        """The next count of moves at which a sensor still reporting could be found silent."""
        limits = [
            self._last_sign[name][0] + usual.busy
            for name, usual in self.usual.items()
            if name in self._last_sign and name not in self.silent and name not in self._unjudged
        ]
        self._next_check = math.floor(min(limits)) + 1 if limits else math.inf

    def silent_sensors(self, now: datetime) -> list[SilentSensor]:
        """The sensors found silent far beyond their usual gaps (a kit fault: tell the keepers)."""
        return told_silent(self.silent, self.usual, self._last_sign, self._moves, now)
