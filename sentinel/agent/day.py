"""Today's "up" and outings for the status, only with ``home.share_day`` (the resident agreed to share them).

The summary itself is pure (``sentinel.detect.day``); here it is rebuilt from the stored events at start,
so a restart does not forget the morning, and its times are put as the status carries them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sentinel.agent.base import iso
from sentinel.core.events import Event
from sentinel.core.protocol import MAX_OUTINGS
from sentinel.detect.day import DaySummary, day_of, day_start
from sentinel.store import Store

log = logging.getLogger(__name__)


class DayShare:
    """The day summary the agent keeps while ``share_day`` is on."""

    def __init__(self, store: Store, now: datetime) -> None:
        self.summary = DaySummary()
        self.rebuild(store, now)

    def rebuild(self, store: Store, now: datetime) -> None:
        """Today so far, from the events stored since the day before began (an outing may have begun then).

        Rows stamped after ``now`` are left out: they were stamped by a clock that was wrong then (a Pi
        without a real-time clock, before NTP) and would hold the summary on a day that has not come.
        """
        since = day_start(day_of(now) - timedelta(days=1), now)
        try:
            for event in store.stream_events(since, until=now):
                self.summary.feed(event)
        except Exception as exc:  # the day is a courtesy to the circle: it must never stop the monitor
            log.error("could not read today's events for the day summary (%s: %s)", type(exc).__name__, exc)
        self.summary.tick(now)

    def feed(self, event: Event) -> bool:
        """An event as it happens; whether the status must say something new."""
        try:
            return self.summary.feed(event)
        except Exception as exc:  # e.g. a stored time without its UTC offset: start the day afresh
            return self._failed(exc)

    def tick(self, now: datetime) -> bool:
        """Time passing; whether the status must say something new (a new day)."""
        try:
            return self.summary.tick(now)
        except Exception as exc:
            return self._failed(exc)

    def _failed(self, exc: Exception) -> bool:
        log.error("the day summary failed (%s: %s); it starts afresh", type(exc).__name__, exc)
        self.summary = DaySummary()
        return True

    def up(self) -> str | None:
        return iso(self.summary.up)

    def out(self) -> list[list[str]]:
        """The day's outings, the latest ``MAX_OUTINGS``, as the status carries them."""
        return [[_iso(left), _iso(back)] for left, back in self.summary.outings[-MAX_OUTINGS:]]


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
