"""The probe each program sends itself: a late one drops the connection, once, and only where probes came back."""

from __future__ import annotations

from typing import Any

from sentinel.mqtt.probe import EVERY_S, LATE_S, Probe


class Client:
    """What the probe asks of paho's client: a publish, and its socket (none: dropping it is tested with Mosquitto,
    in test_agent_input.py and test_notify_hostile.py)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        assert (topic, qos) == ("sentinel/mary/probe", 1)
        self.sent.append(payload)

    def socket(self) -> Any:
        return None


def test_a_probe_goes_every_half_minute_and_one_late_drops_the_connection_once() -> None:
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    probe.check(client, 0.0)  # type: ignore[arg-type]
    probe.heard(client.sent[-1])
    assert probe.works
    probe.check(client, EVERY_S - 1)  # type: ignore[arg-type]
    assert len(client.sent) == 1  # not due yet
    probe.check(client, EVERY_S)  # type: ignore[arg-type]
    assert len(client.sent) == 2
    probe.heard(client.sent[0])  # an old one, or another program's: not this one
    probe.check(client, EVERY_S + LATE_S)  # type: ignore[arg-type]
    assert not probe.dropped  # late only past LATE_S
    probe.check(client, EVERY_S + LATE_S + 1)  # type: ignore[arg-type]
    assert probe.dropped
    probe.check(client, EVERY_S + LATE_S + 60)  # type: ignore[arg-type]
    assert probe.dropped and len(client.sent) == 2  # nothing more until paho has connected again
    probe.connected()
    probe.check(client, EVERY_S + LATE_S + 61)  # type: ignore[arg-type]
    assert not probe.dropped and len(client.sent) == 3  # a probe at once on the new connection


def test_a_broker_that_never_passes_the_probe_on_is_not_left_again_and_again() -> None:
    # Access rules that forbid the topic: the probe never comes back, and that is no fault of the connection.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    for t in range(0, 3600, 10):
        probe.check(client, float(t))  # type: ignore[arg-type]
    assert len(client.sent) == 1 and not probe.works and not probe.dropped
