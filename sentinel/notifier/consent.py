"""Joining is consent: each member of a home's circle is asked to tap 'I agree' before they are counted on.

A member is met the first time the notifier sees them in a home's circle. With
``consent: required`` they are sent a signed 'I agree' button, reminded at most
once a week until they tap it, and the home's keepers are told once if they
have not after a day. Members of a database that was in use before members
were asked are taken as having agreed: they were already counted on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sentinel.config.circle import CircleConfig, HomeCircle
from sentinel.notifier import messages
from sentinel.notifier.escalation import circle_of, keepers_of
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.store import NotifierStore
from sentinel.notifier.tokens import Ack

log = logging.getLogger(__name__)

REMIND_EVERY = timedelta(days=7)  # a member who has not agreed is asked again at most this often
ASK_AGAIN_AFTER = timedelta(hours=1)  # an expired 'I agree' pressed brings a fresh one, at most this often
TELL_KEEPERS_AFTER = timedelta(days=1)  # then the keepers hear of it, once per member
FROM_BEFORE = "in the circle before members were asked"


class Consent(Part):
    """Who has agreed to be counted on, per home; each call changes the store (the caller holds the transaction)."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self._met = False

    def meet(self, now: datetime) -> None:
        """Note every member of every home the first time; those of a database from before consent have agreed."""
        from_before = self.store.get_meta("consent_from_before") == "1"
        met = self.store.met()  # at a restart, everyone: 10,000 homes are not each asked again
        for home in self.cfg.homes:
            for member in circle_of(home):
                if (home.id, member) in met:
                    continue
                agreed = now if from_before else None
                if self.store.meet(home.id, member, agreed, FROM_BEFORE if from_before else ""):
                    self.store.log_member(now, home.id, member, "met", FROM_BEFORE if from_before else "")
        if from_before:
            self.store.set_meta("consent_from_before", "")
            log.info("members of the circles from before consent was asked are taken as having agreed")
        self._met = True

    def tick(self, now: datetime) -> None:
        """Ask who has not been asked, remind who has not agreed in a week, tell keepers once."""
        if not self._met:
            self.meet(now)
        if self.cfg.consent != "required":
            return
        late: dict[str, list[tuple[str, datetime]]] = {}
        for (home_id, member_id), row in self.store.consent_rows().items():
            home = self.homes.get(home_id)
            if home is None or member_id not in circle_of(home) or row.agreed_at is not None:
                continue  # a home or member no longer in the config is neither asked nor counted
            if row.reminded_at is None or now - row.reminded_at >= REMIND_EVERY:
                self._ask(home, member_id, now, again=row.asked_at is not None)
            if row.asked_at and row.keepers_told_at is None and now - row.asked_at >= TELL_KEEPERS_AFTER:
                late.setdefault(home_id, []).append((member_id, row.asked_at))
        for home_id, members in late.items():
            self._tell_keepers(self.homes[home_id], members, now)

    def _ask(self, home: HomeCircle, member_id: str, now: datetime, again: bool) -> None:
        member = self.cfg.member(member_id)
        body = messages.consent_note(self.cfg, home, member, self.secret, now.timestamp(), again)
        self.store.deliver(None, home.id, member_id, body, now)
        self.store.asked(home.id, member_id, now)
        self.store.log_member(now, home.id, member_id, "reminded" if again else "asked")
        log.info("asking %s to agree to look out for %s%s", member_id, home.name, " (again)" if again else "")
        self._wake()

    def _tell_keepers(self, home: HomeCircle, members: list[tuple[str, datetime]], now: datetime) -> None:
        names = [self.cfg.member(m).name for m, _ in members]
        note = messages.not_agreed_note(home, names, min(at for _, at in members))
        for keeper in keepers_of(home):
            self.store.deliver(None, home.id, keeper, note, now)
        for member_id, _ in members:
            self.store.keepers_told(home.id, member_id, now)
        log.warning("%s's circle: %s not agreed yet; the keepers are told", home.name, ", ".join(names))
        self._wake()

    def ask_again(self, home_id: str, member_id: str, now: datetime) -> None:
        """A member pressed an 'I agree' that had expired: a fresh one, unless one went out within the hour."""
        home = self.homes.get(home_id)
        row = self.store.consent_rows().get((home_id, member_id))
        if home is None or row is None or row.agreed_at is not None or member_id not in circle_of(home):
            return
        if row.reminded_at is not None and now - row.reminded_at < ASK_AGAIN_AFTER:
            return
        self._ask(home, member_id, now, again=True)

    def agree(self, ack: Ack, now: datetime) -> str | None:
        """A genuine, unused 'I agree' press; the refusal reason, or None."""
        home = self.homes.get(ack.home)
        if home is None or ack.alert_id != messages.join_id(home.id) or ack.member not in circle_of(home):
            return "not a member of that circle"
        if self.store.agree(home.id, ack.member, now, "tapped 'I agree'"):
            log.info("%s agreed to look out for %s", ack.member, home.name)
            self.store.deliver(None, home.id, ack.member, messages.agreed_note(home), now)
            self._wake()
        return None


def counted_on(cfg: CircleConfig, store: NotifierStore, home_id: str) -> frozenset[str] | None:
    """Who of a home has agreed to be counted on; None when everyone is (``consent: assumed``)."""
    return frozenset(store.agreed(home_id)) if cfg.consent == "required" else None
