"""The agent end to end: mock pins in, a real Mosquitto out."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from conftest import Mosquitto, Recorder, agent_yaml, gated_learning, wait_for
from sentinel.agent.app import Agent, Stop
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.core.events import Event
from sentinel.store import Store

if TYPE_CHECKING:
    from test_watch import Flat  # test_watch imports this module (``from_the_circle``)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HELP_PIN, PIR_PIN, DOOR_PIN = 22, 17, 27


class Home:
    """An agent on mock pins with its store, run on a thread or pumped by hand."""

    def __init__(self, tmp_path: Path, port: int, clock: ManualClock | None = None, **yaml: str) -> None:
        self.config = parse_config(agent_yaml(port, **yaml), "test.yaml")
        self.store = Store(tmp_path / "agent.db")
        self.factory = MockFactory()
        self.clock = clock
        self.agent = Agent(self.config, self.store, clock=clock, pin_factory=self.factory)
        self.topics = self.agent.topics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, threaded: bool = True) -> Home:
        self.agent.start()
        if threaded:
            self._thread = threading.Thread(target=self.agent.loop, args=(self._stop,), daemon=True)
            self._thread.start()
        wait_for(lambda: self.agent.link.connected, 10, "the agent to connect")
        if not threaded:  # pumped by hand: the relearned routine arrives through the queue
            wait_for(lambda: (self.agent.pump(), self.agent.routine_ready)[1], 30, "the routine")
        else:
            wait_for(lambda: self.agent.routine_ready, 30, "the routine")
        return self

    def stop(self) -> None:
        self._stop.set()
        self.agent.queue.put(Stop())  # wakes the loop now, not at its next deadline
        if self._thread:
            self._thread.join(5)
        self.agent.close()
        self.store.close()

    def pin(self, number: int):
        return self.factory.pin(number)

    def stored(self) -> list[Event]:
        """The events in the database now (the agent stores them in batches, so write the batch first)."""
        self.agent.journal.flush()
        return list(self.store.events())

    def press(self, seconds: float) -> None:
        self.pin(HELP_PIN).drive_low()
        self.wait(seconds)
        self.pin(HELP_PIN).drive_high()

    def wait(self, seconds: float) -> None:
        if self.clock is None:
            time.sleep(seconds)
        else:
            self.agent.pump()
            self.clock.advance(seconds)
            self.agent.pump()

    def pump_until(self, condition: Callable[[], object], what: str) -> object:
        def step() -> object:
            self.agent.pump()
            return condition()

        return wait_for(step, 10, what)


@pytest.fixture
def home(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Home]]:
    made: list[Home] = []

    def make(port: int | None = None, **kwargs) -> Home:
        made.append(Home(tmp_path / f"home{len(made)}", port or broker.port, **kwargs))
        return made[-1]

    yield make
    for h in made:
        h.stop()


def test_long_press_raises_a_help_alert_and_a_short_press_cancels_it(home, recorder) -> None:
    h = home().start()
    t = h.topics
    rec: Recorder = recorder([t.alert, t.status, t.acks])
    rec.wait(t.status, lambda s: s["state"] == "learning")

    h.press(0.6)
    alert = rec.wait(t.alert)
    assert alert["kind"] == "help" and alert["severity"] == "critical" and alert["home"] == "testhome"
    assert alert["reason"].startswith("Mary pressed the help button in the lounge at ")
    assert alert["facts"] == {"sensor": "help_button", "room": "lounge", "gesture": "long press"}
    assert alert["alert_id"].startswith("testhome-help-")
    status = rec.wait(t.status, lambda s: s["state"] == "alert")
    assert status["open_alerts"] == [alert["alert_id"]]
    wait_for(lambda: h.store.pending() == [], 5, "the broker to acknowledge the alert")

    h.press(0.1)
    ack = rec.wait(t.ack(alert["alert_id"]))
    assert ack["who"] == "resident" and ack["what"] == "cancel"
    assert rec.wait(t.status, lambda s: s["state"] == "learning" and s["last_checkin"])["open_alerts"] == []
    assert len(rec.on(t.alert)) == 1


def test_double_press_raises_help_at_once(home, recorder) -> None:
    h = home(clock=ManualClock(T0)).start(threaded=False)  # the agent's clock: a busy machine cannot stretch it
    rec = recorder([h.topics.alert])
    h.press(0.05)
    h.wait(0.1)
    h.press(0.05)
    h.pump_until(lambda: rec.on(h.topics.alert), "the alert")
    assert rec.on(h.topics.alert)[0]["facts"]["gesture"] == "double press"


def test_an_alert_raised_while_the_broker_is_down_arrives_once_it_is_back(home, own_broker: Mosquitto) -> None:
    h = home(port=own_broker.port).start()
    rec = Recorder(own_broker.port, [h.topics.alert], client_id="circle", clean=False)
    own_broker.stop()
    wait_for(lambda: not h.agent.link.connected, 10, "the agent to notice")
    h.press(0.6)
    wait_for(lambda: h.store.open_alerts("testhome"), 5, "the alert to be stored")
    assert len(h.store.pending()) == 1
    own_broker.start()
    alert = rec.wait(h.topics.alert, timeout=40)
    wait_for(lambda: h.store.pending() == [], 10, "the outbox to empty")
    assert [a.alert_id for a in h.store.open_alerts("testhome")] == [alert["alert_id"]]  # raised once
    rec.close()


def test_events_are_stored_with_the_injected_clock(home) -> None:
    clock = ManualClock(T0)
    h = home(clock=clock).start(threaded=False)
    h.pin(PIR_PIN).drive_high()
    h.wait(3)
    h.pin(PIR_PIN).drive_low()
    h.wait(29.9)
    assert [(e.value, e.wall) for e in h.stored()] == [(1, T0)]
    h.wait(0.1)  # exactly 30 s (hold_time) after the PIR went quiet
    assert [(e.sensor, e.kind, e.value, e.room, e.wall) for e in h.stored()] == [
        ("hall_pir", "motion", 1, "hall", T0),
        ("hall_pir", "motion", 0, "hall", T0 + timedelta(seconds=33)),
    ]


def test_a_chattering_reed_switch_through_real_gpiozero_devices_is_one_door_event(home) -> None:
    clock = ManualClock(T0)
    h = home(clock=clock).start(threaded=False)
    h.agent.pump()
    before = len(h.stored())
    door = h.pin(DOOR_PIN)
    for _ in range(5):  # the pin bounces within the same few milliseconds
        door.drive_low()
        door.drive_high()
        door.drive_low()
        clock.advance(0.002)
    h.wait(1)
    events = [(e.sensor, e.value) for e in h.stored()][before:]
    assert events == [("front_door", 0)]  # normally-open reed closed: the door is shut


def test_malformed_messages_are_logged_and_ignored(home, recorder, broker, caplog) -> None:
    h = home().start()
    t = h.topics
    rec = recorder([t.reply("away"), t.status])
    pub = mqtt.Client(CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    for topic, payload in [
        (f"{t.root}/cmd/away", b"{not json"),
        (f"{t.root}/cmd/away", b"\xff\xfe"),
        (f"{t.root}/cmd/away", b"[1, 2]"),
        (t.ack("nope"), b"42"),
        (t.ack("unknown-alert"), b'{"what": "resolve", "who": "ann"}'),
    ]:
        pub.publish(topic, payload, qos=1).wait_for_publish(5)
    pub.publish(f"{t.root}/cmd/away", b'{"who": "ann", "transaction": 7}', qos=1).wait_for_publish(5)
    reply = rec.wait(t.reply("away"), lambda r: r.get("transaction") == 7)
    assert reply["status"] == "ok"
    assert rec.wait(t.status, lambda s: s["state"] == "away")["reason"] == "set to away by ann"
    assert sum("ignored a malformed message" in r.message for r in caplog.records) == 4
    assert h._thread and h._thread.is_alive()
    pub.disconnect()
    pub.loop_stop()


def test_help_still_works_while_away(home, recorder) -> None:
    h = home().start()
    rec = recorder([h.topics.alert, h.topics.status])
    h.agent.set_mode("away", "set to away by test")
    rec.wait(h.topics.status, lambda s: s["state"] == "away")
    h.press(0.6)
    rec.wait(h.topics.alert)
    rec.wait(h.topics.status, lambda s: s["state"] == "alert")


def test_subscriptions_survive_a_broker_restart(home, own_broker: Mosquitto) -> None:
    h = home(port=own_broker.port).start()
    own_broker.stop()
    wait_for(lambda: not h.agent.link.connected, 10, "the agent to notice")
    own_broker.start()
    wait_for(lambda: h.agent.link.connected, 40, "the agent to reconnect")
    rec = Recorder(own_broker.port, [h.topics.reply("status")])
    sent = 0.0

    def asked_and_answered() -> bool:
        """Ask every half second: the agent's subscriptions reach the broker a moment after it is connected (a
        command before them is not its, as during any outage), and a busy machine makes that moment longer."""
        nonlocal sent
        if time.monotonic() - sent > 0.5:
            rec.client.publish(f"{h.topics.root}/cmd/status", b"{}", qos=1)
            sent = time.monotonic()
        return bool(rec.on(h.topics.reply("status")))

    wait_for(asked_and_answered, 20, "the agent to answer a command after the broker's restart")
    assert rec.on(h.topics.reply("status"))[0]["status"] == "ok"
    rec.close()


def test_mqtt_311_works_too(home, recorder) -> None:
    h = home(protocol="3.1.1").start()
    rec = recorder([h.topics.alert])
    h.press(0.6)
    assert rec.wait(h.topics.alert)["kind"] == "help"


def test_heartbeat_on_connect_and_every_interval(home, recorder) -> None:
    clock = ManualClock(T0)
    h = home(clock=clock)
    rec = recorder([h.topics.heartbeat])  # before the start: the first heartbeat goes out on connecting
    h.start(threaded=False)
    h.pump_until(lambda: rec.on(h.topics.heartbeat), "the first heartbeat")
    clock.advance(59.9)
    h.agent.pump()
    assert h.agent.heartbeats == 1  # decided in pump(): not due yet
    clock.advance(0.1)
    h.agent.pump()
    beat = rec.wait(h.topics.heartbeat, lambda b: b["seq"] == 2)
    assert beat["interval_s"] == 60 and beat["outbox"] == 0


def test_sensor_states_are_published_only_when_asked(home, recorder) -> None:
    quiet = home(home="quiet").start()
    rec = recorder([f"{quiet.topics.root}/sensor/#", "sentinel/chatty/sensor/#"])
    quiet.pin(PIR_PIN).drive_high()
    chatty = home(home="chatty", extra_mqtt="  publish_sensors: true\n").start()
    chatty.pin(PIR_PIN).drive_high()
    state = rec.wait("sentinel/chatty/sensor/hall_pir", lambda s: s["value"] == 1)
    assert state["kind"] == "motion" and state["room"] == "hall"
    wait_for(lambda: quiet.stored(), 5, "the quiet home to store the movement")
    # A barrier: the quiet agent's reply comes after anything it published before, on the same connection.
    barrier = recorder([quiet.topics.reply("status")])
    barrier.client.publish(f"{quiet.topics.root}/cmd/status", b"{}", qos=1)
    barrier.wait(quiet.topics.reply("status"))
    assert not [m for m in rec.messages if m.topic.startswith(quiet.topics.root)]


def test_an_open_alert_and_the_mode_survive_a_restart(tmp_path: Path, broker: Mosquitto, recorder) -> None:
    # A home of its own: no retained status of another test's "testhome" can answer for it.
    first = Home(tmp_path, broker.port, home="survivor").start()
    first.agent.set_mode("away", "set to away by test")
    first.press(0.6)
    wait_for(lambda: first.store.open_alerts("survivor"), 5, "the alert")
    first.stop()
    second = Home(tmp_path, broker.port, home="survivor")
    assert second.agent.status == "alert" and second.agent.mode == "away"
    second.start()
    rec = recorder([second.topics.status])
    assert rec.wait(second.topics.status)["state"] == "alert"
    second.press(0.1)
    assert rec.wait(second.topics.status, lambda s: s["state"] == "away")
    second.stop()


def test_with_detection_off_the_help_button_still_works(home, recorder) -> None:
    h = home(home="detection-off")  # topics of its own: no retained status from another test
    config = replace(h.config, detection=replace(h.config.detection, enabled=False))
    h.agent = Agent(config, h.store, pin_factory=h.factory)
    h.topics = h.agent.topics
    h.start()
    rec = recorder([h.topics.alert, h.topics.status])
    assert rec.wait(h.topics.status)["state"] == "ok"  # nothing to learn: never "learning"
    h.pin(PIR_PIN).drive_high()  # movement is stored, and nothing asks for a routine
    h.press(0.6)
    assert rec.wait(h.topics.alert)["kind"] == "help"
    assert h._thread is not None and h._thread.is_alive()
    assert [e.sensor for e in h.stored()][:1] == ["hall_pir"]


@pytest.fixture
def mary_flat(flat: Callable[..., Flat]) -> Flat:
    """Mary's flat (test_watch.Flat): a real agent on mock pins, its routine learned, on the session's broker."""
    return flat()


def _quiet_alert(home: Flat, rec: Recorder) -> tuple[str, str]:
    """Mary in the kitchen, then quiet past the line: the alert's id and its ack topic."""
    home.move("kitchen_pir")
    home.advance(home.line())
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    return alert_id, f"sentinel/mary/alert/{alert_id}/ack"


