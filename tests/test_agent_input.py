"""Hostile messages on the agent's subscriptions: each is logged and dropped, and the help button still works."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from test_agent import T0, Home

from conftest import Mosquitto, Recorder
from sentinel.agent import inbox
from sentinel.clock import ManualClock

DEEP = b'{"who": ' + b"[" * 1000 + b"]" * 1000 + b"}"
"""JSON nested a thousand levels deep: Python's parser gives up with RecursionError."""


@pytest.fixture
def make_home(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Home]]:
    made: list[Home] = []

    def make(name: str, **kwargs: str) -> Home:
        made.append(Home(tmp_path / name, broker.port, clock=ManualClock(T0), home=name, **kwargs))
        return made[-1]

    yield make
    for h in made:
        h.stop()


@pytest.fixture
def publish(broker: Mosquitto) -> Iterator[Callable[..., None]]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()

    def send(topic: str, payload: bytes, retain: bool = False) -> None:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    yield send
    client.disconnect()
    client.loop_stop()


def command_works(h: Home, rec: Recorder, transaction: int) -> dict:
    """A well-formed command still gets its reply (it comes after anything the agent did before)."""
    rec.client.publish(f"{h.topics.root}/cmd/status", f'{{"transaction": {transaction}}}', qos=1)
    return h.pump_until(  # type: ignore[return-value]
        lambda: next((r for r in rec.on(h.topics.reply("status")) if r.get("transaction") == transaction), None),
        f"the reply to command {transaction}",
    )


def help_works(h: Home, rec: Recorder) -> None:
    h.press(0.6)
    h.pump_until(lambda: rec.on(h.topics.alert), "the help alert")


def test_a_lone_surrogate_or_control_characters_in_a_name_are_cleaned_before_the_store(
    make_home, recorder, publish
) -> None:
    h = make_home("surrogate").start(threaded=False)
    rec = recorder([h.topics.reply("away"), h.topics.reply("status"), h.topics.status, h.topics.alert])
    # A lone surrogate cannot be written by SQLite (UnicodeEncodeError); the rest would garble a phone's screen.
    publish(f"{h.topics.root}/cmd/away", rb'{"who": "Ann\ud800\u0007\n\u202e (next door)"}')
    h.pump_until(lambda: rec.on(h.topics.reply("away")), "the reply to away")
    assert h.agent.mode == "away"
    assert h.store.last_flip().reason == "set to away by Ann (next door)"  # type: ignore[union-attr]
    publish(f"{h.topics.root}/cmd/home", ('{"who": "' + "A" * 5000 + '"}').encode())
    h.pump_until(lambda: h.agent.mode == "home", "the agent back home")
    reason = h.store.last_flip().reason  # type: ignore[union-attr]
    assert reason.startswith("set to home by AAA") and len(reason) <= len("set to home by ") + inbox.MAX_NAME
    command_works(h, rec, 1)
    help_works(h, rec)


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [(r'"\ud800"', ""), (r'"t-\udfff-1"', "t--1"), (r'{"id": "\ud800", "n": ["7\udc00"]}', {"id": "", "n": ["7"]})],
)
def test_a_lone_surrogate_in_a_transaction_still_gets_its_reply(
    make_home, recorder, publish, caplog, sent: str, echoed: object
) -> None:
    h = make_home("transaction").start(threaded=False)
    rec = recorder([h.topics.reply("pause"), h.topics.alert, h.topics.reply("status")])
    with caplog.at_level(logging.WARNING):
        publish(f"{h.topics.root}/cmd/pause", f'{{"transaction": {sent}, "who": "Ann"}}'.encode())
        (reply,) = h.pump_until(lambda: rec.on(h.topics.reply("pause")), "the reply to pause")  # type: ignore[misc]
    assert reply == {"status": "ok", "transaction": echoed}  # the lone surrogate dropped, as from a name
    assert h.agent.mode == "paused"
    assert not [r for r in caplog.records if "dropped it" in r.getMessage()]
    command_works(h, rec, 8)
    help_works(h, rec)


@pytest.mark.parametrize("leaf", ["cmd/away", "alert/testhome-help-1/ack"])
def test_json_nested_a_thousand_deep_is_dropped(make_home, recorder, publish, caplog, leaf: str) -> None:
    h = make_home("deep" + leaf.replace("/", "-")).start(threaded=False)
    rec = recorder([h.topics.reply("status"), h.topics.alert])
    with caplog.at_level(logging.WARNING):
        publish(f"{h.topics.root}/{leaf}", DEEP)
        command_works(h, rec, 2)
    assert any("ignored a malformed message" in r.getMessage() for r in caplog.records)
    assert h.agent.mode == "home"
    help_works(h, rec)


