"""The circle's rhythm around the emergencies: consent, drills, the keepers' weekly note, and checking in.

The main loop calls ``tick`` after each round; button presses that are not about
an incident ('I agree', 'Received') come here, checked and recorded like the
others: a forged, expired or replayed one is refused and written to the
member's record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sentinel.config.circle import CircleConfig
from sentinel.notifier import messages
from sentinel.notifier.availability import Availability
from sentinel.notifier.checkin import CheckIns
from sentinel.notifier.consent import Consent
from sentinel.notifier.daily import Daily
from sentinel.notifier.drills import Drills, received
from sentinel.notifier.escalation import keepers_of
from sentinel.notifier.health import gather
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.schedule import Schedule
from sentinel.notifier.tokens import Ack, check

log = logging.getLogger(__name__)

TICK = timedelta(seconds=30)  # everything here is measured in hours and days: no need to look twice a second


class Rhythm(Part):
    """Consent, drills and the weekly note, for every home served."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self.consent = Consent(shared)
        self.drills = Drills(shared, self.cfg.drill) if self.cfg.drill else None
        report = self.cfg.health_report
        self.report = Schedule(self.store, "health_next", report.at, report.every) if report else None
        self._next_tick: datetime | None = None
        # Checking in: the resident's phone, members' daily notes, away and back from the phone.
        self.checkins = CheckIns(shared)
        self.daily = Daily(shared, self.checkins)
        self.availability = Availability(shared, self.away_changed)
        self.on_away: Callable[[CircleConfig], None] | None = None  # escalation takes the new away dates

    def away_changed(self, cfg: CircleConfig) -> None:
        """Members' away dates changed (from their phones): ``cfg`` carries them as they stand now."""
        if self.drills is not None:
            self.drills.cfg = cfg
        if self.on_away is not None:
            self.on_away(cfg)

    def tick(self, now: datetime) -> None:
        """Whatever is due now: asks, reminders, a drill, names of the silent, the weekly note."""
        if self._next_tick is not None and now < self._next_tick:
            return
        self._next_tick = now + TICK
        with self.store.transaction():
            self.consent.tick(now)
        if self.drills is not None:
            with self.store.transaction():
                self.drills.tick(now)
        if self.report is not None:
            with self.store.transaction():
                if self.report.due(now):
                    self.weekly(now)
        for part in (self.checkins, self.daily, self.availability):
            with self.store.transaction():
                part.tick(now)

    def weekly(self, now: datetime) -> None:
        """The keepers' note on each home's circle."""
        members = gather(self.cfg, self.store)
        for home in self.cfg.homes:
            note = messages.health_note(self.cfg, home, members, now)
            for keeper in keepers_of(home):
                self.store.deliver(None, home.id, keeper, note, now)
        log.info("sent the keepers' weekly note on their circles")
        self._wake()

    def apply_ack(self, ack: Ack) -> str | None:
        """An 'I agree' or 'Received' press; the refusal reason, or None. The caller holds the transaction."""
        now = self.clock.now()
        reason = check(self.secret, ack, now.timestamp())
        if reason is None and not self.store.use_token(ack.token, now):
            reason = "replayed token"
        if reason is None:
            reason = self._answer(ack, now)
        detail = f"{ack.action} {ack.alert_id:.60}"
        if reason is not None:
            log.warning("refused a %s from %.40s for %.60s: %s", ack.action, ack.member, ack.alert_id, reason)
            self.store.log_member(now, ack.home[:40], ack.member[:40], "refused", f"{detail}: {reason}")
            if reason == "expired token" and ack.action == "agree":
                # Genuine (signed for them) but old: they want to agree, so the button comes again, fresh.
                self.consent.ask_again(ack.home, ack.member, now)
            return reason
        self.store.log_member(now, ack.home, ack.member, "pressed", detail)
        return None

    def _answer(self, ack: Ack, now: datetime) -> str | None:
        """A checked press, to the part it answers; the refusal reason, or None."""
        if ack.action == "agree":
            return self.consent.agree(ack, now)
        if ack.action == "received":
            return received(self.store, ack, now)
        if ack.action in ("ok", "ok_today"):
            return self.checkins.press(ack, now)
        return self.availability.press(ack, now)