def from_the_circle(home: Flat, alert_id: str, what: str, note: str = "") -> None:
    """The notifier's word about Mary's alert (Ann is going, Ann says all is well), as it publishes it."""
    said = {"who": "Ann (next door)", "what": what, "source": "notifier", "alert_id": alert_id}
    body = json.dumps({**said, "note": note} if note else said)
    home.agent.link.client.publish(f"sentinel/mary/alert/{alert_id}/ack", body, qos=1).wait_for_publish(5)


def test_once_someone_is_going_movement_asks_them_instead_of_closing_the_alert(mary_flat: Flat, recorder) -> None:
    home = mary_flat
    rec: Recorder = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    alert_id, acks = _quiet_alert(home, rec)
    from_the_circle(home, alert_id, "claim")
    wait_for(lambda: (home.agent.pump(), home.store.claimed_by(alert_id))[1], 5, "the claim")

    home.move("living_pir")  # Ann letting herself in, or Mary: the sensors cannot tell
    seen = rec.wait(acks, lambda b: b.get("who") == "sensors")
    assert seen["what"] == "activity" and seen["note"].startswith("Movement again: ")
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert_id]  # still open

    from_the_circle(home, alert_id, "resolve", "Ann is with Mary.")
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "Ann's all-clear")
    assert home.agent.status == "ok"