@pytest.mark.parametrize(
    "poison",
    [rb'{"who": "\ud800"}', DEEP, b'{"who": "' + b"x" * 20000 + b'"}'],
    ids=["surrogate", "deep", "large"],
)
def test_a_retained_poison_on_cmd_does_not_stop_the_agent_at_start(
    make_home, recorder, publish, poison: bytes, request
) -> None:
    name = "retained-" + request.node.callspec.id
    publish(f"sentinel/{name}/cmd/away", poison, retain=True)
    try:
        for _ in range(2):  # and again after a restart: the broker hands it over at every start
            h = make_home(name).start(threaded=False)
            rec = recorder([h.topics.reply("status"), h.topics.alert])
            command_works(h, rec, 3)
            help_works(h, rec)
            h.stop()
    finally:
        publish(f"sentinel/{name}/cmd/away", b"", retain=True)  # clear it for the rest of the session


def test_a_message_larger_than_a_command_is_dropped_unread(make_home, recorder, publish, caplog) -> None:
    h = make_home("large").start(threaded=False)
    rec = recorder([h.topics.reply("status"), h.topics.reply("away")])
    body = b'{"who": "Ann", "pad": "' + b" " * 9000 + b'"}'
    assert inbox.MAX_PAYLOAD < len(body) < 16384  # let through by the broker, dropped by the agent
    with caplog.at_level(logging.WARNING):
        publish(f"{h.topics.root}/cmd/away", body)
        command_works(h, rec, 4)
    assert any(f"{len(body)} bytes, more than the" in r.getMessage() for r in caplog.records)
    assert h.agent.mode == "home" and not rec.on(h.topics.reply("away"))


def test_an_ack_with_a_hostile_name_and_note_closes_the_alert_with_clean_words(
    make_home, recorder, publish
) -> None:
    h = make_home("ack").start(threaded=False)
    rec = recorder([h.topics.alert])
    help_works(h, rec)
    alert_id = rec.on(h.topics.alert)[0]["alert_id"]
    note = '"Ann is with Mary.\\ud800\\u0000' + "!" * 2000 + '"'
    publish(h.topics.ack(alert_id), ('{"what": "resolve", "who": "Ann\\udfff", "note": ' + note + "}").encode())
    h.pump_until(lambda: not h.agent.journal.alerts, "the alert to close")
    closed = h.store._read("SELECT closed_by, close_note FROM alerts WHERE alert_id = ?", (alert_id,))[0]
    assert closed[0] == "Ann"
    assert closed[1].startswith("Ann is with Mary. !!!") and len(closed[1]) == inbox.MAX_NOTE


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ann", "Ann"),
        ("Ann\ud800", "Ann"),
        ("  Ann\t(next\ndoor)\x00 ", "Ann (next door)"),
        ("\u202eAnn", "Ann"),
        ("Zoë 👵🏽", "Zoë 👵🏽"),
        ("x" * 100, "x" * 79 + "…"),
    ],
)
def test_clean_keeps_what_a_person_wrote(raw: str, clean: str) -> None:
    assert inbox.clean(raw, inbox.MAX_NAME) == clean


def test_retained_commands_are_not_obeyed_again_at_the_next_start(make_home, recorder, publish, caplog) -> None:
    h = make_home("kept")
    h.start(threaded=False)
    rec = recorder([h.topics.alert, h.topics.reply("status")])
    help_works(h, rec)
    alert_id = rec.on(h.topics.alert)[0]["alert_id"]
    h.stop()
    # A carer testing with mosquitto_pub -r leaves them on the broker: it hands them over at every (re)connect.
    kept = [f"{h.topics.root}/cmd/ok", f"{h.topics.root}/cmd/away", h.topics.ack(alert_id)]
    for topic in kept:
        publish(topic, b'{"who": "Ann", "what": "resolve"}', retain=True)
    try:
        with caplog.at_level(logging.WARNING):
            again = make_home("kept").start(threaded=False)  # the same database: the help alert is still open
            command_works(again, rec, 6)  # answered after the retained ones were handed over
        assert len(again.agent.journal.alerts) == 1 and again.agent.mode == "home"
        assert [a.kind for a, closed, _ in again.store.alerts() if closed is None] == ["help"]
        warned = [r.getMessage() for r in caplog.records if "ignored a retained message" in r.getMessage()]
        assert [t for t in kept if any(t in w for w in warned)] == kept
        # Removing them (an empty retained message, delivered to the running agent) is not a command either.
        for topic in kept:
            publish(topic, b"", retain=True)
        command_works(again, rec, 7)
        assert len(again.agent.journal.alerts) == 1 and again.agent.mode == "home"
    finally:
        for topic in kept:
            publish(topic, b"", retain=True)


