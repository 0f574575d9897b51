"""The probe each program sends itself: a late one drops the connection, once, ever more rarely when it goes on,
and never where the broker has never passed one back over several connections (its access rules forbid it)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

from sentinel.mqtt.probe import EVERY_S, GIVE_UP, LATE_S, MOST_S, Probe


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


def check(probe: Probe, client: Client, now: float) -> None:
    probe.check(client, now)  # type: ignore[arg-type]


def reconnecting(probe: Probe, client: Client, until: float) -> list[float]:
    """A second at a time until ``until``, paho connecting again at once after each drop: when each drop came."""
    drops, now = [], 0.0
    while now < until:
        now += 1.0
        if probe.dropped:
            probe.connected()
        check(probe, client, now)
        if probe.dropped:
            drops.append(now)
    return drops


def test_a_probe_goes_every_half_minute_and_one_late_drops_the_connection_once() -> None:
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    check(probe, client, 0.0)
    probe.heard(client.sent[-1])
    assert probe.works
    check(probe, client, EVERY_S - 1)
    assert len(client.sent) == 1  # not due yet
    check(probe, client, EVERY_S)
    assert len(client.sent) == 2
    probe.heard(client.sent[0])  # an old one, or another program's: not this one
    check(probe, client, EVERY_S + LATE_S)
    assert not probe.dropped  # late only past LATE_S
    check(probe, client, EVERY_S + LATE_S + 1)
    assert probe.dropped
    check(probe, client, EVERY_S + LATE_S + 60)
    assert probe.dropped and len(client.sent) == 2  # nothing more until paho has connected again
    probe.connected()
    check(probe, client, EVERY_S + LATE_S + 61)
    assert not probe.dropped and len(client.sent) == 3  # a probe at once on the new connection


def test_a_first_probe_that_never_comes_back_drops_the_connection_too() -> None:
    # Before: only a probe after one had come back was judged, so a program that started (or came back) into a
    # stalled session, with messages too large for it waiting, was never checked.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    check(probe, client, 0.0)
    check(probe, client, LATE_S + 1)
    assert probe.dropped and not probe.works


def test_drops_again_and_again_come_ever_more_rarely(caplog) -> None:
    # Retained messages too large for us stall every new connection again: not a drop every half minute for ever.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    check(probe, client, 0.0)
    probe.heard(client.sent[-1])
    with caplog.at_level(logging.WARNING):
        drops = reconnecting(probe, client, 6 * 3600)
    gaps = [b - a for a, b in itertools.pairwise(drops)]
    assert gaps[:4] == [2 * LATE_S, 4 * LATE_S, 8 * LATE_S, 16 * LATE_S]  # each wait twice the last
    assert max(gaps) <= MOST_S + LATE_S + 2 and len(drops) < 30
    assert "max_packet_size" in caplog.records[-1].getMessage() and caplog.records[-1].levelname == "ERROR"


def test_a_broker_that_never_passes_the_probe_on_is_not_left_again_and_again(caplog) -> None:
    # Access rules that forbid the topic: the probe never comes back, and after a few connections that is taken
    # for what it is, said once, and the broker is no longer checked.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    with caplog.at_level(logging.WARNING):
        drops = reconnecting(probe, client, 3 * 3600)
    assert len(drops) == GIVE_UP and probe.off
    assert "access rules" in caplog.records[-1].getMessage()