def test_a_claim_heard_after_movement_closed_the_alert_opens_it_again_and_one_press_then_tells_all_is_well(
    mary_flat: Flat, recorder
) -> None:
    home = mary_flat
    rec: Recorder = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    alert_id, acks = _quiet_alert(home, rec)
    # Ann tapped "I'm going" just before Mary moved: the monitor hears of it only after closing the alert.
    for sensor in ("living_pir", "bedroom_pir", "kitchen_pir"):  # up and about: a return, not strays
        home.move(sensor)
    assert rec.wait(acks, lambda b: b.get("who") == "sensors")["what"] == "resolve"
    assert not home.store.open_alerts("mary") and home.agent.status == "ok"
    from_the_circle(home, alert_id, "claim")
    wait_for(lambda: (home.agent.pump(), home.store.claimed_by(alert_id))[1], 5, "the claim")
    # As the circle keeps it: open until Ann or Mary says all is well (the movement may have been Ann's).
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert_id]
    assert home.agent.status == "alert"

    home.press()  # Mary's one press: all is well, and the circle hears it
    cancel = rec.wait(acks, lambda b: b.get("who") == "resident")
    assert cancel["what"] == "cancel" and cancel["note"].startswith("Mary pressed 'I'm OK'")
    assert not home.store.open_alerts("mary") and home.agent.status == "ok"
    # Her press is not also told as movement that "may be" Ann.
    assert [b["what"] for b in rec.on(acks) if b.get("who") in ("sensors", "resident")] == ["resolve", "cancel"]


