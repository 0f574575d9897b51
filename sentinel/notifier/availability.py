"""Away and back from the phone: members set their own ``away_until`` with signed buttons.

A note now and then (``availability``) offers 'Away until <Sunday>' buttons, or 'Back' to a member who is
away; the same note comes back after each press, so 'Back' is always at hand. The date a member sets is kept
in the store and counts as the config's ``away_until`` does (escalation, drills, circle-health), until the
organiser changes that member's ``away_until`` in the YAML: the newer word wins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.notifier import messages
from sentinel.notifier.escalation import circle_of
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.schedule import Schedule
from sentinel.notifier.store import Away, NotifierStore
from sentinel.notifier.tokens import Ack

log = logging.getLogger(__name__)


def away_until(member: MemberConfig, row: Away | None) -> str | None:
    """The member's away date: theirs from the phone, unless the YAML's has changed since they set it."""
    return row.over(member.away_until) if row is not None else member.away_until


def effective(cfg: CircleConfig, store: NotifierStore) -> CircleConfig:
    """The config with each member's away date as it stands (the phone's, or the YAML's)."""
    rows = store.away_rows()
    members = [replace(m, away_until=away_until(m, rows.get(m.id))) for m in cfg.members]
    return replace(cfg, members=members)


def choices(today: date) -> list[date]:
    """The dates a member may pick: the coming Sunday and the one after (away until then, back that day)."""
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    return [sunday, sunday + timedelta(days=7)]


class Availability(Part):
    """The availability note and its buttons; the caller holds the transaction."""

    def __init__(self, shared: Shared, changed: Callable[[CircleConfig], None]) -> None:
        super().__init__(shared)
        self._changed = changed  # the others see the new dates at once
        note = self.cfg.availability
        self.schedule = Schedule(self.store, "availability_next", note.at, note.every) if note else None

    def homes_of(self, member_id: str) -> list[HomeCircle]:
        return [h for h in self.cfg.homes if member_id in circle_of(h)]

    def tick(self, now: datetime) -> None:
        if self.schedule is not None and self.schedule.due(now):
            members = dict.fromkeys(m for h in self.cfg.homes for m in circle_of(h))
            for member_id in members:
                self.send(member_id, now)
            log.info("asked %d members whether they are around", len(members))

    def send(self, member_id: str, now: datetime) -> None:
        """The note with the buttons that fit: 'Back' while away, and dates to be away until."""
        member = self.cfg.member(member_id)
        until = away_until(member, self.store.away_rows().get(member_id))
        away = until if until and now.date().isoformat() < until else None
        home = self.homes_of(member_id)[0]  # the buttons' home slot: any of theirs will do
        body = messages.availability_note(self.cfg, home, member, away, choices(now.date()), self.secret, now)
        self.store.deliver(None, home.id, member_id, body, now)
        self._wake()

    def press(self, ack: Ack, now: datetime) -> str | None:
        """A genuine, unused 'Away until ...' or 'Back'; the refusal reason, or None."""
        if not any(m.id == ack.member for m in self.cfg.members) or not self.homes_of(ack.member):
            return "not a member of any circle"
        member = self.cfg.member(ack.member)
        if ack.action == "away":
            try:
                until: str | None = date.fromisoformat(ack.alert_id.removeprefix("away-")).isoformat()
            except ValueError:
                return "not an away date"
            how = f"tapped 'Away until {until}'"
        else:
            until, how = None, "tapped 'Back'"
        self.store.set_away(member.id, until, member.away_until, now, how)
        self.store.log_member(now, "", member.id, "away" if until else "back", until or "")
        log.info("%s %s", member.id, how)
        self._changed(effective(self.cfg, self.store))
        self.send(member.id, now)  # says what it did, with 'Back' (or the dates) at hand
        return None
