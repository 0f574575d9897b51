"""The home's decisions: readings and gestures become events and alerts; alerts are closed; mode and status."""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime, timedelta

from sentinel.agent.base import AgentBase, iso, make_logic
from sentinel.agent.journal import CLEARED, MODE_SINCE
from sentinel.agent.meaning import CheckAnswered, CheckedIn, Close, Meaning, TellGoing, of_help, of_ok
from sentinel.agent.modes import BACK_AFTER_S, ModeWatch
from sentinel.agent.zigbee import Fault, Press
from sentinel.agent.zigbee import Reading as ZigbeeReading
from sentinel.core import protocol
from sentinel.core.alerts import Alert, help_alert
from sentinel.core.events import Event
from sentinel.core.sensors import DoorLogic, Gesture, Reading
from sentinel.core.status import Flip, Mode, flip

log = logging.getLogger(__name__)

HERE = ("resident", "sensors")
"""Who closes alerts at home; a message from outside in their name is not believed."""


def closed_by(name: str, who: str, what: str) -> str:
    """What closed an alert, in words for the next alert's reason ("… after the all clear at 15:00")."""
    if who != "resident":
        return "the all clear"
    return f"{name}'s call for help" if what == "help" else f"{name}'s \"I'm OK\""


class HomeDecisions(AgentBase):
    """What a reading, a press or a message means for the home: events, alerts, mode and status."""

    def _outputs(self, name: str, outputs: list[Reading | Gesture], wall: datetime, mono: float) -> None:
        sensor = self.config.sensor(name)
        # A call for help goes out before the press that made it is stored and learned from.
        urgent = [o for o in outputs if isinstance(o, Gesture) and o.what == "help"]
        for out in urgent + [o for o in outputs if o not in urgent]:
            if isinstance(out, Reading):
                event = Event(name, sensor.kind, out.value, sensor.room, wall, mono)
                self.journal.add_event(event)
                if self.history is not None:
                    self.history.activity(event)
                log.debug("event %s", event)
                # A report not taken for the resident's (a sensor reporting alone) tells nothing of their day either.
                taken = self._watch_activity(event) if event.is_activity and self.watch is not None else True
                if event.is_activity and self.mode != "home":
                    self.modes.activity(wall)
                if taken and self.day is not None and self.day.feed(event):
                    self._publish_status()  # a new "up", an outing told or over
                if self.config.mqtt.publish_sensors:
                    self._publish_sensor(sensor, out.value, wall)
            elif out.what == "help":
                self.raise_alert(
                    help_alert(
                        self.config.home.id, self.config.home.name, out.how, name, sensor.room, wall, self._nonce()
                    )
                )
                quiet = self.watch.alert_id if self.watch is not None else None
                if quiet is not None and quiet in self.journal.alerts:
                    self.act_on(of_help(self.config.home.name, wall, quiet, self.journal.claimed_by(quiet)), wall)
            else:
                self.resident_ok(out.how, wall)

    @functools.cached_property
    def modes(self) -> ModeWatch:
        """The reminders of a monitor left away or paused, as the store left them at a restart."""
        kept = self.journal.get_setting(MODE_SINCE)
        try:
            since = datetime.fromisoformat(kept) if kept else None
        except ValueError:
            since = None
        if since is None:  # set before this was kept (an upgrade): from now on, and kept, or each restart moves it
            since = self.clock.now()
            self.journal.set_setting(MODE_SINCE, since.isoformat())
        watch = ModeWatch(self.mode, since)
        if self.mode == "away":  # someone at home since it was set: found again in the store
            for event in self.store.stream_events(since + timedelta(seconds=BACK_AFTER_S)):
                if event.is_activity:
                    watch.activity(event.wall)
                    break
        return watch

    def _remind(self, wall: datetime) -> None:
        """Tell the keepers of a monitor left away or paused (``modes.py``), and of a Zigbee outage that lasts."""
        if self.mode != "home" and (notice := self.modes.due(self.config.home.id, self.config.home.name, wall)):
            self._send_notice(notice, wall)
        for lasted in self.kit.due(wall):
            self._send_notice(lasted, wall)
            self.kit.keep_faults()

    def _deadline(self, name: str, now: float, wall: datetime) -> None:
        """A sensor's deadline came (a long press held, a PIR's hold over): what its logic says now."""
        self._outputs(name, self.logic[name].tick(now), wall, now)

    def _reconcile(self, now: float, wall: datetime) -> None:
        """Feed a level the logic has not seen (an edge lost by the pin driver)."""
        for name, pin in self.pins.items():
            logic = self.logic[name]
            if not isinstance(logic, DoorLogic) or logic.deadline() is not None:
                continue
            level = pin.read()
            if int(level) != logic.value:
                log.info("sensor %s: missed an edge, reading %d now", name, int(level))
                self._outputs(name, logic.edge(level, now), wall, now)

    def raise_alert(self, alert: Alert) -> None:
        """Keep the alert and its message (stored together when the card can be written), then send it first."""
        try:
            self.journal.raise_alert(alert, self.topics.alert, json.dumps(alert.payload()))
        finally:
            # From memory, whatever storing it did: on the wire before the status that reports it.
            self.outbox.flush()
        log.warning("ALERT %s: %s", alert.alert_id, alert.reason)
        if self.history is not None:
            self.history.raised(alert)
        self._update_status(alert.reason)

    def _send_again(self, now: float) -> None:
        """Open alerts no notifier has said it received, sent again when due (``receipts.py``)."""
        opened = {o.alert.alert_id: o.alert for o in self.journal.alerts.values()}
        for alert_id in self.receipts.due(opened, now, send=self.link.connected):  # else the outbox holds them
            log.warning("alert %s: no notifier has said it received it; sent again", alert_id)
            # Not through the outbox: the alert is stored already, and a restart sends it again anyway.
            self.link.publish(self.topics.alert, json.dumps(opened[alert_id].payload()), qos=1)

    def resident_ok(self, how: str, at: datetime) -> None:
        """'I'm OK' from the resident: it answers a check, else closes any open alert, else it is a check-in."""
        self.journal.set_setting("last_checkin", at.isoformat())
        mono, last = self.clock.monotonic(), self.watch.last_event if self.watch is not None else None
        asked = self.watch is not None and self.watch.cancel_check(mono)
        if asked:  # her answer without a sign of life: the quiet is counted from it, also after a restart
            self._keep_cleared(mono, last, f"{self.config.home.name}'s answer")
        open_alerts = tuple(a.alert_id for a in self.journal.open_alerts())
        meaning = of_ok(self.config.home.name, how, asked, open_alerts)
        if isinstance(meaning, CheckedIn):
            log.info("check-in by the resident (%s)", how)
            self._publish_status()
        self.act_on(meaning, at)

    def _keep_cleared(self, mono: float, last: Event | None, by: str) -> None:
        """The quiet is counted from ``mono`` (an all clear, her answer): kept, so a restart in this boot does too,
        while ``last`` is still the last sign of life (``Watch.cleared``)."""
        if last is not None:
            kept = {"boot": self.clock.boot(), "mono": mono, "after": last.mono, "by": by}
            self.journal.set_setting(CLEARED, json.dumps(kept))

    def act_on(self, meaning: Meaning, at: datetime) -> None:
        """Carry out what a press or a movement means for the alerts (``meaning``)."""
        if isinstance(meaning, CheckAnswered):
            self._signal(False)
            self._update_status(meaning.reason)
        elif isinstance(meaning, Close):
            for alert_id in meaning.alert_ids:
                self.close_alert(alert_id, meaning.who, meaning.what, meaning.note, at)
        elif isinstance(meaning, TellGoing):
            self._tell_circle(meaning.alert_id, "sensors", "activity", meaning.note, at)
            self.outbox.flush()
            log.info(
                "alert %s: %s; %s is going, so it stays open until they say all is well",
                meaning.alert_id,
                meaning.note,
                meaning.going,
            )

    def close_alert(self, alert_id: str, who: str, what: str, note: str, at: datetime) -> bool:
        """Close an open alert, tell the circle (in the same transaction), and update the status."""
        # Closed here: the circle must hear of it. Closed by the circle: it knows.
        tell = (self.topics.ack(alert_id), self._ack(alert_id, who, what, note, at)) if who in HERE else None
        found = self.journal.alerts.get(alert_id)
        if found is None or not self.journal.close_alert(alert_id, at, who, note, tell):
            return False
        if self.history is not None:
            self.history.closed(found.alert, at)
        if self.watch is not None and alert_id == self.watch.alert_id:
            by, mono, last = closed_by(self.config.home.name, who, what), self.clock.monotonic(), self.watch.last_event
            if self.watch.closed(mono, by):
                self._keep_cleared(mono, last, by)
        log.warning("alert %s closed by %s: %s", alert_id, who, note)
        self._update_status(note)
        self.outbox.flush()
        return True

    @staticmethod
    def _ack(alert_id: str, who: str, what: str, note: str, at: datetime) -> str:
        return protocol.AckMessage(who, what, iso(at), alert_id, note).to_json()

    def _tell_circle(self, alert_id: str, who: str, what: str, note: str, at: datetime) -> None:
        """What happened here about an alert, through the outbox (it survives a broker outage)."""
        self.journal.send(self.topics.ack(alert_id), self._ack(alert_id, who, what, note, at), at)

    def set_mode(self, mode: Mode, reason: str) -> None:
        """Home, away or paused, as the resident or a carer says."""
        now = self.clock.now()
        if mode != self.mode:
            self.journal.set_setting(MODE_SINCE, now.isoformat())
            self.modes = ModeWatch(mode, now)
        self.mode = mode
        self.journal.set_setting("mode", mode)
        if mode != "home" and self.watch is not None and self.watch.cancel_check():
            self._signal(False)
        self._update_status(reason)

    def _zigbee(self, reading: ZigbeeReading) -> None:
        """A zigbee2mqtt sensor's state or press goes where a pin's would; a fault goes to the keepers."""
        mono, wall = self.clock.monotonic(), self.clock.now()
        if isinstance(reading, Fault):
            if (notice := self.kit.fault(reading, wall)) is not None:
                self._send_notice(notice, wall)
                self.kit.keep_faults()  # kept across a restart: told again only once it was right in between
            return
        sensor = self.config.sensor(reading.sensor)
        if isinstance(reading, Press):  # pressed and let go, as a wired button's: a sign of life, stored
            self._outputs(reading.sensor, [Reading(1), Reading(0), reading.gesture], wall, mono)
        elif reading.quiet:
            self.logic[reading.sensor] = make_logic(sensor, reading.level)  # how it stood: old news, not activity
        else:
            self._outputs(reading.sensor, self.logic[reading.sensor].edge(reading.level, mono), wall, mono)

    def _send_notice(self, notice: protocol.Notice, wall: datetime) -> None:
        """A kit fault for the home's keepers, through the outbox (the notifier tells them once per notice)."""
        log.warning("%s", notice.text)
        self.journal.send(self.topics.notice, notice.to_json(), wall)
        self.outbox.flush()

    def _update_status(self, reason: str) -> Flip | None:
        open_alerts = len(self.journal.alerts)
        checking = self.watch is not None and self.watch.phase == "checking"
        learning = self.watch is not None and self.watch.learning
        change = flip(self.status, open_alerts, self.mode, reason, self.clock.now(), checking, learning)
        if change is not None:
            self.journal.add_flip(change)
            if self.history is not None:
                self.history.status(change)
            self.status, self.status_since, self.status_reason = change.new, change.at, change.reason
            log.info("status %s -> %s: %s", change.old, change.new, change.reason)
            self._publish_status()
        return change