def test_after_her_im_ok_a_new_quiet_spell_is_watched_again(mary_flat: Flat, recorder) -> None:
    home = mary_flat
    rec: Recorder = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    first, acks = _quiet_alert(home, rec)
    home.press()  # "I'm OK", from her chair; then she does not pass a sensor again
    assert rec.wait(acks, lambda b: b.get("who") == "resident")["what"] == "cancel"
    assert home.agent.watch is not None and home.agent.watch.phase == "watching"  # the press is hers, not a stray
    home.advance(home.line())
    again = rec.wait("sentinel/mary/alert", lambda a: a["alert_id"] != first)
    assert again["kind"] in ("inactivity", "not_up")


def test_a_press_with_nobody_going_is_the_residents_word_and_a_late_claim_does_not_reopen_it(
    mary_flat: Flat, recorder
) -> None:
    home = mary_flat
    rec: Recorder = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack", "sentinel/mary/cmd/+/reply"])
    alert_id, acks = _quiet_alert(home, rec)
    home.press()  # Mary's "I'm OK": her word, not movement the sensors saw
    closed = rec.wait(acks, lambda b: b.get("who") in ("sensors", "resident"))
    assert (closed["who"], closed["what"]) == ("resident", "cancel")
    assert closed["note"] == "Mary pressed 'I'm OK' (short press)."
    from_the_circle(home, alert_id, "claim")  # someone tapped "I'm going" just before
    # A command from the same sender after it: once it is answered, the claim before it has been taken.
    home.agent.link.client.publish("sentinel/mary/cmd/status", "{}", qos=1).wait_for_publish(5)
    wait_for(lambda: (home.agent.pump(), rec.on("sentinel/mary/cmd/status/reply"))[1], 5, "the reply")
    assert not home.store.open_alerts("mary") and home.agent.status == "ok"  # she said so herself


