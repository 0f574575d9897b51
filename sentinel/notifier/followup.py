"""Following up: the morning after an incident, the one who went is asked how the resident is.

Their answer (fine / needs help / call me) is kept on the incident and told to
those who were alerted, in one line. "Needs help" opens a follow-up the circle
can claim like an alert, at low priority: it waits for quiet hours to end and
wakes nobody. "Call me" asks the keepers and those told to ring them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sentinel.config.circle import HomeCircle
from sentinel.config.rhythm import FollowUpConfig
from sentinel.notifier import messages
from sentinel.notifier.escalation import LOW, keepers_of
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.schedule import next_at, quiet_until
from sentinel.notifier.store import Incident
from sentinel.notifier.tokens import Ack

log = logging.getLogger(__name__)

KIND = "follow_up"
# "The next morning": the first such time at least this long after the close, so an incident closed at
# 08:50 is asked about the day after, and one closed at 02:00 the same morning.
AT_LEAST = timedelta(hours=4)
SUFFIX = "-follow-up"

Tell = Callable[..., None]  # Incidents._tell: an info notice to everyone alerted about an incident


class FollowUps(Part):
    """Schedules the question, asks it when due, and takes the answer; the caller holds the transaction."""

    def __init__(self, shared: Shared, follow_up: FollowUpConfig, tell: Tell) -> None:
        super().__init__(shared)
        self.follow_up = follow_up
        self._tell = tell

    def closed(self, incident: Incident, member: str | None, now: datetime) -> None:
        """An incident closed: ask ``member`` (who went, or who resolved it) the next morning."""
        if incident.kind == KIND or member is None or not any(m.id == member for m in self.cfg.members):
            return
        due = next_at(now + AT_LEAST, self.follow_up.at)
        due = quiet_until(self.cfg.member(member), due) or due  # never in their quiet hours: after them
        if self.store.follow_up(incident.alert_id, incident.home, member, due):
            self.store.step(incident.alert_id, now, "follow-up planned", member, f"{due:%a %d %b %H:%M}")

    def tick(self, now: datetime) -> None:
        """Ask every question that is due."""
        for due in self.store.follow_ups_due(now):
            incident = self.store.incident(due.alert_id)
            home = self.cfg.home(due.home)
            self.store.follow_up_asked(due.alert_id, now)
            if incident is None or home is None or not any(m.id == due.member for m in self.cfg.members):
                continue  # the home or member has left the circle since
            member = self.cfg.member(due.member)
            body = messages.follow_up_ask_note(self.cfg, home, member, incident, self.secret, now.timestamp())
            self.store.deliver(incident.alert_id, home.id, member.id, body, now)
            self.store.step(incident.alert_id, now, "follow-up asked", member.id)
            log.info("%s: asking %s how %s is today", incident.alert_id, member.id, home.name)
            self._wake()

    def answer(self, ack: Ack, incident: Incident, home: HomeCircle, name: str, now: datetime) -> str | None:
        """A genuine, unused answer; the refusal reason, or None."""
        if not self.store.follow_up_answered(incident.alert_id, ack.member, ack.action, now):
            asked = self.store.follow_up_of(incident.alert_id)
            reason = "already answered" if asked and asked.member == ack.member else "not asked of this member"
            self.store.step(incident.alert_id, now, "refused", ack.member, f"{ack.action}: {reason}")
            return reason
        said = messages.follow_up_said(home, name, ack.action)
        self.store.step(incident.alert_id, now, "follow-up answered", ack.member, said)
        log.warning("%s: %s", incident.alert_id, said)
        title = f"How {home.name} is today"  # the answer to "How is Mary today?"; not the daily note
        if ack.action == "call_me":
            # Whoever asked may have left the YAML since: the call is still asked for, without their number.
            caller = next((m for m in self.cfg.members if m.id == ack.member), None)
            # The keepers as well as those told: whoever can ring back soonest.
            for other in dict.fromkeys([*keepers_of(home), *self.store.notified(incident.alert_id)]):
                if other != ack.member:
                    note = messages.call_me_note(home, caller, name, said)
                    self.store.deliver(incident.alert_id, home.id, other, note, now)
            self._wake()
            return None
        self._tell(incident, home, title, said, now, skip=ack.member, tags=("seedling",))
        if ack.action == "needs_help":
            self._open(incident, home, name, now)
        return None

    def _open(self, incident: Incident, home: HomeCircle, name: str, now: datetime) -> None:
        """A follow-up the circle can claim like an alert, at low priority."""
        alert_id = f"{incident.alert_id}{SUFFIX}"
        reason = f"{name} says {home.name} needs some help today, after yesterday's alert."
        alert = {"alert_id": alert_id, "kind": KIND, "severity": LOW, "reason": reason, "raised_at": now.isoformat()}
        if self.store.open_incident(alert, home.id, now):
            self.store.step(incident.alert_id, now, "follow-up opened", None, alert_id)
            self._wake()
