"""The agent: pins in, decisions from the pure core, store and MQTT out; the loop that runs it all.

One thread owns all state. Pin callbacks and paho callbacks only put messages
on its queue; the loop handles them, ticks the sensor logic at its deadlines,
sends heartbeats and feeds the systemd watchdog. What must not be forgotten is
held in a Journal: in memory, and in the store whenever the SD card can be
written, so a full or failing card never stops a call for help.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gpiozero.pins import Factory

from sentinel import __version__, systemd
from sentinel.agent.base import Logic, Receipts, make_logic
from sentinel.agent.gpio import SensorPin, Signal, open_sensors
from sentinel.agent.home import HomeDecisions
from sentinel.agent.journal import Checked, Journal
from sentinel.agent.kit import Kit
from sentinel.agent.messages import Messages
from sentinel.agent.outbox import OutboxSender
from sentinel.agent.quiet import Quiet
from sentinel.agent.zigbee import Zigbee
from sentinel.clock import Clock, SystemClock
from sentinel.config import Config
from sentinel.core.status import MODES, Mode
from sentinel.mqtt.link import Connected, Disconnected, Incoming, LinkEvent, MqttLink, Published
from sentinel.mqtt.topics import Topics
from sentinel.store import Store

if TYPE_CHECKING:
    from sentinel.agent.history import History
    from sentinel.agent.learner import Learned
    from sentinel.agent.learning import Learning

log = logging.getLogger(__name__)

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


class Agent(Messages, HomeDecisions, Quiet):
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
        self.queue: queue.Queue[Edge | LinkEvent | Checked | Learned | Stop] = queue.Queue()
        self.pins: dict[str, SensorPin] = {}
        self.logic: dict[str, Logic] = {}
        self.history: History | None = None  # made at start, when history is on
        self.day = self._new_day()  # only with home.share_day
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
        self.receipts = Receipts.kept(self.journal)
        self.learning: Learning | None = self._new_learning() if config.detection.enabled else None
        mode = self.journal.get_setting("mode", "home")
        self.mode: Mode = mode if mode in MODES else "home"
        last = self.journal.last_flip
        self.status = last.new if last else "starting"
        self.status_since = last.at if last else self.clock.now()
        self.status_reason = last.reason if last else "the monitor started"
        self._storage_told = self.journal.storage
        self._start_reason = self.status_reason  # the status's reason as the start left it
        self._heartbeat_seq = 0
        self.connections = 0  # connections to the broker the loop has taken in (the link may know sooner)
        self.kit = Kit(config.home, self.journal, [s.name for s in config.sensors if s.zigbee])
        self._next_prune = self.clock.monotonic()  # at start, then daily
        self._closed = False
        self._parts_failing: dict[str, str] = {}  # the parts of ``tick`` failing now, and how
        self._started = self._next_heartbeat = self.clock.monotonic()
        self._watchdog = systemd.watchdog_interval()
        self._next_watchdog = self._started

    def start(self) -> None:
        """Open the pins, restore the status and start connecting."""
        wired = [s for s in self.config.sensors if s.pin is not None]
        self.pins = open_sensors(wired, self.pin_factory, self._edge)
        for name, pin in self.pins.items():
            self.logic[name] = make_logic(pin.sensor, pin.read())
        for sensor in self.config.sensors:
            if sensor.zigbee is not None:  # as last stored: zigbee2mqtt repeats it in every report (zigbee.py)
                self.logic[sensor.name] = make_logic(sensor, self.zigbee.seed(sensor, self.store.last_value))
        checkin = self.config.detection.checkin
        if self.watch is not None and checkin.enabled:
            self.signal = Signal(checkin.buzzer_pin, checkin.led_pin, self.pin_factory)
        if self.learning is not None:
            self.learning.hold()  # learned in the background once the store is checked (``_checked``)
        if self.config.history.enabled:
            self.history = self._new_history()
            self.history.start(self.clock.now())
        notice = self.journal.notice
        reason = f"the monitor started; {notice}" if notice else "the monitor started"
        if self._update_status(reason) is None and notice:
            self.status_reason = reason  # the state is as before, but the keepers must read why the database is new
        self._start_reason = self.status_reason
        self.link.start()
        self.journal.check_apart(self.queue.put)  # the whole file is read: a help press must not wait for it
        log.info("agent %s started for home %s with %d sensors", __version__, self.config.home.id, len(self.logic))

    def _new_history(self) -> History:
        # Imported here: an agent without history loads neither it nor its database client.
        from sentinel.agent.history import History

        rooms = {s.name: s.room for s in self.config.sensors}  # none: counted under "other", never the sensor's name
        return History(self.config.history, self.store, self.config.home.id, rooms, self.clock, self.config.keep_days)

    # life cycle
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

    def handle(self, item: Edge | LinkEvent | Checked | Learned) -> None:
        """One message from a pin or the broker; whatever it does wrong is logged and it is dropped."""
        try:
            self._handle(item)
        except Exception:  # one bad message must not stop the monitor, nor crash it at every start
            what = f"a message on {item.topic} ({len(item.payload)} bytes)" if isinstance(item, Incoming) else item
            log.exception("could not handle %s; dropped it", what)

    def _handle(self, item: Edge | LinkEvent | Checked | Learned) -> None:
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
        elif isinstance(item, Checked):
            self._checked(item)
        elif self.learner is not None:  # what came of a learning process (its class is not imported without one)
            self._learned(item)

    def tick(self) -> None:
        """Everything due now: sensor deadlines (a long press), heartbeat, watchdog, the store; each part guarded."""
        now, wall, guard = self.clock.monotonic(), self.clock.now(), self._guarded
        for name, logic in self.logic.items():
            if (deadline := logic.deadline()) is not None and now >= deadline:
                guard(f"the deadline of {name}", self._deadline, name, now, wall)
        guard("missed edges", self._reconcile, now, wall)
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.config.mqtt.heartbeat
            guard("the heartbeat", self._heartbeat, now, wall)
        guard("the watch", self._watch_due, now, wall)
        guard("the alerts not yet received", self._send_again, now)
        guard("the broker's probe", self.link.check)
        guard("the day", self._day_tick, wall)
        if self.learning is not None:
            guard("learning", self.learning.due, now)
        if self._watchdog and now >= self._next_watchdog:
            self._next_watchdog = now + self._watchdog
            systemd.notify("WATCHDOG=1")
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            guard("pruning", self.journal.prune, wall - timedelta(days=self.config.keep_days))
        guard("the database", self.journal.tick, now)
        if self.history is not None:
            guard("the history", self.history.tick, wall, self.status, self._health)
        if self.journal.storage != self._storage_told:
            guard("the status", self._publish_status)  # the keepers hear at once that the card fails, or works

    def _guarded(self, what: str, part: Callable[..., object], *args: object) -> None:
        """Run one part of ``tick``: one that fails is logged (once while it fails alike), and the loop goes on."""
        try:
            part(*args)
        except Exception as exc:  # as in ``handle``: one failing part must not stop the monitor, nor the help button
            if self._parts_failing.get(what) != repr(exc):  # not a traceback at every turn of the loop
                log.exception("could not run %s; the monitor goes on", what)
            self._parts_failing[what] = repr(exc)
        else:
            self._parts_failing.pop(what, None)

    def next_deadline(self) -> float:
        """The monotonic time of the next thing due: a sensor deadline, a heartbeat, the watchdog, the watch."""
        times = [self._next_heartbeat, self.journal.next_try, self.receipts.next_due()]
        if self._watchdog:
            times.append(self._next_watchdog)
        times.extend(d for d in (logic.deadline() for logic in self.logic.values()) if d is not None)
        if self.learning is not None and (due := self.learning.next_due()) is not None:
            times.append(due)
        return min(times)