def test_a_call_for_help_during_a_quiet_alert_takes_it_over_and_is_never_told_as_all_clear(
    mary_flat: Flat, recorder
) -> None:
    from test_watch import PINS

    home = mary_flat
    rec: Recorder = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    quiet_id, acks = _quiet_alert(home, rec)
    button = home.factory.pin(PINS["help_button"])
    button.drive_low()  # Mary holds the button: until it is a call for help or "I'm OK", the alert stays as it is
    home.advance(1.0)
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [quiet_id]
    home.advance(1.5)  # held past long_press (2 s): a call for help
    button.drive_high()
    home.advance(1.0)
    help_alert = rec.wait("sentinel/mary/alert", lambda a: a["kind"] == "help")
    said = rec.wait(acks, lambda b: b.get("who") == "resident")
    assert said["what"] == "help" and said["note"].startswith("Mary pressed the help button at ")
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [help_alert["alert_id"]]
    # Neither a "cancel" (told as all clear) nor anything before the call for help itself.
    assert [b["what"] for b in rec.on(acks) if b.get("who") in ("sensors", "resident")] == ["help"]
    order = [m.topic for m in rec.messages]
    assert order.index("sentinel/mary/alert", order.index("sentinel/mary/alert") + 1) < order.index(acks)


def test_a_help_press_does_not_wait_for_the_routine_to_be_learned(tmp_path: Path, broker: Mosquitto, recorder) -> None:
    clock = ManualClock(T0)
    h = Home(tmp_path, broker.port, clock=clock, home="patient")
    gate = tmp_path / "learn-now"
    assert h.agent.learner is not None
    h.agent.learner.argv = gated_learning(gate)
    rec = recorder([h.topics.alert, h.topics.status])
    h.agent.start()
    wait_for(lambda: (h.agent.pump(), h.agent.link.connected)[1], 10, "the link, before any learning")
    h.press(0.6)
    h.pump_until(lambda: rec.on(h.topics.alert), "the help alert")
    assert not h.agent.routine_ready and h.agent.learner.running  # it went out while the routine was being learned
    assert rec.on(h.topics.status)[0]["state"] in ("learning", "alert")
    gate.touch()
    h.pump_until(lambda: h.agent.routine_ready, "the routine")
    h.agent.close()
    h.store.close()


def test_every_kind_of_the_event_csv_works_on_a_gpio_pin(tmp_path: Path, broker: Mosquitto) -> None:
    extra = """\
  - {name: bed_mat, kind: pressure, pin: 5, room: bedroom}
  - {name: fridge, kind: contact, pin: 6, room: kitchen}
  - {name: kettle, kind: power, pin: 13, room: kitchen}
  - {name: toilet, kind: flush, pin: 19, room: bathroom}
"""
    h = Home(tmp_path, broker.port, clock=ManualClock(T0))
    h.config = parse_config(agent_yaml(broker.port) + extra, "test.yaml")
    h.agent = Agent(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.start(threaded=False)
    try:
        for pin in (5, 13, 19):  # a mat, a current switch, a flush switch: closed (pin low) while in use
            h.pin(pin).drive_low()
            h.wait(1)
            h.pin(pin).drive_high()
            h.wait(1)
        h.pin(6).drive_low()  # the fridge's reed switch closes: its door is shut (the mock pin starts open)
        h.wait(1)
        h.pin(6).drive_high()  # and opens
        h.wait(1)
        stored = [(e.sensor, e.kind, e.value) for e in h.stored() if e.sensor != "front_door"]
        assert stored == [
            ("bed_mat", "pressure", 1),
            ("bed_mat", "pressure", 0),
            ("kettle", "power", 1),
            ("kettle", "power", 0),
            ("toilet", "flush", 1),
            ("toilet", "flush", 0),
            ("fridge", "contact", 0),
            ("fridge", "contact", 1),
        ]
        assert all(e.is_activity for e in h.stored() if e.kind != "motion")  # every one a sign of life
    finally:
        h.stop()


def test_a_setting_for_another_kind_is_refused_at_its_line() -> None:
    from sentinel.errors import ConfigError

    text = agent_yaml(1883) + "  - {name: bed_mat, kind: pressure, pin: 5, normally_open: false}\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "test.yaml")
    assert any("normally_open: only applies to kind door or contact" in issue for issue in refused.value.issues)
