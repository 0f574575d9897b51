"""Is a home's monitor alive? A pure tracker of heartbeats and availability.

A monitor is down when it has said `offline` (or its broker said it for it, the
last will) for longer than its grace, or when nothing at all has been heard
from it for that long. It is back as soon as it speaks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Change:
    """A monitor went down, or came back."""

    home: str
    state: str  # "offline" or "online"
    since: datetime


class SilenceWatch:
    """Heartbeats and availability in, changes of a home's liveness out."""

    def __init__(self, grace: dict[str, float], states: dict[str, str], started: datetime) -> None:
        self.grace = {home: timedelta(seconds=s) for home, s in grace.items()}
        self.states = dict(states)  # what the circle was last told: "online" or "offline"
        self.started = started
        self.last_seen: dict[str, datetime] = {}
        self.availability: dict[str, tuple[str, datetime]] = {}
        # Nothing can change before this: checking thousands of homes on every loop would cost more
        # than the heartbeats themselves. Heartbeats only push deadlines later, so it stays a safe bound.
        self._next_check = started

    def heartbeat(self, home: str, at: datetime) -> None:
        self.last_seen[home] = at
        if self.states.get(home) == "offline":
            self._next_check = at  # it is back

    def announce(self, home: str, text: str, at: datetime) -> None:
        """The retained availability: 'online', or 'offline' (said by the agent or by its last will)."""
        self.availability[home] = (text, at)
        if text == "online":
            self.last_seen[home] = at
        self._next_check = min(self._next_check, at)

    def check(self, now: datetime) -> list[Change]:
        """The homes whose liveness changed, as of ``now``."""
        if now < self._next_check:
            return []
        changes = []
        next_check = now + max(self.grace.values(), default=timedelta(hours=1))
        for home, grace in self.grace.items():
            seen = self.last_seen.get(home, self.started)
            said, since = self.availability.get(home, ("", self.started))
            offline_at = since if said == "offline" else seen
            down = now - offline_at >= grace and (said == "offline" or now - seen >= grace)
            back = said != "offline" and now - seen < grace
            state = self.states.get(home, "online")
            if down and state == "online":
                self.states[home] = "offline"
                changes.append(Change(home, "offline", offline_at))
            elif back and state == "offline":
                self.states[home] = "online"
                changes.append(Change(home, "online", now))
            if self.states.get(home, "online") == "online":
                next_check = min(next_check, offline_at + grace)
        self._next_check = next_check
        return changes
