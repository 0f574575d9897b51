"""The agent's connection to the broker, built on paho-mqtt 2.

Callbacks run on paho's network thread; they only turn what happened into
messages for the agent's queue, so all decisions stay on the agent's thread.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sentinel.config import MqttConfig, read_password
from sentinel.mqtt.probe import Probe
from sentinel.mqtt.topics import Topics
from sentinel.mqtt.trouble import REPEAT_WARNING, Failures, Takeovers, describe

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Connected:
    """The broker accepted the connection."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection was lost or refused."""

    reason: str


@dataclass(frozen=True, slots=True)
class Published:
    """The broker acknowledged message ``mid`` (QoS 1), or it left (QoS 0)."""

    mid: int


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message arrived on a subscribed topic."""

    topic: str
    payload: bytes
    retained: bool = False  # a retained message: how things stood when we subscribed, not news


LinkEvent = Connected | Disconnected | Published | Incoming

MAX_PACKET = 2 * 1024 * 1024
"""With MQTT 5 the broker is told not to send anything larger (bytes): a huge message never reaches a small Pi.
Above the 1 MB packets install.md has the broker refuse (max_packet_size): Mosquitto 2.0 stalls a client after
20 messages it dropped for being larger than it asked for (``probe.py``), so none should be dropped for that."""
class Client(mqtt.Client):
    """paho's client, keeping why the last connection attempt failed (on_connect_fail is told no reason)."""

    last_error: BaseException | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


class MqttLink:
    """One paho client with the last will, reconnects and subscriptions set up."""

    def __init__(
        self,
        cfg: MqttConfig,
        topics: Topics,
        client_id: str,
        on_event: Callable[[LinkEvent], None],
        subscriptions: list[str],
        retry: tuple[float, float] = (1, 30),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.topics = topics
        self._on_event = on_event
        self._subscriptions = subscriptions
        v5 = cfg.protocol == "5"
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        self.client.will_set(topics.availability, "offline", qos=1, retain=True)
        if cfg.username:
            self.client.username_pw_set(cfg.username, read_password(cfg))
        if cfg.tls is not None:
            self.client.tls_set(
                ca_certs=cfg.tls.ca_file,
                certfile=cfg.tls.cert_file,
                keyfile=cfg.tls.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        # paho annotates ints, but its backoff arithmetic takes fractions (the tests use 0.05 s).
        self.client.reconnect_delay_set(min_delay=retry[0], max_delay=retry[1])  # type: ignore[arg-type]
        self._clock = clock
        self.failures = Failures(f"{cfg.host}:{cfg.port}", clock, REPEAT_WARNING)
        self.takeovers = Takeovers(client_id, clock)
        self.client.on_connect = self._connected
        self.client.on_connect_fail = self._connect_failed
        self.client.on_disconnect = self._disconnected
        self.client.on_publish = self._published
        self.client.on_message = self._message
        self.connected = False
        self._stopping = False
        self._refused = False
        self.probe = Probe(f"{topics.root}/probe")  # a broker that stopped passing messages on is left (probe.py)

    def start(self) -> None:
        """Connect in the background; paho keeps retrying until the broker answers."""
        log.info("connecting to %s:%d (MQTT %s)", self.cfg.host, self.cfg.port, self.cfg.protocol)
        properties = None
        if self.cfg.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.MaximumPacketSize = MAX_PACKET
        self.client.connect_async(
            self.cfg.host, self.cfg.port, keepalive=int(self.cfg.keepalive), properties=properties
        )
        self.client.loop_start()

    def stop(self, timeout: float = 2.0) -> None:
        """Say offline (a clean stop is not a crash), then disconnect."""
        self._stopping = True
        if self.connected:
            info = self.client.publish(self.topics.availability, "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def check(self) -> None:
        """Send the probe when due; with one late, connect again (``probe.py``). On the link's own clock: the
        broker's answer takes real time, whatever the agent's clock says."""
        if self.connected:
            self.probe.check(self.client, self._clock())

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> int | None:
        """Hand a message to paho; the message id, or None when it was not accepted."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        # While disconnected paho keeps QoS 1 messages and sends them on reconnect.
        queued = info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS and not queued:
            log.debug("publish to %s not sent now: %s", topic, mqtt.error_string(info.rc))
            return None
        return info.mid

    # paho callbacks (network thread)
    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused = True  # paho now closes the socket: that is this failure, not another
            self.failures.failed(f"the broker refused the connection ({reason_code})")
            return
        self.failures.connected(quiet=self.takeovers.told)
        self.takeovers.since = self.takeovers.clock()
        self.probe.connected()
        for topic in [self.probe.topic, *self._subscriptions]:
            client.subscribe(topic, qos=1)
        self.connected = True  # after the subscriptions: a probe published now comes after them
        client.publish(self.topics.availability, "online", qos=1, retain=True)
        self._on_event(Connected())

    def _connect_failed(self, client, userdata) -> None:
        error = client.last_error
        self.failures.failed(describe(error) if error is not None else "the connection failed")

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected
        self.connected = False
        if was and not self._stopping:
            told = self.takeovers.lost(reason_code)  # already told: not a warning every second
            log.log(logging.DEBUG if told else logging.WARNING, "lost the broker (%s); retrying", reason_code)
        elif not was and not self._stopping and not self._refused:
            # The socket opened but closed before the broker answered, e.g. plain MQTT to a TLS port.
            self.failures.failed(f"the connection closed before the broker answered ({reason_code})")
        self._refused = False
        self._on_event(Disconnected(str(reason_code)))

    def _published(self, client, userdata, mid, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker rejected message %d: %s", mid, reason_code)
            self.probe.refused(mid)
            return
        self._on_event(Published(mid))

    def _message(self, client, userdata, message) -> None:
        if message.topic == self.probe.topic:
            self.probe.heard(message.payload)
            return
        self._on_event(Incoming(message.topic, message.payload, bool(message.retain)))
