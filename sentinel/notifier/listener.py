"""paho's side of the notifier: hears the homes, records alerts at once and queues everything else."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from sentinel.clock import Clock
from sentinel.config.circle import CircleConfig
from sentinel.logs import Throttle
from sentinel.mqtt import link
from sentinel.mqtt.probe import Probe
from sentinel.notifier import broker
from sentinel.notifier.intake import Unreadable, decode
from sentinel.notifier.parking import Parking

log = logging.getLogger(__name__)


class Listener:
    """The notifier's MQTT client and its callbacks, which run on paho's thread and never block it."""

    def __init__(
        self,
        cfg: CircleConfig,
        clock: Clock,
        inputs: queue.Queue[tuple[Any, ...]],
        receive_alert: Callable[[str, dict[str, Any]], bool],
        parking: Parking,
        stopping: threading.Event,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.inputs = inputs
        self.receive_alert = receive_alert  # alerts are stored before the broker hears they arrived
        self.parking = parking
        self.stopping = stopping
        self.base = cfg.mqtt.base_topic
        self.homes = {h.id for h in cfg.homes}
        self.subscribed = threading.Event()  # the broker has confirmed our subscriptions
        self._failures = link.Failures(f"{cfg.mqtt.host}:{cfg.mqtt.port}", time.monotonic, link.REPEAT_WARNING)
        self._online = False
        self.client = broker.client(cfg.mqtt)
        self._takeovers = link.Takeovers(broker.client_id_of(cfg.mqtt), time.monotonic, notifier=True)
        self.client.on_connect = self._connected
        self.client.on_connect_fail = self._connect_failed
        self.client.on_disconnect = self._disconnected
        self.client.on_subscribe = self._subscribed
        self.client.on_message = self._message
        self.client.on_publish = self._published
        # On the acks' topic, which it follows and may write, under a home no config can name (probe.py).
        self.probe = Probe(f"{self.base}/.probe/alert/{os.urandom(6).hex()}/ack")
        self._junk = Throttle()

    def check(self) -> None:
        """Send the probe when due; with one late, connect again (``probe.py``). In real time: the broker's
        answer takes it, whatever the notifier's clock says."""
        if self._online:
            self.probe.check(self.client, time.monotonic())

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._failures.failed(f"the broker refused the connection ({reason_code})")
            return
        self._failures.connected()
        self.probe.connected()
        client.subscribe(broker.subscriptions(self.cfg))  # the acks' topics, the probe's among them
        self._online, self._takeovers.since = True, time.monotonic()  # a probe published now comes after them
        self.inputs.put(("link", True, self.clock.now()))  # every home gets its full grace again from now
        log.info("connected to the broker; subscribing")

    def _published(self, client, userdata, mid, reason_code, properties) -> None:
        if reason_code.is_failure:  # over MQTT 5 the broker says so (access rules): for the probe, it is off
            self.probe.refused(mid)

    def _subscribed(self, *_: Any) -> None:
        # Only from here on does the broker hand us the homes' messages (or keep them in our session).
        self.subscribed.set()
        log.info("subscribed: following %d homes", len(self.homes))

    def _connect_failed(self, client, userdata) -> None:
        error = client.last_error
        self._failures.failed(link.describe(error) if error is not None else "the connection failed")

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        if self._online and not self.stopping.is_set():
            told = self._takeovers.lost(reason_code)  # two notifiers with one client id: said, not every second
            level = logging.DEBUG if told else logging.WARNING
            log.log(level, "lost the broker (%s); retrying (alerts wait in the broker for us)", reason_code)
        self._online = False
        self.inputs.put(("link", False, self.clock.now()))  # not hearing the homes now says nothing about them

    def _message(self, client, userdata, message) -> None:
        """Nothing one message does may end paho's thread (every later alert would go unheard).

        A message that cannot be handled is parked, so the broker does not hand it to us again.
        """
        try:
            self._take(message)
        except Exception as exc:
            try:
                self._park(message, f"could not be handled: {type(exc).__name__}: {exc}")
            except Exception:
                log.exception("could not take or park a message; it is skipped")

    def _take(self, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            log.warning("ignored a message on a topic that is not UTF-8")
            return
        if topic == self.probe.topic:
            self.probe.heard(bytes(message.payload))
            return
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != self.base:
            return
        home, leaf = parts[1], "/".join(parts[2:])
        if home not in self.homes:
            log.debug("ignored a message for %.40s, a home this notifier does not serve", home)
            return
        now = self.clock.now()
        if leaf == "heartbeat":
            self.inputs.put(("heartbeat", home, now))
        elif leaf == "availability":
            text = message.payload[:16].decode("utf-8", "replace")  # "online" or "offline"; the rest is noise
            self.inputs.put(("availability", home, text, now))
        elif leaf == "status":  # only followed for the residents' phones and the daily notes
            try:
                self.inputs.put(("status", home, decode(bytes(message.payload)), now))
            except Unreadable as exc:
                if (more := self._junk.allow()) is not None:  # a flood of them must not bury the log
                    log.warning("ignored an unreadable status from %.40s: %s%s", home, exc, more)
        elif leaf in ("alert", "notice") or (len(parts) == 5 and parts[2] == "alert" and parts[4] == "ack"):
            self._take_body(message, home, parts)

    def _take_body(self, message: mqtt.MQTTMessage, home: str, parts: list[str]) -> None:
        """An alert, a kit notice or an ack from the home: unreadable ones are parked."""
        try:
            body = decode(bytes(message.payload))
            if len(parts) == 5:
                self.inputs.put(("mqtt_ack", home, parts[3], body))
            elif parts[2] == "notice":
                self.inputs.put(("notice", home, body))
            else:
                self.receive_alert(home, body)
        except Unreadable as exc:
            self._park(message, str(exc))

    def _park(self, message: mqtt.MQTTMessage, error: str) -> None:
        parts = message.topic.split("/")
        home = parts[1] if len(parts) > 1 and parts[1] in self.homes else None
        self.parking.park(message.topic, home, bytes(message.payload), error)
