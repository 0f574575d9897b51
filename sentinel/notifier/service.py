"""`sentinel notify`: alerts in over MQTT, notifications out over ntfy, acks back in.

Three threads, none of which can block the others: paho's network loop only
records alerts (before the broker is acknowledged) and queues everything else;
the main loop escalates, handles acknowledgements and watches for silence; a
delivery thread talks to ntfy, with timeouts and retries.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from datetime import timedelta
from typing import Any

from sentinel import systemd
from sentinel.clock import Clock, SystemClock
from sentinel.config.circle import CircleConfig
from sentinel.core import protocol
from sentinel.detect.explain import duration
from sentinel.detect.wallclock import JUMP_S
from sentinel.notifier import broker
from sentinel.notifier.acks import AckReader
from sentinel.notifier.availability import effective
from sentinel.notifier.checkin import residents
from sentinel.notifier.delivery import Deliverer
from sentinel.notifier.incidents import Incidents
from sentinel.notifier.intake import ALERT_ID, read_alert
from sentinel.notifier.keepers import Keepers
from sentinel.notifier.listener import Listener
from sentinel.notifier.ntfy import Ntfy
from sentinel.notifier.parking import Parking
from sentinel.notifier.part import Shared
from sentinel.notifier.rhythm import Rhythm
from sentinel.notifier.silence import SilenceWatch
from sentinel.notifier.store import NotifierStore
from sentinel.notifier.tokens import Ack

log = logging.getLogger(__name__)

__all__ = ["ALERT_ID", "Notifier"]


class Notifier:
    """The circle's side of sentinel for one or many homes."""

    def __init__(self, cfg: CircleConfig, store: NotifierStore, ntfy: Ntfy, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.ntfy = ntfy
        self.clock = clock or SystemClock()
        self.secret = os.environ.get(cfg.secret_env, "").encode()
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.started = self.clock.now()
        self._offset = self._wall_offset()
        states = self.store.home_states()
        told = {h.id: states.get(h.id, "online") for h in cfg.homes}
        self.silence = SilenceWatch({h.id: h.grace for h in cfg.homes}, told, self.started)
        self._deliver = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        shared = Shared(cfg, store, self.clock, self.secret, self._deliver.set, self._publish)
        self.keepers = Keepers(shared, self.silence)
        self.rhythm = Rhythm(shared)
        self.incidents = Incidents(shared, self.rhythm.apply_ack)
        self.rhythm.on_away = self._away_changed
        self.rhythm.away_changed(effective(cfg, store))  # away dates set from the phones before a restart
        self.parking = Parking(shared)
        recipients = [*cfg.members, *residents(cfg)]  # a resident's own phone is asked, never in a tier
        self.deliverer = Deliverer(store, ntfy, recipients, self.clock, self.keepers.quota_spent)
        since = self.store.get_meta("ack_since") or "all"
        self.acks = AckReader(ntfy, cfg.ntfy.ack_topic, since, lambda m: self.queue.put(("press", m)), self.clock)
        if self.rhythm.drills is not None:  # nobody is named silent for a press the notifier could not yet read
            self.rhythm.drills.presses_read = self.acks.judged
        self.listener = Listener(cfg, self.clock, self.queue, self.receive_alert, self.parking, self._stop)
        self.client = self.listener.client
        self.subscribed = self.listener.subscribed  # the broker has confirmed our subscriptions

    def receive_alert(self, home: str, body: dict[str, Any]) -> bool:
        """Record an alert (once, whatever the broker re-delivers); True when new. Unreadable: it is no alert."""
        now = self.clock.now()
        alert, notes = read_alert(body, now)
        with self.store.transaction():
            new = self.store.open_incident(alert, home, now)
            for note in notes if new else ():
                self.store.step(alert["alert_id"], now, "note", None, note)
        if new:
            log.warning("ALERT %s from %s: %s", alert["alert_id"], home, alert["reason"])
            for note in notes:
                log.warning("%s: %s", alert["alert_id"], note)
            self.queue.put(("wake",))
        else:
            log.info("alert %s was already received; ignored", alert["alert_id"])
        # Said every time, once it is recorded: the agent sends it again until a notifier says so (it may have
        # missed the first "received", or the alert itself while it was away from the broker).
        at = now.isoformat(timespec="seconds")
        said = protocol.AckMessage("notifier", "received", at, alert["alert_id"], source="notifier")
        self._publish(f"{self.cfg.mqtt.base_topic}/{home}/alert/{alert['alert_id']}/ack", said.to_json())
        return new

    # life cycle
    def start(self, threaded: bool = True) -> None:
        """Connect, and start delivering."""
        broker.connect(self.client, self.cfg.mqtt)
        self.client.loop_start()
        self.acks.start()
        if threaded:
            worker = threading.Thread(target=self._delivery_loop, name="ntfy-delivery", daemon=True)
            worker.start()
            self._threads.append(worker)

    def run(self, stop: threading.Event | None = None) -> None:
        """The main loop, until ``stop`` is set."""
        stop = stop or self._stop
        self.start()
        systemd.notify("READY=1")
        watchdog = systemd.watchdog_interval()
        next_ping = 0.0
        try:
            while not stop.is_set():
                try:
                    self.step(timeout=0.5)
                except Exception:  # a restart would meet the same trouble: say it, and keep the rest going
                    log.exception("the notifier's main loop failed; it goes on")
                    stop.wait(1.0)
                if watchdog and time.monotonic() >= next_ping:  # a hung loop gets restarted
                    systemd.notify("WATCHDOG=1")
                    next_ping = time.monotonic() + watchdog
        finally:
            systemd.notify("STOPPING=1")
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._deliver.set()
        self.acks.stop()
        self.client.disconnect()
        self.client.loop_stop()
        for thread in self._threads:
            thread.join(5)
        self.ntfy.close()

    def step(self, timeout: float = 0.0) -> None:
        """Handle what has arrived, then everything due now."""
        try:
            item = self.queue.get(timeout=self.clock.real_seconds(timeout)) if timeout else self.queue.get_nowait()
            self._handle(item)
            while True:
                self._handle(self.queue.get_nowait())
        except queue.Empty:
            pass
        jump = self._wall_offset() - self._offset
        if abs(jump) > JUMP_S:
            self._offset += jump
            self._clock_jumped(jump)
        self.listener.check()  # a broker that passes nothing on to us is left
        now = self.clock.now()
        self.incidents.escalate(now)
        if self.incidents.follow_ups is not None:  # the morning-after questions that are due
            with self.store.transaction():
                self.incidents.follow_ups.tick(now)
        self.rhythm.tick(now)
        if self.cfg.watch_silence:
            self.keepers.watch_silence(now)

    def _wall_offset(self) -> float:
        """The wall clock less the monotonic one: it changes only when the wall clock is set."""
        return self.clock.now().timestamp() - self.clock.monotonic()

    def _clock_jumped(self, seconds: float) -> None:
        """NTP set the clock (a Pi without a real-time clock): the circle's waits keep their real length."""
        way = "forward" if seconds > 0 else "back"
        log.warning(
            "the clock was set %s by %s; escalation and silence keep their real timing", way, duration(abs(seconds))
        )
        delta = timedelta(seconds=seconds)
        self.store.shift_due(delta)
        self.silence.shift(delta)
        if self.deliverer.hold_until is not None:
            self.deliverer.hold_until += delta

    def _handle(self, item: tuple[Any, ...]) -> None:
        """One queued input; whatever goes wrong with it, the loop goes on with the next."""
        kind = item[0]
        try:
            # The silence watch is the main loop's alone: paho's thread only queues what it heard.
            if kind == "heartbeat":
                self.silence.heartbeat(item[1], item[2])
            elif kind == "link":
                (self.silence.link_back if item[1] else self.silence.link_lost)(item[2])
            elif kind == "availability":
                _, home, text, at = item
                self.silence.announce(home, text, at)
            elif kind == "mqtt_ack":
                _, home, alert_id, body = item
                with self.store.transaction():  # all it changes, or nothing: a crash redoes it whole
                    self.incidents.mqtt_ack(home, alert_id, body)
            elif kind == "press":
                with self.store.transaction():  # the press, what it changes and where reading goes on
                    self.incidents.press(item[1])
            elif kind == "status":
                _, home, body, at = item
                with self.store.transaction():
                    self.rhythm.checkins.status(home, body, at)
            elif kind == "notice":
                _, home, body = item
                self.keepers.kit_notice(home, body)
        except Exception:
            log.exception("could not handle a %s message; it is skipped", kind)

    # delivery
    def _delivery_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # this thread ending would silence every notification after it
                log.exception("delivering notifications failed; trying again")
            self._deliver.wait(timeout=self.clock.real_seconds(1.0))
            self._deliver.clear()

    def _publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1)

    def _away_changed(self, cfg: CircleConfig) -> None:
        """Escalation counts the away dates members set from their phones, as it counts the YAML's."""
        self.incidents.cfg = cfg

    def apply_ack(self, ack: Ack) -> str | None:
        """A signed button press, as if it came from ntfy; the refusal reason, or None."""
        with self.store.transaction():
            return self.incidents.apply_ack(ack)

    def deliver_due(self) -> int:
        """Send the notifications that are due now; how many were sent."""
        return self.deliverer.deliver_due()
