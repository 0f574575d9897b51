"""A daily note to members who ask for it: how each of their homes is today, in one line each.

Only what the circle already knows: the home's status now (all well, asking, an alert, away), today's alerts,
the last movement the monitor reported in its status (asked for again just before the note), and whether the
resident said 'I'm OK'; and, when the
resident also agreed to share their day (``share_day`` on the agent), when they got up and were out. Never
which rooms, never a list of visits. A home sends it only with ``daily_note: true`` (the resident agreed), a member
gets it only with ``daily: "HH:MM"`` (they asked).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sentinel.config.circle import HomeCircle, MemberConfig
from sentinel.config.rhythm import DAY
from sentinel.notifier import messages
from sentinel.notifier.checkin import CheckIns
from sentinel.notifier.escalation import circle_of
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.schedule import Schedule

log = logging.getLogger(__name__)

# The homes are asked for their status this long before a note: an agent publishes it only when something changes
# (it would else be a timeline of the resident's day), so the last movement it carried could be hours old.
ASK_AHEAD_MIN = 2


def ahead(clock_time: str, minutes: int = ASK_AHEAD_MIN) -> str:
    """The time of day ``minutes`` before ``clock_time`` (HH:MM; '00:01' less 2 is '23:59')."""
    hour, minute = (int(part) for part in clock_time.split(":"))
    at = (hour * 60 + minute - minutes) % (24 * 60)
    return f"{at // 60:02d}:{at % 60:02d}"


class Daily(Part):
    """Each member's daily note at their own time; the caller holds the transaction."""

    def __init__(self, shared: Shared, checkins: CheckIns) -> None:
        super().__init__(shared)
        self.checkins = checkins
        self.schedules = {
            m.id: Schedule(self.store, f"daily:{m.id}", m.daily, DAY)
            for m in self.cfg.members
            if m.daily and self.homes_of(m)
        }
        self.asks = {
            member_id: Schedule(self.store, f"daily-ask:{member_id}", ahead(schedule.clock_time), DAY)
            for member_id, schedule in self.schedules.items()
        }

    def homes_of(self, member: MemberConfig) -> list[HomeCircle]:
        """The homes whose note this member gets: in their circle, and the resident agreed to a daily note."""
        return [h for h in self.cfg.homes if h.daily_note and member.id in circle_of(h)]

    def tick(self, now: datetime) -> None:
        for member_id, ask in self.asks.items():
            if ask.due(now):
                self.ask_status(self.homes_of(self.cfg.member(member_id)))
        for member_id, schedule in self.schedules.items():
            if schedule.due(now):
                self.send(self.cfg.member(member_id), now)

    def ask_status(self, homes: list[HomeCircle]) -> None:
        """Ask each home's agent to publish its status again (``cmd/status``), so the note says how it is now."""
        for home in homes:
            self._publish(f"{self.cfg.mqtt.base_topic}/{home.id}/cmd/status", json.dumps({"who": "the daily note"}))

    def send(self, member: MemberConfig, now: datetime) -> None:
        """One note, one line per home."""
        homes = self.homes_of(member)
        body = messages.daily_note([h.name for h in homes], [self.safe_line(h, now) for h in homes])
        self.store.deliver(None, homes[0].id, member.id, body, now)
        self.store.log_member(now, "", member.id, "daily note", ", ".join(h.id for h in homes))
        log.info("daily note to %s on %s", member.id, ", ".join(h.name for h in homes))
        self._wake()

    def safe_line(self, home: HomeCircle, now: datetime) -> str:
        """``line``; should what a home shares of its day make that fail, the line without it (the rest is ours)."""
        try:
            return self.line(home, now)
        except Exception:  # one home's odd status must not stop every member's note, day after day
            log.exception("the day %s shares could not be put in words; the note leaves it out", home.id)
            return self.line(home, now, day=False)

    def line(self, home: HomeCircle, now: datetime, day: bool = True) -> str:
        """How ``home`` is today, in words; ``day``: with the resident's up and outings, if the home shares them."""
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        seen = self.checkins.latest.get(home.id)
        known = self.store.home_state(home.id)
        offline = known[1] if known and known[0] == "offline" else None
        alerts = [
            (i.kind, i.raised_at.astimezone(now.tzinfo), i.closed_at is not None)
            for i in self.store.incidents()
            if i.home == home.id and i.raised_at >= start
        ]
        moved = seen.last_activity if seen and seen.last_activity and seen.last_activity >= start else None
        said = self.checkins.checked_in_today(home.id, now)
        # The home's day, if it shares it: only today's (an outing back today may have begun the day before);
        # a time ahead of the note is not believed.
        up = seen.up if day and seen and seen.up and start <= seen.up <= now else None
        out = [(left, back) for left, back in (seen.out if day and seen else ()) if start <= back <= now]
        return messages.daily_line(
            home.name,
            seen.state if seen else None,
            offline.astimezone(now.tzinfo) if offline else None,
            alerts,
            moved.astimezone(now.tzinfo) if moved else None,
            said.astimezone(now.tzinfo) if said else None,
            up=up.astimezone(now.tzinfo) if up else None,
            out=[(left.astimezone(now.tzinfo), back.astimezone(now.tzinfo)) for left, back in out],
            today=now.date(),
        )