def test_a_broker_stalled_by_oversized_messages_is_left_and_commands_reach_the_agent_again(
    make_home, recorder, publish, monkeypatch
) -> None:
    # Mosquitto 2.0 drops a QoS 1 message larger than a client asked for (MQTT 5 Maximum Packet Size) without
    # freeing its place among the client's 20 in flight. Before: after 20 such messages nothing at QoS 1 reached
    # the agent again (the notifier's acks, commands), while its connection stayed up.
    from sentinel.mqtt import probe
    from sentinel.mqtt.link import MAX_PACKET

    monkeypatch.setattr(probe, "EVERY_S", 0.2)  # the probe's own times are real ones (30 s each, in the field)
    monkeypatch.setattr(probe, "LATE_S", 1.0)
    h = make_home("stalled").start(threaded=False)
    rec = recorder([h.topics.reply("status")])
    h.pump_until(lambda: h.agent.link.probe.works, "the first probe back")
    connections = h.agent.connections
    for _ in range(21):
        publish(f"{h.topics.root}/cmd/status", b"x" * (MAX_PACKET + 1000))
    # A probe goes out and does not come back: the agent leaves the connection and connects again.
    h.pump_until(lambda: h.agent.connections > connections, "the agent to connect again")
    command_works(h, rec, 7)  # and QoS 1 reaches it again (as after any outage, what came meanwhile is lost)


@pytest.mark.parametrize("transaction", ["NaN", "-Infinity", "[1, Infinity]", "1e400"])
def test_a_transaction_json_cannot_hold_is_sent_back_as_text(make_home, recorder, transaction: str) -> None:
    # Python reads NaN and Infinity (1e400 too, as Infinity); before, they were echoed as such: not JSON.
    h = make_home("nan").start(threaded=False)
    rec = recorder([h.topics.reply("status")])
    rec.client.publish(f"{h.topics.root}/cmd/status", f'{{"transaction": {transaction}}}', qos=1)
    h.pump_until(lambda: rec.on(h.topics.reply("status")), "the reply")
    (raw,) = [m.payload for m in rec.messages if m.topic == h.topics.reply("status")]

    def strict(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    reply = json.loads(raw, parse_constant=strict)
    assert reply["status"] == "ok" and isinstance(reply["transaction"], str)


def test_a_flood_of_junk_commands_is_logged_ten_times_a_minute_and_a_command_still_works(
    make_home, recorder, publish, caplog
) -> None:
    # Before: one warning per message; 10,000 of them in a third of a second wrote 10,000 lines to the journal.
    h = make_home("flood").start(threaded=False)
    rec = recorder([h.topics.reply("status")])
    with caplog.at_level(logging.WARNING, logger="sentinel.agent.messages"):
        for i in range(60):
            publish(f"{h.topics.root}/cmd/away", b"{bad" if i % 2 else b"[1]")
        command_works(h, rec, 1)
    said = [r.getMessage() for r in caplog.records if r.name == "sentinel.agent.messages"]
    assert len(said) == 10 and all(m.startswith("ignored a") for m in said)
    assert h.agent._junk.skipped == 50  # counted, and said with the next line allowed


def test_a_broker_whose_access_rules_refuse_the_probe_is_not_left(tmp_path: Path, caplog) -> None:
    # Over MQTT 5 Mosquitto answers "not authorized" to a publish its access rules forbid: the probe then never
    # comes back, which says nothing of the connection. Said once; the agent stays connected and works.
    acl = tmp_path / "acl"
    acl.write_text("topic deny sentinel/denied/probe\ntopic readwrite #\n")
    server = Mosquitto(tmp_path / "broker", extra=(f"acl_file {acl}",))
    server.start()
    h = Home(tmp_path / "home", server.port, clock=ManualClock(T0), home="denied").start(threaded=False)
    try:
        with caplog.at_level(logging.WARNING):
            h.pump_until(lambda: h.agent.link.probe.off, "the probe refused")
        rec = Recorder(server.port, [h.topics.reply("status")])
        try:
            command_works(h, rec, 1)
        finally:
            rec.client.disconnect()
            rec.client.loop_stop()
        assert h.agent.connections == 1 and not h.agent.link.probe.dropped
        assert any("refuses the probe" in r.getMessage() for r in caplog.records)
    finally:
        h.stop()
        server.stop()
