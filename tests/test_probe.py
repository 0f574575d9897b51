"""The probe each program sends itself: a late one drops the connection, once, ever more rarely when it goes on,
and never where the broker refuses it (its access rules forbid the topic)."""

from __future__ import annotations

import itertools
import logging
from types import SimpleNamespace
from typing import Any

from sentinel.mqtt.probe import EVERY_S, LATE_S, MOST_S, Probe


class Client:
    """What the probe asks of paho's client: a publish, and its socket (none: dropping it is tested with Mosquitto,
    in test_agent_input.py and test_notify_hostile.py)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def publish(self, topic: str, payload: bytes, qos: int) -> Any:
        assert (topic, qos) == ("sentinel/mary/probe", 1)
        self.sent.append(payload)
        return SimpleNamespace(mid=len(self.sent))  # paho's message info: its id

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


def test_a_probe_the_broker_refuses_turns_the_checks_off(caplog) -> None:
    # Access rules that forbid the topic: over MQTT 5 the broker says "not authorized" to the probe, and its
    # absence then says nothing of the connection. Said once; nothing is dropped.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    with caplog.at_level(logging.WARNING):
        check(probe, client, 0.0)
        probe.refused(2)  # another message's refusal
        assert not probe.off
        probe.refused(1)
        drops = reconnecting(probe, client, 3 * 3600)
    assert probe.off and drops == [] and len(client.sent) == 1
    assert "access rules" in caplog.records[-1].getMessage()


def test_started_into_retained_messages_too_large_it_never_gives_up(caplog) -> None:
    # A broker that never passed a probe back, and never refused one (a stall from the start, or access rules
    # over MQTT 3.1.1): dropped ever more rarely, for ever. Before, it gave up after three connections, and a
    # program started while such messages were retained stayed deaf.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    with caplog.at_level(logging.WARNING):
        drops = reconnecting(probe, client, 6 * 3600)
    assert len(drops) > 20 and not probe.off and not probe.works


def test_a_probe_back_after_drops_makes_the_next_stall_noticed_as_soon_as_the_first() -> None:
    # Before: a probe back reset the count but not the wait, so a new stall could go unnoticed for 15 minutes.
    probe, client = Probe("sentinel/mary/probe"), Client()
    probe.connected()
    drops = reconnecting(probe, client, 3 * 3600)  # stalled: the waits grew to 15 minutes
    now = drops[-1] + 1
    probe.connected()
    check(probe, client, now)
    probe.heard(client.sent[-1])  # the messages were cleared: a probe comes back
    check(probe, client, now + EVERY_S)  # the next goes, and a new stall begins
    check(probe, client, now + EVERY_S + LATE_S + 1)
    assert probe.dropped
