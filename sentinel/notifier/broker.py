"""The notifier's MQTT client: a persistent session, so that alerts wait in the broker while it is away."""

from __future__ import annotations

import socket
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sentinel.config import read_password
from sentinel.config.circle import CircleConfig
from sentinel.config.model import MqttConfig
from sentinel.mqtt import link
from sentinel.notifier.intake import MAX_PACKET

SESSION_EXPIRY_S = 7 * 86400  # keep our alerts queued through a week's outage


def client_id_of(cfg: MqttConfig) -> str:
    """The notifier's client id: the config's, else one of this machine's."""
    return cfg.client_id or f"sentinel-notifier-{socket.gethostname()}"


def client(cfg: MqttConfig) -> mqtt.Client:
    """A paho client with the circle's identity, login and TLS; callbacks are the caller's to set."""
    client_id = client_id_of(cfg)
    v5 = cfg.protocol == "5"
    kwargs: dict[str, Any] = {} if v5 else {"clean_session": False}
    made = link.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, **kwargs
    )
    if cfg.username:
        made.username_pw_set(cfg.username, read_password(cfg))
    if cfg.tls is not None:
        made.tls_set(ca_certs=cfg.tls.ca_file, certfile=cfg.tls.cert_file, keyfile=cfg.tls.key_file)
    made.reconnect_delay_set(1, 30)
    return made


def connect(made: mqtt.Client, cfg: MqttConfig) -> None:
    """Connect in the background, keeping the session (and the alerts queued in it) across outages."""
    if cfg.protocol != "5":
        made.connect_async(cfg.host, cfg.port, keepalive=int(cfg.keepalive))
        return
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    # The broker drops anything larger before it is sent to us: paho would hold a huge message
    # in memory several times over before our own size check could park it.
    properties.MaximumPacketSize = MAX_PACKET
    made.connect_async(cfg.host, cfg.port, keepalive=int(cfg.keepalive), clean_start=False, properties=properties)


def subscriptions(cfg: CircleConfig) -> list[tuple[str, int]]:
    """What the notifier follows: alerts and notices (shared among a group's notifiers), acks, and liveness."""
    base = cfg.mqtt.base_topic
    shared = f"$share/{cfg.shared_group}/" if cfg.shared_group else ""
    topics = [(f"{shared}{base}/+/alert", 1), (f"{base}/+/alert/+/ack", 1), (f"{shared}{base}/+/notice", 1)]
    if cfg.watch_silence:
        topics += [(f"{base}/+/heartbeat", 0), (f"{base}/+/availability", 1)]
    if any(h.resident is not None or h.daily_note for h in cfg.homes):  # checking in needs the homes' status
        topics.append((f"{base}/+/status", 1))
    return topics
