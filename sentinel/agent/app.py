"""The agent: pins in, decisions from the pure core, store and MQTT out.

One thread owns all state. Pin callbacks and paho callbacks only put messages
on its queue; the loop handles them, ticks the sensor logic at its deadlines,
sends heartbeats and feeds the systemd watchdog. What must not be forgotten is
held in a Journal: in memory, and in the store whenever the SD card can be
written, so a full or failing card never stops a call for help.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gpiozero.pins import Factory

from sentinel import __version__, systemd
from sentinel.agent import inbox
from sentinel.agent.gpio import SensorPin, Signal, open_sensors
from sentinel.agent.journal import Journal
from sentinel.agent.outbox import OutboxSender
from sentinel.agent.zigbee import Fault, Press, Zigbee
from sentinel.agent.zigbee import Reading as ZigbeeReading
from sentinel.clock import Clock, SystemClock
from sentinel.config import Config, SensorConfig
from sentinel.core import protocol
from sentinel.core.alerts import Alert, help_alert
from sentinel.core.sensors import ButtonLogic, DoorLogic, Gesture, MotionLogic, Reading
from sentinel.core.status import MODES, Flip, Mode, flip
from sentinel.events import Event
from sentinel.mqtt.link import Connected, Disconnected, Incoming, LinkEvent, MqttLink, Published
from sentinel.mqtt.topics import Topics
from sentinel.store import Store

if TYPE_CHECKING:
    from sentinel.agent.history import History
    from sentinel.agent.learner import Learned, Learner
    from sentinel.agent.learning import Learning
    from sentinel.detect.watch import Watch

log = logging.getLogger(__name__)

Logic = MotionLogic | DoorLogic | ButtonLogic
HERE = ("resident", "sensors")
"""Who closes alerts at home; a message from outside in their name is not believed."""
EVENT_BATCH_S = 300.0
"""Sensor events wait up to this long to be stored together: one write to the SD card, not one each.
A crash loses at most these minutes of movement history, never an alert."""
PRUNE_EVERY_S = 86400.0
"""How often events older than ``keep_days`` are deleted."""


@dataclass(frozen=True, slots=True)
class Edge:
    """A pin changed level (already translated to the sensor's meaning)."""

    sensor: str
    level: bool
    mono: float
    wall: datetime


@dataclass(frozen=True, slots=True)
class Stop:
    """Ask the loop to finish."""


def make_logic(sensor: SensorConfig, level: bool) -> Logic:
    """The pure logic for one sensor, starting from its current level."""
    if sensor.kind == "motion":
        logic = MotionLogic(sensor.hold_time)
        if level:
            logic.edge(True, 0.0)
        return logic
    if sensor.kind == "button":
        return ButtonLogic(sensor.bounce, sensor.help, sensor.long_press, sensor.double_press)
    # A door, a cupboard, a mat, an appliance's current switch, a flush: a contact that settles on 0 or 1.
    return DoorLogic(sensor.bounce, level)


def iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


class Agent:
    """Everything one home's monitor does, driven by ``run()`` or step by step in tests."""

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock | None = None,
        pin_factory: Factory | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.pin_factory = pin_factory
        self._nonce = nonce or (lambda: secrets.token_hex(3))
        self.topics = Topics.for_home(config.mqtt.base_topic, config.home.id)
        self.queue: queue.Queue[Edge | LinkEvent | Learned | Stop] = queue.Queue()
        self.pins: dict[str, SensorPin] = {}
        self.logic: dict[str, Logic] = {}
        self.history: History | None = None  # made at start, when history is on
        self.signal: Signal | None = None
        self.zigbee = Zigbee(config.zigbee, config.sensors)
        self.link = MqttLink(
            config.mqtt,
            self.topics,
            config.mqtt.client_id or f"sentinel-agent-{config.home.id}",
            self.queue.put,
            [self.topics.acks, self.topics.commands, *self.zigbee.topics(), *self._ha_topics()],
        )
        self.journal = Journal(store, config.home.id, event_batch_s=EVENT_BATCH_S)
        self.journal.load()
        self.journal.flush()
        self.outbox = OutboxSender(self.journal, self.link)
        self.learning: Learning | None = self._new_learning() if config.detection.enabled else None
        mode = self.journal.get_setting("mode", "home")
        self.mode: Mode = mode if mode in MODES else "home"
        last = self.journal.last_flip
        self.status = last.new if last else "starting"
        self.status_since = last.at if last else self.clock.now()
        self.status_reason = last.reason if last else "the monitor started"
        self._storage_told = self.journal.storage
        self._heartbeat_seq = 0
        self._told_silent: set[str] = set()  # sensors the keepers were told are silent, until they report again
        self._faults: set[str] = set()  # zigbee faults the keepers were told of, until they are right again
        self._next_prune = self.clock.monotonic()  # at start, then daily
        self._closed = False
        self._started = self.clock.monotonic()
        self._next_heartbeat = self._started
        self._watchdog = systemd.watchdog_interval()
        self._next_watchdog = self._started

    # life cycle
    def start(self) -> None:
        """Open the pins, restore the status and start connecting."""
        wired = [s for s in self.config.sensors if s.pin is not None]
        self.pins = open_sensors(wired, self.pin_factory, self._edge)
        for name, pin in self.pins.items():
            self.logic[name] = make_logic(pin.sensor, pin.read())
        for sensor in self.config.sensors:
            if sensor.zigbee is not None:  # idle (closed, empty) until zigbee2mqtt says how it stands
                self.logic[sensor.name] = make_logic(sensor, False)
        checkin = self.config.detection.checkin
        if self.watch is not None and checkin.enabled:
            self.signal = Signal(checkin.buzzer_pin, checkin.led_pin, self.pin_factory)
        if self.learning is not None:
            self.learning.relearn()  # in the background: a help press must not wait for the routine
        if self.config.history.enabled:
            self.history = self._new_history()
            self.history.start(self.clock.now())
        notice = self.journal.notice
        reason = f"the monitor started; {notice}" if notice else "the monitor started"
        if self._update_status(reason) is None and notice:
            self.status_reason = reason  # the state is as before, but the keepers must read why the database is new
        self.link.start()
        log.info("agent %s started for home %s with %d sensors", __version__, self.config.home.id, len(self.pins))

    def _new_history(self) -> History:
        # Imported here: an agent without history loads neither it nor its database client.
        from sentinel.agent.history import History

        rooms = {s.name: s.room or s.name for s in self.config.sensors}
        return History(self.config.history, self.store, self.config.home.id, rooms, self.clock, self.config.keep_days)

    @property
    def watch(self) -> Watch | None:
        """The routine the agent watches with (None with detection off)."""
        return self.learning.watch if self.learning is not None else None

    @property
    def learner(self) -> Learner | None:
        """The short-lived learning process's keeper (None with detection off)."""
        return self.learning.learner if self.learning is not None else None

    @property
    def routine_as_of(self) -> datetime | None:
        """The time the routine in use was learned as of."""
        return self.learning.routine_as_of if self.learning is not None else None

    @property
    def routine_ready(self) -> bool:
        """Whether the routine has been relearned from the store since the start (or there is none to learn)."""
        return self.learning is None or self.learning.ready

    def _new_learning(self) -> Learning:
        # Imported here: only an agent with detection on needs the routine's code.
        from sentinel.agent.learning import Learning

        return Learning(self.config, self.store, self.journal, self.clock, self.queue.put)

    def _learned(self, item: Learned) -> None:
        """What the learning process sent back: a routine takes over, or it is tried again later."""
        assert self.learning is not None
        if self.learning.learned(item, learn_meanwhile=self.status in ("ok", "learning")):
            try:
                self._kit_check(self.clock.now())  # a sensor may have died before the restart
            except Exception as exc:  # a notice for the keepers must never stop the agent
                log.error("could not check the sensors for silence (%s: %s)", type(exc).__name__, exc)
        self._update_status("the routine is learned" if not self.learning.watch.learning else "learning")

    def run(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set or a Stop message arrives."""
        self.start()
        systemd.notify("READY=1")
        try:
            self.loop(stop)
        finally:
            systemd.notify("STOPPING=1")
            self.close()

    def loop(self, stop: threading.Event | None = None) -> None:
        """Handle messages and deadlines until ``stop`` is set or a Stop arrives."""
        stop = stop or threading.Event()
        while not stop.is_set():
            if not self.step(1.0):
                break

    @property
    def heartbeats(self) -> int:
        """How many heartbeats this process has sent."""
        return self._heartbeat_seq

    def close(self) -> None:
        """Say offline and release the pins (once)."""
        if self._closed:
            return
        self._closed = True
        if self.learner is not None:
            self.learner.stop()
        self.link.stop()
        for pin in self.pins.values():
            pin.close()
        if self.signal is not None:
            self.signal.close()
        if self.history is not None:
            self.history.close()
        self.journal.flush()  # the events of the last minutes
        log.info("agent stopped")

    def step(self, max_wait: float) -> bool:
        """Wait for one message (at most until the next deadline) and handle it; False on Stop."""
        wait = max(0.0, min(max_wait, self.next_deadline() - self.clock.monotonic()))
        try:
            item = self.queue.get(timeout=self.clock.real_seconds(wait))
        except queue.Empty:
            item = None
        if isinstance(item, Stop):
            return False
        if item is not None:
            self.handle(item)
        self.tick()
        return True

    def pump(self) -> None:
        """Handle everything queued and everything due now, without waiting (tests)."""
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, Stop):
                self.handle(item)
        self.tick()

    # inputs
    def _edge(self, sensor: str, level: bool) -> None:
        """Pin callback thread: stamp the edge and queue it."""
        self.queue.put(Edge(sensor, level, self.clock.monotonic(), self.clock.now()))

    def handle(self, item: Edge | LinkEvent | Learned) -> None:
        """One message from a pin or the broker; whatever it does wrong is logged and it is dropped."""
        try:
            self._handle(item)
        except Exception:  # one bad message must not stop the monitor, nor crash it at every start
            what = f"a message on {item.topic} ({len(item.payload)} bytes)" if isinstance(item, Incoming) else item
            log.exception("could not handle %s; dropped it", what)

    def _handle(self, item: Edge | LinkEvent | Learned) -> None:
        if isinstance(item, Edge):
            logic = self.logic.get(item.sensor)
            if logic is not None:
                self._outputs(item.sensor, logic.edge(item.level, item.mono), item.wall, item.mono)
        elif isinstance(item, Connected):
            self._on_connected()
        elif isinstance(item, Published):
            self.outbox.acked(item.mid)
        elif isinstance(item, Incoming):
            self._on_message(item.topic, item.payload, item.retained)
        elif isinstance(item, Disconnected):
            pass  # paho reconnects by itself and re-sends what is in flight
        elif self.learner is not None:  # what came of a learning process (its class is not imported without one)
            self._learned(item)

    def tick(self) -> None:
        """Everything that is due now: sensor deadlines, heartbeat, watchdog, missed edges."""
        now = self.clock.monotonic()
        wall = self.clock.now()
        for name, logic in self.logic.items():
            deadline = logic.deadline()
            if deadline is not None and now >= deadline:
                self._outputs(name, logic.tick(now), wall, now)
        self._reconcile(now, wall)
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.config.mqtt.heartbeat
            self._heartbeat(now, wall)
        self._watch_due(now, wall)
        if self.learning is not None:
            self.learning.due(now)
        if self._watchdog and now >= self._next_watchdog:
            self._next_watchdog = now + self._watchdog
            systemd.notify("WATCHDOG=1")
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            self.journal.prune(wall - timedelta(days=self.config.keep_days))
        self.journal.tick(now)
        if self.history is not None:
            self.history.tick(wall, self.status, self._health)
        if self.journal.storage != self._storage_told:
            self._publish_status()  # the keepers hear at once that the card fails, or works again

    def next_deadline(self) -> float:
        """The monotonic time of the next thing due: a sensor deadline, a heartbeat, the watchdog, the watch."""
        times = [self._next_heartbeat, self.journal.next_try]
        if self._watchdog:
            times.append(self._next_watchdog)
        times.extend(d for d in (logic.deadline() for logic in self.logic.values()) if d is not None)
        if self.learning is not None and (due := self.learning.next_due()) is not None:
            times.append(due)
        return min(times)

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

    # decisions
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
                if event.is_activity and self.watch is not None:
                    self._watch_activity(event)
                if self.config.mqtt.publish_sensors:
                    self._publish_sensor(sensor, out.value, wall)
            elif out.what == "help":
                self.raise_alert(
                    help_alert(
                        self.config.home.id, self.config.home.name, out.how, name, sensor.room, wall, self._nonce()
                    )
                )
            else:
                self.resident_ok(out.how, wall)

    def raise_alert(self, alert: Alert) -> None:
        """Keep the alert and its message (stored together when the card can be written), then send it first."""
        self.journal.raise_alert(alert, self.topics.alert, json.dumps(alert.payload()))
        self.outbox.flush()  # the alert goes on the wire before the status that reports it
        log.warning("ALERT %s: %s", alert.alert_id, alert.reason)
        if self.history is not None:
            self.history.raised(alert)
        self._update_status(alert.reason)

    def resident_ok(self, how: str, at: datetime) -> None:
        """'I'm OK' from the resident: it closes any open alert, else it is a check-in."""
        self.journal.set_setting("last_checkin", at.isoformat())
        if self.watch is not None and self.watch.cancel_check():  # a press the pin logic saw before the edge
            # An answer by command (the phone, an app) is a sign of life now, as a press at home is: the quiet
            # is counted again from here, else the spell, long past its line, would be asked about at once.
            self.watch._since_mono = self.clock.monotonic()
            self._signal(False)
            self._update_status(f"{self.config.home.name} pressed the button when asked: all is well.")
            return
        open_alerts = self.journal.open_alerts()
        if not open_alerts:
            log.info("check-in by the resident (%s)", how)
            self._publish_status()
            return
        for alert in open_alerts:
            self.close_alert(
                alert.alert_id, "resident", "cancel", f"{self.config.home.name} pressed 'I'm OK' ({how}).", at
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
        self.mode = mode
        self.journal.set_setting("mode", mode)
        if mode != "home" and self.watch is not None and self.watch.cancel_check():
            self._signal(False)
        self._update_status(reason)

    # unusual quiet
    def _watch_activity(self, event: Event) -> None:
        """Movement: learn from it, and end a check-in or an inactivity alert it answers."""
        assert self.learning is not None and self.watch is not None
        self.learning.seen(event)  # for the routine being relearned
        learn = self.status in ("ok", "learning")
        open_id = self.watch.alert_id
        try:
            ended = self.watch.activity(event, learn)
            place = self.watch.places[event.sensor].words(event.value)
            self._kit_check(event.wall)
        except Exception as exc:  # a failing fit must not stop the alert path
            self.learning.failed(exc, "learning from movement")
            return
        if ended == "checking":
            self._signal(False)
            if event.kind == "button":
                self._update_status(f"{self.config.home.name} pressed the button when asked: all is well.")
            else:
                self._update_status(f"Movement again ({place}) while asking: all seems well.")
        elif ended == "alerted" and open_id and self.config.detection.resolve_on_activity:
            note = f"Movement again: {place} at {event.wall:%H:%M}."
            going = self.journal.claimed_by(open_id)
            if going is None:
                self.close_alert(open_id, "sensors", "resolve", note, event.wall)
            else:
                # The movement may be the neighbour who went: only they (or the button) can say all is well.
                self._tell_circle(open_id, "sensors", "activity", note, event.wall)
                self.outbox.flush()
                log.info("alert %s: %s; %s is going, so it stays open until they say all is well", open_id, note, going)

    def _kit_check(self, wall: datetime) -> None:
        """Tell the keepers, once per silence, of a sensor silent far beyond its usual gaps (a dead battery)."""
        from sentinel.detect.explain import duration  # with the routine: only where detection is on
        from sentinel.detect.watch import aware

        assert self.watch is not None
        silent = set(self.watch.detector.silent)
        self._told_silent &= silent  # those that reported again may be told of again
        for found in self.watch.detector.silent_sensors(aware(wall)):
            if found.sensor in self._told_silent:
                continue
            self._told_silent.add(found.sensor)
            last = wall - timedelta(seconds=found.silent_for)
            room = self.watch.places[found.sensor].room if found.sensor in self.watch.places else None
            where = f"the {room} sensor ({found.sensor})" if room else f"the sensor {found.sensor}"
            text = (
                f"{where[0].upper()}{where[1:]} has sent nothing since {last:%a %H:%M} ({duration(found.silent_for)}),"
                f" while the other sensors noticed {self.config.home.name} {found.others_since} times; before, they"
                f" never did more than {found.usual_max_others} times between two of its signs. Check its battery"
                " and wiring. Until it reports again, sentinel does not count on it."
            )
            # Its id names the sensor and its last sign: the same silence is the same notice after a restart.
            notice_id = f"{self.config.home.id}-silent-{found.sensor}-{last:%Y%m%dT%H%M}"
            self._send_notice("sensor_silent", found.sensor, text, wall, notice_id, sensor=found.sensor)

    def _zigbee(self, reading: ZigbeeReading) -> None:
        """A zigbee2mqtt sensor's state or press goes where a pin's would; a fault goes to the keepers."""
        mono, wall = self.clock.monotonic(), self.clock.now()
        if isinstance(reading, Fault):
            if reading.ok and reading.key in self._faults:
                self._faults.discard(reading.key)
                self._send_notice(f"{reading.kind}_ok", reading.key, reading.text, wall)
            elif not reading.ok and reading.key not in self._faults:
                self._faults.add(reading.key)
                self._send_notice(reading.kind, reading.key, reading.text, wall)
            return
        sensor = self.config.sensor(reading.sensor)
        if isinstance(reading, Press):
            self._outputs(reading.sensor, [reading.gesture], wall, mono)
        elif reading.quiet:
            self.logic[reading.sensor] = make_logic(sensor, reading.level)  # how it stood: old news, not activity
        else:
            self._outputs(reading.sensor, self.logic[reading.sensor].edge(reading.level, mono), wall, mono)

    def _send_notice(
        self, kind: str, key: str, text: str, wall: datetime, notice_id: str | None = None, sensor: str | None = None
    ) -> None:
        """A kit fault for the home's keepers, through the outbox (the notifier tells them once per notice)."""
        slug = re.sub(r"[^A-Za-z0-9_.:-]+", "-", key)[:60]
        notice_id = notice_id or f"{self.config.home.id}-{kind}-{slug}-{wall:%Y%m%dT%H%M%S}"
        notice = protocol.Notice(notice_id, self.config.home.id, kind, text, iso(wall), sensor)
        log.warning("%s", text)
        self.journal.send(self.topics.notice, notice.to_json(), wall)
        self.outbox.flush()

    def _watch_due(self, mono: float, wall: datetime) -> None:
        if self.watch is None or self.mode != "home":
            return
        if "bridge" in self._faults:
            return  # the Zigbee sensors cannot report: their silence says nothing (the keepers were told)
        try:
            self._watch_verdict(mono, wall)
        except Exception as exc:  # a failing routine must not stop the loop
            assert self.learning is not None
            self.learning.failed(exc, "watching for unusual quiet")
            self._update_status("the routine failed and is being learned afresh")

    def _watch_verdict(self, mono: float, wall: datetime) -> None:
        assert self.watch is not None
        door = self.watch.door_left_open(mono, wall)
        if door is not None:
            self.raise_alert(self.watch.door_alert(door, wall, self._nonce()))
        verdict = self.watch.due(mono, wall)
        if verdict == "check":
            self._signal(True)
            self._update_status(f"Unusually quiet; asking {self.config.home.name} first.")
        elif verdict == "alert":
            self._signal(False)
            self.raise_alert(self.watch.alert(wall, self._nonce()))

    def _signal(self, on: bool) -> None:
        if self.signal is not None:
            self.signal.on() if on else self.signal.off()

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

    # incoming messages
    def _on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        try:
            message = inbox.parse(self.topics, topic, payload)
        except inbox.Malformed as exc:
            log.warning("ignored a malformed message on %s: %s", topic, exc)
            return
        if message is None:
            ha = self.config.homeassistant
            if ha.enabled and topic == f"{ha.discovery_prefix}/status":
                if payload.strip() == b"online":  # Home Assistant restarted: it wants the configs again
                    self._announce_to_home_assistant()
                return
            for reading in self.zigbee.read(topic, payload, retained):
                self._zigbee(reading)
        elif isinstance(message, inbox.Ack):
            self._on_ack(message.alert_id, message.body)
        elif isinstance(message, inbox.Command):
            self._on_command(message.verb, message.body)

    def _on_ack(self, alert_id: str, body: dict[str, Any]) -> None:
        what, who = body.get("what"), inbox.text(body, "who", inbox.MAX_NAME)
        if what == "claim" and who and self.journal.claim(alert_id, who):
            log.warning("alert %s: %s is going", alert_id, who)
        elif what in ("resolve", "cancel") and who and who not in HERE:
            note = inbox.text(body, "note", inbox.MAX_NOTE) or f"{what}d by {who}"
            self.close_alert(alert_id, who, str(what), note, self.clock.now())

    def _on_command(self, verb: str, body: dict[str, Any]) -> None:
        error = None
        modes = {"away": "away", "home": "home", "pause": "paused", "resume": "home"}
        if verb in modes:
            who = inbox.text(body, "who", inbox.MAX_NAME) or "someone"
            self.set_mode(modes[verb], f"set to {modes[verb]} by {who}")  # type: ignore[arg-type]
        elif verb == "status":
            self._publish_status()
        elif verb == "ok":  # "I'm OK" from an app (Home Assistant's button): as the resident's single press
            who = inbox.text(body, "who", inbox.MAX_NAME) or "an app"
            self.resident_ok(f"from {who}", self.clock.now())
        else:
            shown = inbox.clean(verb, inbox.MAX_NAME)  # a topic level from outside: any length, any character
            error = f"unknown command {shown!r}"
            log.warning("ignored unknown command %r", shown)
        reply = protocol.Reply("error" if error else "ok", body.get("transaction"), error)
        self.link.publish(self.topics.reply(verb), reply.to_json(), qos=1)

    # outgoing messages
    def _ha_topics(self) -> list[str]:
        ha = self.config.homeassistant
        return [f"{ha.discovery_prefix}/status"] if ha.enabled else []

    def _announce_to_home_assistant(self) -> None:
        """Home Assistant's discovery configs (retained): on connecting, and whenever it says it is back."""
        from sentinel.agent.homeassistant import discovery

        for topic, payload in discovery(self.config, self.topics):
            self.link.publish(topic, payload, qos=1, retain=True)

    def _on_connected(self) -> None:
        self._next_heartbeat = self.clock.monotonic()  # tell watchers at once that we are back
        if self.config.homeassistant.enabled:
            self._announce_to_home_assistant()
        self._publish_status()
        if self.config.mqtt.publish_sensors:
            for name, logic in self.logic.items():
                self._publish_sensor(self.config.sensor(name), logic.value, None)
        self.outbox.flush()

    def status_payload(self) -> dict[str, Any]:
        """The retained status a neighbour's app shows."""
        checkin = self.journal.get_setting("last_checkin")
        return protocol.Status(
            state=self.status,
            since=iso(self.status_since),
            reason=self.status_reason,
            mode=self.mode,
            last_activity=iso(self.journal.last_activity),
            last_checkin=iso(datetime.fromisoformat(checkin)) if checkin else None,
            open_alerts=[a.alert_id for a in self.journal.open_alerts()],
            home=self.config.home.id,
            name=self.config.home.name,
            version=__version__,
            storage=self.journal.storage,
        ).body()

    def _publish_status(self) -> None:
        self._storage_told = self.journal.storage
        self.link.publish(self.topics.status, json.dumps(self.status_payload()), qos=1, retain=True)

    def _publish_sensor(self, sensor: SensorConfig, value: int, at: datetime | None) -> None:
        body = protocol.SensorValue(value, sensor.kind, sensor.room, iso(at))
        self.link.publish(self.topics.sensor(sensor.name), body.to_json(), qos=0, retain=True)

    def _health(self) -> dict[str, int]:
        """The kit's health as the heartbeat tells it, in numbers (for the history)."""
        return {
            "uptime_s": round(self.clock.monotonic() - self._started),
            "storage_ok": int(self.journal.failing is None),
            "outbox": len(self.journal.outbox),
            "heartbeat_seq": self._heartbeat_seq,
            "sensors_silent": len(self._told_silent),  # how many, never which: the keepers' notices name them
            "kit_faults": len(self._faults),
        }

    def _heartbeat(self, now: float, wall: datetime) -> None:
        if not self.link.connected:
            return
        self._heartbeat_seq += 1
        body = protocol.Heartbeat(
            seq=self._heartbeat_seq,
            at=iso(wall),
            uptime_s=round(now - self._started),
            interval_s=self.config.mqtt.heartbeat,
            outbox=len(self.journal.outbox),
            storage=self.journal.storage,
        )
        self.link.publish(self.topics.heartbeat, body.to_json(), qos=0)
