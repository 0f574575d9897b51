"""Messages that cannot be used are parked, once each, and their home's keepers told at most hourly."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sentinel.notifier import messages
from sentinel.notifier.part import Part, Shared

log = logging.getLogger(__name__)

FLOOD_PER_MINUTE = 20  # unreadable messages a minute from one home that are each kept; more are only counted
TELL_PARKED_EVERY = timedelta(hours=1)  # the keepers hear of unreadable messages at most this often per home


@dataclass(slots=True)
class Flood:
    """Unreadable messages from one home: how many lately, and when the keepers were last told."""

    recent: deque[datetime] = field(default_factory=deque)
    skipped: int = 0
    told_at: datetime | None = None

    def heavy(self, now: datetime) -> bool:
        """Whether this one is past the minute's allowance (it is counted either way)."""
        while self.recent and now - self.recent[0] > timedelta(minutes=1):
            self.recent.popleft()
        self.recent.append(now)
        return len(self.recent) > FLOOD_PER_MINUTE

    def may_tell(self, now: datetime) -> bool:
        if self.told_at is not None and now - self.told_at < TELL_PARKED_EVERY:
            return False
        self.told_at = now
        return True


class Parking(Part):
    """Where unreadable messages go; called on paho's thread only (the floods are its own)."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self._floods: dict[str | None, Flood] = {}  # per home: unreadable messages lately

    def park(self, topic: str, home: str | None, payload: bytes, error: str) -> None:
        """Keep a message that cannot be used, and tell the home's keepers (at most hourly), whatever comes again.

        A flood of junk is counted, not kept one by one: it must not bury the next real alert behind it.
        """
        now = self.clock.now()
        flood = self._floods.setdefault(home, Flood())
        if flood.heavy(now):
            flood.skipped += 1
            if flood.skipped == 1 or flood.skipped % 1000 == 0:
                log.warning("%s: %d unreadable messages in a flood are counted, not kept", home, flood.skipped)
            return
        error = error.encode("utf-8", "backslashreplace").decode("utf-8")[:300]  # it is shown and stored
        if flood.skipped:
            error = f"{error} (and {flood.skipped} more in a flood before it)"
            flood.skipped = 0
        with self.store.transaction():
            if not self.store.park(topic, home, payload, error, now):
                log.warning("ignored a message on %.120s again (%s); it was parked before", topic, error)
                return
            log.warning("ignored a message on %.120s that cannot be read (%s); it is parked", topic, error)
            circle = self.homes.get(home) if home else None
            if circle is None or not flood.may_tell(now):
                return
            what = "an answer to an alert" if topic.endswith("/ack") else "an alert"
            note = messages.parked_note(circle.name, what, error, now)
            for member in circle.kit or circle.tiers[0]:
                self.store.deliver(None, circle.id, member, note, now)
        self._wake()
