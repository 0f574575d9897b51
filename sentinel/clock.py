"""Clocks: wall time for time of day, monotonic time for durations.

A Pi has no real-time clock and its wall clock jumps when NTP syncs, so every
duration is measured on the monotonic clock. Tests and the demo inject clocks.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """What the agent needs to know about time."""

    def now(self) -> datetime:
        """Aware local wall-clock time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""

    def real_seconds(self, seconds: float) -> float:
        """How long to really wait for ``seconds`` of this clock to pass."""

    def boot(self) -> str:
        """Which run of the monotonic clock this is: its readings compare only within one boot."""


class SystemClock:
    """The machine's own clocks."""

    def now(self) -> datetime:
        return datetime.now().astimezone()

    def monotonic(self) -> float:
        return time.monotonic()

    def real_seconds(self, seconds: float) -> float:
        return seconds

    def boot(self) -> str:
        # Linux's monotonic clock starts again at every boot; the kernel names each boot.
        try:
            return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except OSError:
            return ""  # unknown: never taken for the same boot


class ManualClock:
    """A clock that only moves when told to; for tests at exact boundaries."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._boot = uuid.uuid4().hex  # a clock of its own: its monotonic readings are its own

    def boot(self) -> str:
        return self._boot

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return 1000.0 + self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self._elapsed += seconds

    def jump(self, seconds: float) -> None:
        """Move the wall clock alone, as NTP does to a Pi without a real-time clock."""
        with self._lock:
            self._start += timedelta(seconds=seconds)

    def advance_to(self, when: datetime) -> None:
        """Move time forward to ``when`` (never back)."""
        with self._lock:
            self._elapsed = max(self._elapsed, (when - self._start).total_seconds())

    def real_seconds(self, seconds: float) -> float:
        # Nothing happens by waiting on a manual clock; poll briefly instead.
        return min(seconds, 0.01)


class ScaledClock:
    """A clock that runs ``speed`` times faster than real time (the demo's)."""

    def boot(self) -> str:
        return self._boot

    def __init__(self, start: datetime, speed: float) -> None:
        self._boot = uuid.uuid4().hex
        self._start = start
        self._speed = speed
        self._real0 = time.monotonic()
        self._base = 0.0  # simulated seconds before the last change of speed
        self._lock = threading.Lock()

    def _elapsed(self) -> float:
        with self._lock:
            return self._base + (time.monotonic() - self._real0) * self._speed

    def set_speed(self, speed: float) -> None:
        """Run faster or slower from now on, without a jump."""
        with self._lock:
            now = time.monotonic()
            self._base += (now - self._real0) * self._speed
            self._real0, self._speed = now, speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed())

    def monotonic(self) -> float:
        return 1000.0 + self._elapsed()

    def real_seconds(self, seconds: float) -> float:
        return seconds / self._speed

    def sleep_until(self, when: datetime) -> None:
        """Sleep in real time until this clock reads ``when``."""
        delta = (when - self.now()).total_seconds()
        if delta > 0:
            time.sleep(delta / self._speed)
