"""The agent's connection to the broker, built on paho-mqtt 2.

Callbacks run on paho's network thread; they only turn what happened into
messages for the agent's queue, so all decisions stay on the agent's thread.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sentinel.config import MqttConfig, read_password
from sentinel.mqtt.topics import Topics

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

REPEAT_WARNING = 300.0
"""While the broker stays unreachable for the same reason, warn again this often (seconds)."""

MAX_PACKET = 16384
"""With MQTT 5 the broker is told not to send anything larger (bytes): a huge message never reaches a small Pi."""
SHORT_LIVED, KICKED_IN_A_ROW = 10.0, 3
"""This many connections in a row closed within so many seconds of being accepted are taken over by another client
with the same client id: Mosquitto (2.0.11 at least) closes the old one without a reason, even with MQTT 5."""


def describe(exc: BaseException) -> str:
    """Why a connection attempt failed, in words an installer can act on."""
    if isinstance(exc, socket.gaierror):
        return f"the host name could not be resolved ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running, and on this port?)"
    # reason and verify_message are set by the ssl module's C code, not by every SSLError.
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
        return f"TLS failed: the broker's certificate was not accepted ({detail})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({getattr(exc, 'reason', None) or exc})"
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


class Client(mqtt.Client):
    """paho's client, keeping why the last connection attempt failed (on_connect_fail is told no reason)."""

    last_error: BaseException | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            self.last_error = exc
            raise


class Failures:
    """Warn when the broker cannot be reached: at the first failure, on a new reason, then every few minutes."""

    def __init__(self, where: str, clock: Callable[[], float], repeat: float) -> None:
        self.where = where
        self.clock = clock
        self.repeat = repeat
        self.count = 0
        self._since: float | None = None
        self._reason = ""
        self._warned_at = 0.0

    def failed(self, reason: str) -> None:
        """One attempt failed for ``reason``."""
        now = self.clock()
        self.count += 1
        if self._since is None:
            self._since = now
            log.warning("cannot connect to the broker at %s: %s; retrying", self.where, reason)
        elif reason != self._reason or now - self._warned_at >= self.repeat:
            log.warning(
                "still cannot connect to the broker at %s after %d attempts over %s: %s; retrying",
                self.where,
                self.count,
                _minutes(now - self._since),
                reason,
            )
        else:
            log.debug("cannot connect to the broker at %s: %s", self.where, reason)
            return
        self._reason = reason
        self._warned_at = now

    def connected(self, quiet: bool = False) -> None:
        """The broker answered; say so if it had not before (``quiet``: at debug, as it keeps answering)."""
        if quiet:
            log.debug("connected to the broker at %s", self.where)
        elif self._since is not None:
            log.info(
                "connected to the broker at %s after %d failed attempts over %s",
                self.where,
                self.count,
                _minutes(self.clock() - self._since),
            )
        else:
            log.info("connected to the broker at %s", self.where)
        self.count = 0
        self._since = None
        self._reason = ""


class Takeovers:
    """Tell once, not at every reconnect, that another client with the same client id keeps taking over."""

    def __init__(self, client_id: str, clock: Callable[[], float]) -> None:
        self.client_id = client_id
        self.clock = clock
        self.since: float | None = None  # when the broker accepted the connection now up
        self.short = 0  # connections in a row closed soon after they were accepted
        self.told = False  # this episode is told: until a connection lasts, a loss is logged at debug only

    def lost(self, reason: ReasonCode) -> bool:
        """The connection accepted at ``since`` was lost for ``reason``; True once this episode is told."""
        if self.since is not None and self.clock() - self.since >= SHORT_LIVED:
            self.short, self.told = 0, False  # it lasted: whatever came before is over
        self.short, self.since = self.short + 1, None
        taken = reason.value == 0x8E  # MQTT 5's "Session taken over" (a newer broker may say why)
        if not self.told and (taken or self.short >= KICKED_IN_A_ROW):
            self.told = True
            log.error(
                "another client with the same client id (%s) took over this connection (%s): is a second sentinel"
                " agent running with this home.id, from a config copied to another Pi or started by hand while the"
                " service runs? Stop it, or give it a home.id of its own; until then the two knock each other off"
                " the broker every second or so",
                self.client_id,
                f"the broker says: {reason}" if taken else f"closed {self.short} times in a row just after connecting",
            )
        return self.told


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


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
        self.connected = True
        self.failures.connected(quiet=self.takeovers.told)
        self.takeovers.since = self.takeovers.clock()
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
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
            return
        self._on_event(Published(mid))

    def _message(self, client, userdata, message) -> None:
        self._on_event(Incoming(message.topic, message.payload, bool(message.retain)))
