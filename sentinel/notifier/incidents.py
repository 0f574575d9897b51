"""What the circle does about each alert: escalate step by step, take claims and all-clears, tell the agent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sentinel.config.circle import HomeCircle, MemberConfig
from sentinel.core import protocol
from sentinel.notifier import arrival, decline, lastresort, messages, scene, street
from sentinel.notifier.capabilities import helpers_line, nearest
from sentinel.notifier.consent import counted_on
from sentinel.notifier.escalation import Progress, path, walk
from sentinel.notifier.followup import KIND as FOLLOW_UP
from sentinel.notifier.followup import FollowUps
from sentinel.notifier.notification import NOTE_LIMIT, tidy
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.store import Incident
from sentinel.notifier.tokens import FOLLOW_UP_ACTIONS, MEMBER_ACTIONS, Ack, check
from sentinel.text import clean

log = logging.getLogger(__name__)

NEVER = timedelta(days=36500)
_WHY = {False: "cannot go after all", True: "has not said they are there, nor answered"}
# How an alert closed is told: a quiet alert closed by the resident's call for help is not "all clear".
_CLOSED = {"help": ("called for help", "sos")}
_HOME_CLOSES = (("resident", "cancel"), ("resident", "help"), ("sensors", "resolve"))


class Incidents(Part):
    """The incidents of every home served: each call changes the store; the caller holds the transaction."""

    def __init__(self, shared: Shared, member_ack: Callable[[Ack], str | None] | None = None) -> None:
        super().__init__(shared)
        self._stuck: set[str] = set()  # incidents whose step failed (said once in the log)
        self._member_ack = member_ack  # presses about no incident: 'I agree', 'Received'
        follow_up = self.cfg.follow_up
        self.follow_ups = FollowUps(shared, follow_up, self._tell) if follow_up else None
        arrival.arm(self.store, self.cfg, self.clock.now())  # those going since before the notifier asked after them

    def escalate(self, now: datetime) -> None:
        """Take every incident's due step, and ask after each one going who has not said they are there."""
        for incident in self.store.arrivals_due(now):
            self._guarded(incident, now, self._overdue)
        for incident in self.store.due_incidents(now):
            self._guarded(incident, now, self._take_step)

    def _guarded(
        self, incident: Incident, now: datetime, act: Callable[[Incident, HomeCircle, datetime], None]
    ) -> None:
        home = self.homes.get(incident.home)
        if home is None:
            return
        # The notifications and the move on commit together: a crash between would notify everyone twice.
        try:
            with self.store.transaction():
                act(incident, home, now)
        except Exception:  # one incident that cannot go on must not stop the others
            if incident.alert_id not in self._stuck:
                self._stuck.add(incident.alert_id)
                log.exception("%s: could not take its next step; the others go on", incident.alert_id)

    def _overdue(self, incident: Incident, home: HomeCircle, now: datetime) -> None:
        """The one going has not said they are there: ask them, or (asked already) ask the others again."""
        member = incident.claimed_by
        assert member is not None
        if arrival.asked(self.store, incident):
            self._release(incident, home, member, self._name(member), now, silent=True)
            return
        log.warning("%s: %s has not said they are there; asking them", incident.alert_id, member)
        arrival.ask(self.cfg, self.store, self.secret, incident, home, now)
        self._wake()

    def _take_step(self, incident: Incident, home: HomeCircle, now: datetime) -> None:
        progress = Progress(incident.next_index, incident.next_at)
        agreed = counted_on(self.cfg, self.store, home.id)
        # Members whose own home has an open alert are not asked to go to others' (unless nobody else can be).
        troubled = street.troubled(self.cfg, self.store)
        cannot = decline.declined(self.store, incident.alert_id)  # said 'I can't go': not asked again
        first = nearest(self.cfg, home)
        taken = walk(self.cfg, home, incident.severity, progress, now, agreed, troubled, cannot, first)
        step, audience, after = taken.step, taken.audience, taken.progress
        if step is None:
            if after.next_index < len(path(home, incident.severity, first)):
                self._hold(incident, after)  # a low incident waits for someone to be available
                return
            if lastresort.wanted(home, incident) and lastresort.send(self.store, home, incident, now):
                self._wake()
            self.store.advance(incident.alert_id, after.next_index, now + NEVER)
            if not self.store.notified(incident.alert_id):  # a low one nobody could be asked for: it needs a human
                log.error("%s: nobody in %s's circle is available to be told", incident.alert_id, home.name)
                self.store.step(incident.alert_id, now, "nobody available")
            return
        for member_id in audience:
            member = self.cfg.member(member_id)
            helpers = helpers_line(self.cfg, home, member_id, now, troubled | cannot)
            body = messages.alert_note(self.cfg, home, member, incident, step, self.secret, now.timestamp(), helpers)
            self.store.deliver(incident.alert_id, home.id, member_id, body, now)
        what = "final call" if step.final else f"step {step.index + 1}"
        self.store.step(incident.alert_id, now, what, None, street.told(taken, agreed, now))
        log.info("%s %s: notifying %s", incident.alert_id, what, ", ".join(audience))
        if taken.despite_away:
            log.warning("%s: everyone in %s's circle is away: told all the same", incident.alert_id, home.name)
        if step.final:
            # After the final call comes only the last resort, a step later, if there is one.
            wait = timedelta(seconds=home.step) if lastresort.wanted(home, incident) else NEVER
            self.store.advance(incident.alert_id, after.next_index, now + wait)
        else:
            self.store.advance(incident.alert_id, after.next_index, after.next_at)
        self._wake()

    def _hold(self, incident: Incident, after: Progress) -> None:
        """Nobody can be asked now (a low incident at night): look again later, said once in the record."""
        self.store.advance(incident.alert_id, after.next_index, after.next_at)
        steps = self.store.steps(incident.alert_id)
        if not steps or steps[-1][1] != "waiting":
            self.store.step(incident.alert_id, self.clock.now(), "waiting", None, "nobody can be asked now")

    def press(self, message: dict[str, Any]) -> None:
        """A message on the ack topic: a button press, or anything else anyone posted there."""
        try:
            ack = Ack.parse(str(message.get("message", "")))
        except ValueError:
            log.warning("ignored a malformed button press: %.80s", message.get("message", ""))
        else:
            self.apply_ack(ack)
        finally:
            self.store.set_meta("ack_since", str(message["id"]))

    def apply_ack(self, ack: Ack) -> str | None:
        """Claim or resolve an incident from a signed button press; the refusal reason, or None."""
        if ack.action in FOLLOW_UP_ACTIONS and self.follow_ups is None:
            return self._refuse(ack, "follow-ups are off")
        if ack.action in MEMBER_ACTIONS and self._member_ack is not None:
            return self._member_ack(ack)
        now = self.clock.now()
        incident = self.store.incident(ack.alert_id)
        reason = check(self.secret, ack, now.timestamp())
        if reason is None and (incident is None or incident.home != ack.home):
            reason = "unknown alert"
        if reason is None and not self.store.use_token(ack.token, now):
            reason = "replayed token"
        if reason is not None:
            return self._refuse(ack, reason)
        assert incident is not None
        member = self.cfg.member(ack.member) if any(m.id == ack.member for m in self.cfg.members) else None
        name = member.name if member else ack.member
        home = self.homes[incident.home]
        self.store.log_member(now, home.id, ack.member, "pressed", f"{ack.action} {ack.alert_id}")
        if ack.action == "claim":
            self._claim(incident, home, ack.member, name, now)
        elif ack.action == "release" or (ack.action == "decline" and incident.claimed_by == ack.member):
            return self._release(incident, home, ack.member, name, now)  # the one going, on the alert's button
        elif ack.action == "decline":
            reason = decline.decline(self.store, incident, home, ack.member, name, now)
        elif ack.action in scene.WHAT:
            args = (incident, home, ack.member, name, ack.action, now)
            reason = scene.arrived(self.cfg, self.store, self.secret, self._tell, *args)
        elif ack.action in FOLLOW_UP_ACTIONS and self.follow_ups is not None:
            reason = self.follow_ups.answer(ack, incident, home, name, now)
        else:
            note = ack.note or f"{name} called: all OK"  # cleaned and cut as it came (``Ack.read``)
            self._close(incident, home, name, "resolve", note, now, skip=ack.member)
        if reason is not None:
            log.warning("refused a %s from %s for %s: %s", ack.action, ack.member, ack.alert_id, reason)
        self._wake()
        return reason

    def _refuse(self, ack: Ack, reason: str) -> str:
        """Say why a press was refused, in the log and in the incident's record (if there is one)."""
        log.warning("refused a %s from %s for %s: %s", ack.action, ack.member, ack.alert_id, reason)
        if self.store.incident(ack.alert_id) is not None:
            self.store.step(ack.alert_id, self.clock.now(), "refused", ack.member, f"{ack.action}: {reason}")
        return reason

    def _claim(self, incident: Incident, home: HomeCircle, member: str, name: str, now: datetime) -> None:
        if not self.store.claim(incident.alert_id, member, now):
            latest = self.store.incident(incident.alert_id)
            who = self._name(latest.claimed_by) if latest and latest.claimed_by else None
            text = f"{who} is already going." if who else "It is already resolved."
            self.store.deliver(
                incident.alert_id, home.id, member, messages.info_note(f"{home.name}: thank you", text), now
            )
            self._wake()
            return
        log.warning("%s: %s is going", incident.alert_id, name)
        self.store.step(incident.alert_id, now, "claimed", member)
        arrival.expect(self.store, home, incident, self._member(member), now)
        if any(m.id == member for m in self.cfg.members):
            body = messages.going_note(self.cfg, home, self.cfg.member(member), incident, self.secret, now.timestamp())
            self.store.deliver(incident.alert_id, home.id, member, body, now)
        title, text = f"{home.name}: {name} is going", f"{name} is on the way to {home.name}."
        self._tell(incident, home, title, text, now, skip=member, tags=("runner",))
        self._to_agent(incident, name, "claim", now)

    def _release(
        self, incident: Incident, home: HomeCircle, member: str, name: str, now: datetime, silent: bool = False
    ) -> str | None:
        """'I can't go after all' (``silent``: no word from them): the others are told; the walk goes on."""
        since = arrival.claimed_at(self.store, incident) or now
        if not self.store.release(incident.alert_id, member):
            reason = "already resolved" if incident.closed_at else "not the one going"
            self.store.step(incident.alert_id, now, "refused", member, f"release: {reason}")
            return reason
        log.warning("%s: %s %s; the circle is asked again", incident.alert_id, name, _WHY[silent])
        self.store.step(incident.alert_id, now, "released", member, arrival.SILENT if silent else "")
        steps = path(home, incident.severity, nearest(self.cfg, home))
        if incident.next_index >= len(steps):
            # Everyone had been called: call them all again, now, rather than leave nobody going.
            self.store.advance(incident.alert_id, len(steps) - 1, now)
        decline.tell_released(self.cfg, self.store, self.secret, incident, home, name, now, since if silent else None)
        self._to_agent(incident, name, "release", now)
        self._wake()
        return None

    def _close(
        self,
        incident: Incident,
        home: HomeCircle,
        who: str,
        what: str,
        note: str,
        now: datetime,
        skip: str | None = None,
        tell_agent: bool = True,
    ) -> None:
        if not self.store.close_incident(incident.alert_id, who, note, now):
            return
        log.warning("%s resolved by %s: %s", incident.alert_id, who, note)
        self.store.step(incident.alert_id, now, "resolved", skip, note)
        words, tag = _CLOSED.get(what, ("all clear", "white_check_mark"))
        self._tell(incident, home, f"{home.name}: {words}", note, now, skip=skip, tags=(tag,))
        if self.follow_ups is not None:
            self.follow_ups.closed(incident, incident.claimed_by or skip, now)
        if tell_agent:
            self._to_agent(incident, who, what, now, note)

    def mqtt_ack(self, home_id: str, alert_id: str, body: dict[str, Any]) -> None:
        """An ack on the agent's topic: the resident or the sensors closed it, or a signed press."""
        if body.get("source") == "notifier":
            return  # our own message to the agent
        if "token" in body:
            try:
                ack = Ack.read(body, home_id, alert_id)
            except ValueError:
                log.warning("ignored a malformed ack for %s", alert_id)
                return
            self.apply_ack(ack)
            return
        incident = self.store.incident(alert_id)
        who, what = clean(str(body.get("who")), 40), str(body.get("what"))  # compared below with known words
        if incident is None or incident.closed_at is not None or incident.home != home_id:
            return
        note = tidy(body["note"], NOTE_LIMIT) if isinstance(body.get("note"), str) else f"closed by the {who}"
        home, now = self.homes[home_id], self.clock.now()
        if who == "sensors" and what in ("resolve", "activity") and incident.claimed_by:
            # Someone is on the way: the movement may be theirs, not the resident's. Only they can say all is well.
            scene.ask_to_confirm(self.cfg, self.store, self.secret, incident, home, note, now)
        elif who == "sensors" and what == "activity":  # someone had said they were going: it may be them
            scene.moved_meanwhile(self.cfg, self.store, self._tell, incident, home, note, now)
        elif (who, what) in _HOME_CLOSES:
            self._close(incident, home, who, what, note, now, tell_agent=False)
        self._wake()

    def _to_agent(self, incident: Incident, who: str, what: str, now: datetime, note: str | None = None) -> None:
        """Tell the home's agent (and any other subscriber) what the circle did."""
        if incident.kind == FOLLOW_UP:
            return  # the circle's own follow-up: the agent never raised it
        at = now.isoformat(timespec="seconds")
        message = protocol.AckMessage(who, what, at, incident.alert_id, note, source="notifier")
        topic = f"{self.cfg.mqtt.base_topic}/{incident.home}/alert/{incident.alert_id}/ack"
        self._publish(topic, message.to_json())

    def _tell(
        self,
        incident: Incident,
        home: HomeCircle,
        title: str,
        text: str,
        now: datetime,
        skip: str | None = None,
        tags: tuple[str, ...] = ("information_source",),
    ) -> None:
        """An info notice to everyone who was alerted about this incident."""
        for member in self.store.notified(incident.alert_id):
            if member != skip:
                self.store.deliver(incident.alert_id, home.id, member, messages.info_note(title, text, tags), now)
        self._wake()

    def _name(self, member_id: str) -> str:
        member = self._member(member_id)
        return member.name if member is not None else member_id

    def _member(self, member_id: str) -> MemberConfig | None:
        return next((m for m in self.cfg.members if m.id == member_id), None)
