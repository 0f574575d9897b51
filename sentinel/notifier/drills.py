"""The drill: now and then every member gets a test notice with a signed 'Received' button.

A member who has not tapped it within ``answer_within`` is named to the keepers
of each home they look out for: a phone that no longer rings is the failure a
circle cannot see until the day it matters. Members who are away are not
drilled. The schedule is kept in the store and runs on the notifier's clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sentinel.config.circle import HomeCircle
from sentinel.config.rhythm import DrillConfig
from sentinel.notifier import messages
from sentinel.notifier.escalation import away, circle_of, keepers_of
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.schedule import Schedule, quiet_until
from sentinel.notifier.store import Drill, NotifierStore
from sentinel.notifier.tokens import Ack

log = logging.getLogger(__name__)


class Drills(Part):
    """Sends each drill, and names who did not answer; the caller holds the transaction."""

    def __init__(self, shared: Shared, drill: DrillConfig) -> None:
        super().__init__(shared)
        self.drill = drill
        self.schedule = Schedule(self.store, "drill_next", drill.at, drill.every)
        self.presses_read: Callable[[], bool] = lambda: True  # the button reader's ``judged``

    def tick(self, now: datetime) -> None:
        if self.schedule.due(now):
            self.send(now)
        # A "Received" made while the notifier was down may not be read yet: wait for the button reader to catch up
        # (``AckReader.judged``: or to have been unable to read for an hour, which is what a drill is there to show).
        missed = self.store.drills_missed(now) if self.presses_read() else []
        if missed:
            self._missed(missed, now)

    def homes_of(self, member_id: str) -> list[HomeCircle]:
        return [h for h in self.cfg.homes if member_id in circle_of(h)]

    def send(self, now: datetime) -> str:
        """A test notice to every member of any home who is not away; the drill's id."""
        drill_id = f"drill-{now:%Y%m%dT%H%M}"
        members = dict.fromkeys(m for h in self.cfg.homes for m in circle_of(h))
        for member_id in members:
            member = self.cfg.member(member_id)
            if away(member, now):
                self.store.log_member(now, "", member_id, "drill skipped", f"away until {member.away_until}")
                continue
            # A test is never urgent: in a member's quiet hours it waits for them to end, and so does the day to answer.
            at = quiet_until(member, now) or now
            answer_by = at + timedelta(seconds=self.drill.answer_within)
            if not self.store.drill_sent(drill_id, member_id, at, answer_by):
                continue  # already sent in this drill (a restart within the minute)
            home = self.homes_of(member_id)[0]  # the button's home slot: any of theirs will do
            body = messages.drill_note(self.cfg, home, member, drill_id, self.secret, at.timestamp(), answer_by)
            self.store.deliver(None, home.id, member_id, body, at)
            waits = f" at {at:%H:%M}, after their quiet hours" if at > now else ""
            self.store.log_member(now, "", member_id, "drill sent", drill_id + waits)
        log.info("drill %s: a test notice to %d members", drill_id, len(members))
        self._wake()
        return drill_id

    def _missed(self, drills: list[Drill], now: datetime) -> None:
        """Name the members who did not answer to the keepers of each of their homes (one notice per home)."""
        known = {m.id for m in self.cfg.members}
        for drill in drills:
            self.store.drill_missed(drill.drill_id, drill.member, now)
            self.store.log_member(now, "", drill.member, "drill missed", drill.drill_id)
            log.warning("%s did not answer the drill %s; telling the keepers", drill.member, drill.drill_id)
        for home in self.cfg.homes:
            mine = [d for d in drills if d.member in known and d.member in circle_of(home)]
            if not mine:
                continue
            names = [self.cfg.member(d.member).name for d in mine]
            note = messages.drill_missed_note(home, names, min(d.sent_at for d in mine))
            silent = {d.member for d in mine}
            for keeper in [k for k in keepers_of(home) if k not in silent] or keepers_of(home):
                self.store.deliver(None, home.id, keeper, note, now)
        self._wake()


def received(store: NotifierStore, ack: Ack, now: datetime) -> str | None:
    """A genuine, unused 'Received' press: the member's answer to a drill; the refusal reason, or None."""
    if store.drill_answered(ack.alert_id, ack.member, now) is None:
        return "no such drill for this member"
    log.info("%s answered the drill %s", ack.member, ack.alert_id)
    return None
