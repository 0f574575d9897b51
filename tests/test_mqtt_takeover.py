"""Two clients with one client id (a second agent for the same home): told once, not a warning every second."""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from conftest import Mosquitto, wait_for
from sentinel.config import MqttConfig
from sentinel.mqtt.link import Disconnected, LinkEvent, MqttLink, Takeovers
from sentinel.mqtt.topics import Topics
from sentinel.mqtt.trouble import Failures

TOLD = "another client with the same client id (sentinel-agent-{home}) took over this connection ("
ASKED = "): is a second sentinel agent running with this home.id, from a config copied to another Pi or started by hand"
KICKED = (
    "the broker keeps closing this connection (client id sentinel-agent-{home}) just after accepting it (closed 3"
    " times in a row just after connecting): another client with the same client id may be taking it over (a second"
    " sentinel agent with this home.id"
)
OR_NOT = "or the broker or the network keeps closing connections"


class Intruder:
    """A second client with the agent's client id, reconnecting as paho does (as a second agent's link would)."""

    def __init__(self, port: int, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(0.05, 0.2)  # type: ignore[arg-type]
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def records(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    found = [r.getMessage() for r in caplog.records if r.name == "sentinel.mqtt.link" and r.levelno == level]
    return [m for m in found if text in m]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_second_client_with_the_same_id_is_told_once_per_episode_not_at_every_reconnect(
    broker: Mosquitto, caplog, protocol: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="sentinel.mqtt.link")
    home = f"twice{protocol.replace('.', '')}"
    client_id = f"sentinel-agent-{home}"
    events: list[LinkEvent] = []
    lock = threading.Lock()

    def on_event(event: LinkEvent) -> None:
        with lock:
            events.append(event)

    def drops() -> int:
        with lock:
            return sum(isinstance(e, Disconnected) for e in events)

    now = [1000.0]  # the link's clock: a connection lasts only as long as the test says
    cfg = MqttConfig(host="127.0.0.1", port=broker.port, protocol=protocol)  # type: ignore[arg-type]
    link = MqttLink(cfg, Topics(f"sentinel/{home}"), client_id, on_event, [], retry=(0.05, 0.2), clock=lambda: now[0])
    link.start()
    intruder: Intruder | None = None
    try:
        wait_for(lambda: link.connected, 10, "the link to connect")
        now[0] += 3600  # an hour up before the second agent starts
        intruder = Intruder(broker.port, client_id)
        wait_for(lambda: drops() >= 12, 20, "a dozen takeovers")
        (told,) = records(caplog, logging.ERROR, "keeps closing")
        assert told.startswith(KICKED.format(home=home)) and told.endswith(OR_NOT)
        assert len(records(caplog, logging.WARNING, "lost the broker")) <= 3  # before it was told, not each second
        assert len(records(caplog, logging.DEBUG, "lost the broker")) >= 8

        intruder.stop()  # the second agent is stopped: the connection lasts
        intruder = None
        wait_for(lambda: link.connected, 10, "the link to connect again")
        now[0] += 60
        intruder = Intruder(broker.port, client_id)  # and started again: a new episode, told again, once
        seen = drops()
        wait_for(lambda: drops() >= seen + 12, 20, "a dozen more takeovers")
        assert len(records(caplog, logging.ERROR, "keeps closing")) == 2
    finally:
        if intruder is not None:
            intruder.stop()
        link.stop()


def test_a_broker_that_says_the_session_was_taken_over_is_told_at_once(caplog) -> None:
    # A broker that says why (MQTT 5's reason 0x8E) is believed at the first loss; Mosquitto 2.0.11 does not say.
    caplog.set_level(logging.DEBUG, logger="sentinel.mqtt.link")
    now = [0.0]
    takeovers = Takeovers("sentinel-agent-mary", lambda: now[0])
    takeovers.since = now[0]
    now[0] += 86400  # a day up
    assert takeovers.lost(ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E)) is True
    (told,) = records(caplog, logging.ERROR, "took over")
    assert told.startswith(TOLD.format(home="mary") + "the broker says: Session taken over" + ASKED)
    for _ in range(5):  # every second, as the two knock each other off
        takeovers.since = now[0]
        now[0] += 1
        assert takeovers.lost(ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E)) is True
    assert len(records(caplog, logging.ERROR, "took over")) == 1
    # A connection lost once, after it lasted, for another reason: not a takeover.
    takeovers.since = now[0]
    now[0] += 600
    assert takeovers.lost(ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")) is False
    assert len(records(caplog, logging.ERROR, "took over")) == 1


def test_a_connection_closed_again_and_again_is_told_again_every_few_minutes_with_the_count(caplog) -> None:
    # It may be the broker or the network, not a second agent: the one line must not be the last word for hours.
    caplog.set_level(logging.DEBUG, logger="sentinel.mqtt.link")
    now = [0.0]
    takeovers = Takeovers("sentinel-agent-mary", lambda: now[0], repeat=300.0)
    unspecified = ReasonCode(PacketTypes.DISCONNECT, "Unspecified error")
    for _ in range(200):  # closed 2 s after each connection, for 400 s
        takeovers.since = now[0]
        now[0] += 2
        takeovers.lost(unspecified)
    told = records(caplog, logging.ERROR, "keeps closing")
    assert len(told) == 2 and "(closed 3 times in a row" in told[0] and "(closed 153 times in a row" in told[1]


def test_a_real_outage_is_told_over_even_while_the_connection_keeps_being_closed(caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="sentinel.mqtt.link")
    failures = Failures("127.0.0.1:1883", lambda: 0.0, 300.0)
    failures.failed("connection refused (is the broker running, and on this port?)")
    failures.connected(quiet=True)  # during an episode of closed connections, an outage's end is still told
    assert records(caplog, logging.INFO, "connected to the broker at 127.0.0.1:1883 after 1 failed attempts")


def test_two_notifiers_with_one_client_id_are_told_as_such(tmp_path, broker: Mosquitto, monkeypatch, caplog) -> None:
    # Two notifiers started from one circle.yaml on one machine: each logged only "lost the broker (Unspecified
    # error)", some 40 times a minute, and never said why.
    from circle_driver import SECRET, Circle

    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    caplog.set_level(logging.DEBUG, logger="sentinel.mqtt.link")
    c = Circle(tmp_path / "c", broker.port)
    intruder = Intruder(broker.port, c.config.mqtt.client_id or "")
    try:
        wait_for(lambda: records(caplog, logging.ERROR, "a second notifier"), 30, "the takeover told")
        (told,) = records(caplog, logging.ERROR, "a second notifier")
        assert f"(client id {c.config.mqtt.client_id})" in told or f"({c.config.mqtt.client_id}) took over" in told
        assert "two started from one circle.yaml on one machine" in told and "home.id" not in told
    finally:
        intruder.stop()
        c.close()


def test_how_long_the_broker_was_away_is_said_to_the_second() -> None:
    from sentinel.mqtt.trouble import _minutes

    # Before: an outage of 2 min 31 s was said as "3 min".
    assert [_minutes(s) for s in (45, 119.6, 151, 180, 3600.4)] == ["45 s", "2 min", "2 min 31 s", "3 min", "60 min"]
