"""History for Grafana: status, alerts, hourly activity per room and kit health, sent to InfluxDB's v2 write API.

Off by default (``history.enabled``). The agent's thread only builds a point (one line of InfluxDB's line protocol
with its own timestamp, ``lineprotocol.py``) and hands it over; a thread of its own (``history_writer.py``) keeps it
in the SQLite file, sends what waits there to ``/api/v2/write`` (each write within ``history.timeout`` in all),
and after a failure tries again after a growing pause. Every point carries its timestamp, so a point sent twice
overwrites itself: a replay changes nothing. The client library is imported by that thread only, so an agent
without history never loads it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sentinel.agent.history_writer import PointWriter
from sentinel.agent.lineprotocol import hour_of, line
from sentinel.clock import Clock
from sentinel.config.model import HistoryConfig
from sentinel.core.alerts import Alert
from sentinel.core.events import Event
from sentinel.core.status import Flip
from sentinel.store import Store

log = logging.getLogger(__name__)

STATES = {"ok": 0, "learning": 1, "away": 2, "paused": 3, "checking": 4, "alert": 5}
"""The status as a number (Grafana maps it back to words): the higher, the more a carer should look."""
KIT = ("uptime_s", "storage_ok", "outbox", "heartbeat_seq", "sensors_silent", "kit_faults")
"""The kit's health, as numbers: what the heartbeat tells the keepers."""
MEASUREMENTS = {
    "sentinel_status": ("code",),
    "sentinel_alert": ("raised", "closed", "open_s"),
    "sentinel_activity": ("count",),
    "sentinel_kit": KIT,
}
"""Every measurement written, and its fields (the dashboards in docs/grafana/ read only these)."""
OTHER = "other"
"""The room of a sensor given none: its own name must never leave the home."""
LABEL_MAX = 64
"""Characters of a room or home sent at most; a longer one is cut (a database may cut or refuse it otherwise)."""
KEEP_HOURS = timedelta(days=1)
"""How far from the current hour an hour's count is kept, to be added to if the clock is set back into it."""


def label(text: str) -> str:
    """A room or home as sent: at most ``LABEL_MAX`` characters."""
    return text[:LABEL_MAX]


def rooms_sent(rooms: Mapping[str, str | None]) -> dict[str, str]:
    """Each sensor's room as sent: ``OTHER`` for a sensor without one, and cut to ``LABEL_MAX``."""
    sent = {sensor: label((room or "").strip() or OTHER) for sensor, room in rooms.items()}
    for room in sorted({room for room in rooms.values() if room and len(room.strip()) > LABEL_MAX}):
        log.warning("history: the room %r is longer than %d characters; it is sent cut", room[:80], LABEL_MAX)
    return sent


class History(PointWriter):
    """Points for the history database: built on the agent's thread, stored and sent on a thread of their own."""

    def __init__(
        self,
        config: HistoryConfig,
        store: Store,
        home: str,
        rooms: Mapping[str, str | None],
        clock: Clock,
        keep_days: int,
    ) -> None:
        """``rooms``: the room each sensor's activity is counted in (every room gets a count each hour, 0 too)."""
        super().__init__(config, store, clock, keep_days)
        self.home = label(home)
        self.rooms = rooms_sent(rooms)
        self.hour: datetime | None = None  # the hour whose activity is being counted
        # Each recent hour's count: a clock set back into an hour adds to what was sent for it, never starts it over.
        self._hours: dict[datetime, Counter[str]] = {}
        self._kit_hour: datetime | None = None

    @property
    def counts(self) -> Counter[str]:
        """The activity counted so far in the current hour, per room."""
        assert self.hour is not None
        return self._hours.setdefault(self.hour, Counter())

    # on the agent's thread: each builds points and hands them over, nothing more
    def start(self, now: datetime) -> None:
        """Count this hour's activity so far from the store (the agent may have restarted) and start the writer."""
        self.hour = self._kit_hour = hour_of(now)
        for event in self.store.events(self.hour):
            if event.is_activity and event.sensor in self.rooms and hour_of(event.wall) == self.hour:
                self.counts[self.rooms[event.sensor]] += 1
        self._start_writer()

    def status(self, change: Flip) -> None:
        """A change of status: its number, never its reason."""
        self._put(line("sentinel_status", {"home": self.home}, {"code": STATES.get(change.new, -1)}, change.at))

    def raised(self, alert: Alert) -> None:
        """An alert was raised: its kind and severity, never its reason."""
        self._put(line("sentinel_alert", self._alert_tags(alert), {"raised": 1}, alert.raised_at))

    def closed(self, alert: Alert, at: datetime) -> None:
        """An alert was closed, and how long it was open."""
        open_s = round(max(0.0, (at - alert.raised_at).total_seconds()), 3)
        self._put(line("sentinel_alert", self._alert_tags(alert), {"closed": 1, "open_s": open_s}, at))

    def activity(self, event: Event) -> None:
        """Count a sign of life in its room's hour (a late one in the current hour)."""
        if not event.is_activity or event.sensor not in self.rooms:
            return
        hour = hour_of(event.wall)
        if self.hour is None or hour > self.hour:
            self._roll(hour)
        self.counts[self.rooms[event.sensor]] += 1

    def tick(self, wall: datetime, status: str, health: Callable[[], Mapping[str, int]]) -> None:
        """At each new hour: the last hour's activity per room, the status, and the kit's ``health()`` (numbers)."""
        hour = hour_of(wall)
        if hour != self.hour:  # forward, or back when NTP set the clock
            self._roll(hour)
        if hour != self._kit_hour:
            self._kit_hour = hour
            # The status again each hour, not only its changes: a graph then shows when the agent was not running.
            self._put(line("sentinel_status", {"home": self.home}, {"code": STATES.get(status, -1)}, hour))
            self._put(line("sentinel_kit", {"home": self.home}, {k: v for k, v in health().items() if k in KIT}, hour))

    def close(self) -> None:
        """Hand over this hour's count so far, stop the writer, and keep what it has not sent in the store."""
        if self.hour is not None:
            self._put_activity()  # a restart within the hour sends the whole hour again, over it
        self._stop_writer()

    def _alert_tags(self, alert: Alert) -> dict[str, str]:
        return {"home": self.home, "alert": alert.alert_id, "kind": alert.kind, "severity": alert.severity}

    def _roll(self, hour: datetime) -> None:
        if self.hour is not None:
            self._put_activity()
        self.hour = hour
        # An hour already counted (the clock was set back into it) goes on from its count, so what is sent again
        # for it is never less than what was sent before; hours a day away from this one are forgotten.
        self._hours = {h: c for h, c in self._hours.items() if abs(h - hour) <= KEEP_HOURS}

    def _put_activity(self) -> None:
        assert self.hour is not None
        for room in sorted(set(self.rooms.values())):
            self._put(
                line("sentinel_activity", {"home": self.home, "room": room}, {"count": self.counts[room]}, self.hour)
            )
