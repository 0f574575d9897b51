"""Learned inactivity end to end: stored history, mock pins, an injected clock, a real broker."""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from test_agent import from_the_circle

from conftest import Mosquitto, Recorder, answer_gated_learning, gated_learning, wait_for
from sentinel.agent.app import Agent
from sentinel.agent.day import DayShare
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.core.events import Event
from sentinel.core.sensors import Gesture
from sentinel.demo.resident import SENSORS, Resident
from sentinel.detect.explain import duration
from sentinel.store import Store

START = datetime(2026, 1, 5).astimezone()
NOW = (START + timedelta(days=12)).replace(hour=9, minute=0)
PINS = {"bedroom_pir": 5, "bathroom_pir": 6, "kitchen_pir": 13, "living_pir": 19, "front_door": 26, "help_button": 21}
BUZZER = 12
ROOMS = {name: room for name, (_, room) in SENSORS.items()} | {"help_button": "living room"}


def kind_of(name: str) -> str:
    return {"front_door": "door", "help_button": "button"}.get(name, "motion")


def sensors_yaml() -> str:
    """The kit's sensors, as the agent's YAML lists them."""
    return "".join(
        f"  - name: {name}\n    kind: {kind_of(name)}\n    pin: {pin}\n    room: {ROOMS[name]}\n"
        for name, pin in PINS.items()
    )


def config_yaml(port: int, checkin: bool, extra: str = "") -> str:
    sensors = sensors_yaml()
    return f"""\
home: {{id: mary, name: Mary}}
gpio: {{pin_factory: mock}}
mqtt: {{host: 127.0.0.1, port: {port}}}
detection:
  checkin: {{enabled: {str(checkin).lower()}, wait: 5m, buzzer_pin: {BUZZER}}}
{extra}sensors:
{sensors}"""


def seed_history(store: Store) -> None:
    """Twelve days of Mary's life, as the agent would have stored them."""
    for row in Resident(seed=21).days(START.replace(tzinfo=None), 12):
        store.add_event(Event(row.sensor, row.kind, row.value, row.room, row.at.astimezone(), 0.0))


class Flat:
    def __init__(
        self,
        tmp_path: Path,
        port: int,
        checkin: bool = False,
        extra: str = "",
        clock: ManualClock | None = None,
        made: list[Flat] | None = None,
    ) -> None:
        self.tmp_path, self.port, self.checkin, self.extra = tmp_path, port, checkin, extra
        self.made = made if made is not None else []  # every Flat of one test, closed at its end by ``flat``
        self.made.append(self)
        self.closed = False
        self.store = Store(tmp_path / "agent.db")
        if not any(True for _ in self.store.events()):
            seed_history(self.store)
        self.clock = clock or ManualClock(NOW)  # the same clock again: the agent restarted within one boot
        self.factory = MockFactory()
        self.agent = Agent(
            parse_config(config_yaml(port, checkin, extra)),
            self.store,
            self.clock,
            self.factory,
            nonce=lambda: "abc123",
        )
        self.agent.start()
        wait_for(lambda: (self.agent.pump(), self.agent.link.connected)[1], 10, "the agent to connect")
        wait_for(lambda: (self.agent.pump(), self.agent.routine_ready)[1], 30, "the routine to be relearned")

    def move(self, sensor: str) -> None:
        pin = self.factory.pin(PINS[sensor])
        pin.drive_high()
        self.agent.pump()
        pin.drive_low()
        self.agent.pump()

    def press(self) -> None:
        pin = self.factory.pin(PINS["help_button"])
        pin.drive_low()
        self.advance(0.2)
        pin.drive_high()
        self.advance(1.0)  # past the double-press window: a single "I'm OK"

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.agent.pump()

    def line(self) -> float:
        assert self.agent.watch is not None
        line = self.agent.watch.line_s()
        assert line is not None
        return line

    def restart(self, clock: ManualClock | None = None) -> Flat:
        """This agent stopped (an update, a power blip) and another started on its files and its clock (one boot)."""
        self.close()
        return Flat(self.tmp_path, self.port, self.checkin, self.extra, clock or self.clock, self.made)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.agent.close()
            self.store.close()


def test_unusual_quiet_raises_an_inactivity_alert_and_movement_resolves_it(flat, recorder) -> None:
    home = flat()
    rec: Recorder = recorder(["sentinel/mary/alert", "sentinel/mary/status", "sentinel/mary/alert/+/ack"])
    assert home.agent.status == "ok"  # twelve days learned
    home.move("kitchen_pir")
    line = home.line()
    assert 30 * 60 <= line <= 16 * 3600
    home.advance(line - 1)
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth
    home.advance(1)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["kind"] == "inactivity" and alert["severity"] == "high"
    assert alert["reason"].startswith("No sign of activity since 09:00 (")
    assert "Mary was last noticed by movement" in alert["reason"]
    assert alert["facts"]["sensor"] == "kitchen_pir" and alert["facts"]["line_min"] == round(line / 60)
    # The line, and why it sits there: the home's false-alert budget (1 a month by default).
    assert alert["reason"] == (
        f"No sign of activity since 09:00 ({duration(line)}); Mary was last noticed by movement in the kitchen. "
        f"At this time of day, after movement in the kitchen, sentinel alerts once the quiet lasts {duration(line)}. "
        "That wait is learned from Mary's last 12 days so that ordinary quiet spells cause about one false alert "
        "a month, as chosen for this home."
    )
    assert alert["facts"]["line_cause"] == "budget" and alert["facts"]["false_alerts_per_month"] == 1.0
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "alert")

    # One or two signs once the alert is out (a PIR catching the sun, an arm moved on the floor) do not end it.
    home.move("living_pir")
    home.move("bedroom_pir")
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert["alert_id"]]
    home.move("kitchen_pir")  # a third: she is up and about
    ack = rec.wait(f"sentinel/mary/alert/{alert['alert_id']}/ack")
    assert ack["who"] == "sensors" and ack["what"] == "resolve"
    assert rec.on(f"sentinel/mary/alert/{alert['alert_id']}/ack") == [ack]
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "ok" and s["reason"].startswith("Movement again"))


def test_a_fault_in_making_the_reason_never_keeps_the_alert_from_going_out(flat, recorder, monkeypatch, caplog) -> None:
    # No such fault is known; were one there, the watch was replaced on each try and stayed silent for good.
    import sentinel.detect.told as told

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a fault in the words")

    monkeypatch.setattr(told, "explain", broken)
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")  # at 09:00
    line = home.line()
    home.advance(line)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["kind"] == "inactivity" and alert["severity"] == "high"
    assert alert["reason"] == (
        f"No sign of activity since 09:00 ({round(line / 60)} min); Mary was last noticed by kitchen_pir. "
        f"sentinel alerts once the quiet lasts {round(line / 60)} min here."
    )
    assert alert["facts"]["line_min"] == round(line / 60) and alert["facts"]["sensor"] == "kitchen_pir"
    assert alert["facts"]["learning"] is False
    assert "making the reason of Mary's alert failed" in caplog.text
    assert home.agent.status != "learning"  # the routine was not thrown away for it
    for sensor in ("living_pir", "bedroom_pir", "kitchen_pir"):  # she is up: the alert is closed, and the next
        home.move(sensor)  # quiet is watched as any other
    assert home.store.open_alerts("mary") == []
    home.advance(home.line())
    again = rec.wait("sentinel/mary/alert", lambda a: a["alert_id"] != alert["alert_id"])
    assert again["reason"].startswith("No sign of activity since ") and again["facts"]["sensor"] == "kitchen_pir"
    from_the_circle(home, again["alert_id"], "resolve")  # all is well: the quiet is counted from the all clear
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    cleared = home.clock.now()
    home.advance(home.line())
    third = rec.wait("sentinel/mary/alert", lambda a: a["alert_id"] not in (alert["alert_id"], again["alert_id"]))
    # The plain reason says so too (before: "since" the all clear, as if a sensor had fired then).
    assert third["reason"].startswith(f"No sign of activity {round(home.line() / 60)} min after the all clear at")
    assert f"at {cleared:%H:%M};" in third["reason"] and third["facts"]["counted_from"] == "the all clear"


def test_the_resident_is_asked_first_and_a_press_stops_it_there(flat, recorder) -> None:
    home = flat(checkin=True)
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/status"])
    home.move("kitchen_pir")
    home.advance(home.line())
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "checking")
    buzzer = home.factory.pin(BUZZER)
    wait_for(lambda: any(state.state for state in buzzer.states), 5, "the buzzer to sound")
    home.press()
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "ok" and "pressed the button when asked" in s["reason"])
    home.advance(600)
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth
    assert not buzzer.state


@pytest.mark.parametrize("rooms", ["", "  rooms: [{room: kitchen, floor: 5h}]\n"], ids=["learned", "a room's floor"])
def test_one_movement_while_asking_answers_the_check_in(flat, recorder, rooms: str) -> None:
    # With a room's floor the check-in begins hours after the learned line: one movement still answers it.
    home = flat(checkin=True, extra=rooms)
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/status"])
    home.move("kitchen_pir")
    assert home.agent.watch is not None
    learned = home.agent.watch.detector.line_s()
    assert learned is not None and (home.line() > learned + 300 if rooms else home.line() == learned)
    home.advance(home.line() + 240)  # asked for four minutes of the five
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "checking")
    home.move("living_pir")  # before the circle is told, one sign answers: it is not yet a stray
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "ok" and "while asking" in s["reason"])
    home.advance(120)
    assert home.store.open_alerts("mary") == []


def test_after_an_answer_from_the_app_the_next_alert_counts_from_it_and_says_so(flat, recorder) -> None:
    home = flat(checkin=True)
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/status"])
    home.move("kitchen_pir")
    home.advance(home.line() + 60)
    rec.wait("sentinel/mary/status", lambda s: s["state"] == "checking")
    body = json.dumps({"who": "Mary's phone"})
    home.agent.link.client.publish("sentinel/mary/cmd/ok", body, qos=1).wait_for_publish(5)
    wait_for(lambda: (home.agent.pump(), home.agent.status == "ok")[1], 5, "her answer")
    answered = home.clock.now()
    home.advance(home.line())  # then nothing at all: asked again, and no answer this time
    home.advance(300)
    alert = rec.wait("sentinel/mary/alert")
    # Before: "No sign of activity since" her answer, as if the kitchen had been then.
    assert alert["reason"].startswith(f"No sign of activity {duration(home.line() + 300)} after Mary's answer at")
    assert f"Mary's answer at {answered:%H:%M}; Mary was last noticed by movement in the kitchen" in alert["reason"]


def test_no_answer_to_the_check_in_tells_the_circle(flat, recorder) -> None:
    home = flat(checkin=True)
    rec = recorder(["sentinel/mary/alert"])
    home.move("bathroom_pir")
    home.advance(home.line())
    home.advance(299)
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth
    home.advance(1)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["reason"].endswith("Mary did not answer the check-in for 5 min.")
    line = duration(home.line())
    assert f", after movement in the bathroom, sentinel checks on Mary once the quiet lasts {line}" in alert["reason"]
    assert alert["facts"]["checkin_min"] == 5 and alert["facts"]["quiet_min"] == round((home.line() + 300) / 60)


def test_no_inactivity_alert_while_away(flat) -> None:
    home = flat()
    home.agent.set_mode("away", "set to away by test")
    home.move("kitchen_pir")
    home.advance(20 * 3600)
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth


def test_the_routine_survives_a_restart(flat) -> None:
    first = flat()
    first.move("kitchen_pir")
    assert first.agent.watch is not None
    first.agent.watch.detector.refit(NOW)  # learn from the same events a restart reads
    wait_for(lambda: (first.agent.pump(), first.agent.routine_as_of == NOW)[1], 30, "the routine relearned")
    line = first.line()
    second = first.restart(clock=ManualClock(NOW))  # a reboot: the clock starts afresh
    assert second.agent.status == "ok"
    assert second.line() == pytest.approx(line)


def test_a_room_ceiling_caps_the_learned_line(flat) -> None:
    home = flat(extra="  rooms: [{room: bathroom, ceiling: 40m}]\n")
    home.move("bathroom_pir")
    assert home.line() == 40 * 60
    home.move("kitchen_pir")
    assert home.line() > 40 * 60  # other rooms keep their learned lines


def test_a_room_limit_is_named_as_the_reason_for_the_line(flat, recorder) -> None:
    home = flat(extra="  rooms: [{room: bathroom, ceiling: 40m}, {room: kitchen, floor: 10h}]\n")
    rec = recorder(["sentinel/mary/alert"])
    home.move("bathroom_pir")
    home.advance(home.line())
    capped = rec.wait("sentinel/mary/alert")
    assert capped["reason"] == (
        "No sign of activity since 09:00 (40 min); Mary was last noticed by movement in the bathroom. "
        "After movement in the bathroom, sentinel alerts once the quiet lasts 40 min, "
        "the longest wait set for the bathroom."
    )
    assert capped["facts"]["line_cause"] == "room ceiling" and capped["facts"]["room"] == "bathroom"
    for sensor in ("living_pir", "bedroom_pir", "kitchen_pir"):  # 09:40, up and about: the alert is over
        home.move(sensor)
    home.advance(home.line())
    raised = rec.wait("sentinel/mary/alert", lambda a: a["facts"]["sensor"] == "kitchen_pir")
    assert raised["reason"] == (
        "No sign of activity since 09:40 (10 h 00 min); Mary was last noticed by movement in the kitchen. "
        "After movement in the kitchen, sentinel alerts once the quiet lasts 10 h 00 min, "
        "the shortest wait set for the kitchen."
    )
    assert raised["facts"]["line_cause"] == "room floor" and raised["facts"]["line_min"] == 600


def test_while_learning_the_reason_says_the_line_is_the_fixed_one(flat, recorder) -> None:
    home = flat(extra="  learn_days: 30\n")  # twelve days stored: still learning, after a restart too
    rec = recorder(["sentinel/mary/alert"])
    assert home.agent.status == "learning"
    home.move("kitchen_pir")
    assert home.line() == 6 * 3600  # the warm-up's line by day
    home.advance(6 * 3600)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["reason"] == (
        "No sign of activity since 09:00 (6 h 00 min); Mary was last noticed by movement in the kitchen. "
        "sentinel is still learning Mary's routine (that takes 30 days), "
        "so for now it alerts after a fixed 6 h 00 min of quiet at this time of day."
    )
    assert alert["facts"]["line_cause"] == "warmup" and alert["facts"]["learning"] is True
    assert "longest_usual_min" not in alert["facts"]
    # While learning too, one or two signs once the alert is out (a PIR catching the sun, an arm moved on the
    # floor) do not end it (before, any one did); a third is her, up and about.
    home.move("living_pir")
    home.move("bedroom_pir")
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert["alert_id"]]
    home.move("kitchen_pir")
    assert home.store.open_alerts("mary") == []


def test_while_learning_door_then_nothing_is_checked_after_a_day(flat, recorder) -> None:
    # She may be out, or she came in and fell in the hall: before, nothing was ever raised while learning.
    home = flat(extra="  learn_days: 30\n")
    rec = recorder(["sentinel/mary/alert"])
    assert home.agent.status == "learning"
    door = home.factory.pin(PINS["front_door"])
    door.drive_low()  # the mock pin starts high (open): the door shuts at 09:00
    home.advance(1)
    assert home.line() == 24 * 3600
    home.advance(24 * 3600 - 60)
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth
    home.advance(60)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["kind"] == "inactivity" and alert["severity"] == "high"
    assert alert["reason"] == (
        "No sign of activity since 09:00 (24 h 00 min); Mary was last noticed by the front door. "
        "sentinel is still learning Mary's routine (that takes 30 days), so for now, after the front door (09:00), "
        "it alerts after a fixed 24 h 00 min without a sign of life (Mary may be out)."
    )
    assert alert["facts"]["line_cause"] == "warmup" and alert["facts"]["line_min"] == 24 * 60


def test_while_learning_a_blip_after_the_days_alert_leaves_it_open_and_a_return_closes_it(flat, recorder) -> None:
    # Before, while learning any sign closed the alert, and the next day was counted from that blip: the circle was
    # told all was well, and a resident still away (in hospital, say) was next checked on 49 h after the door.
    home = flat(extra="  learn_days: 30\n")
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    home.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00 (the mock pin starts high: open)
    home.advance(24 * 3600 + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(3 * 3600)
    home.move("kitchen_pir")  # a blip in the empty home
    home.advance(3600)
    home.move("living_pir")
    home.advance(30 * 3600)
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert_id]  # still out, and not raised again
    assert {a["alert_id"] for a in rec.on("sentinel/mary/alert")} == {alert_id}
    home.move("kitchen_pir")  # a third sign: she is back
    ack = rec.wait(f"sentinel/mary/alert/{alert_id}/ack")
    assert ack["who"] == "sensors" and ack["what"] == "resolve"
    assert home.line() == 6 * 3600  # home: the warm-up's fixed wait, from now


def test_while_learning_a_blip_while_she_is_out_leaves_the_days_wait_from_the_door(flat, recorder) -> None:
    # Before, the day was counted again from the blip: 23 h after the door, the check came 47 h after it.
    home = flat(extra="  learn_days: 30\n")
    rec = recorder(["sentinel/mary/alert"])
    home.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    home.advance(23 * 3600)
    home.move("kitchen_pir")  # 08:00 the next day: a blip in the empty home
    assert home.line() == 3600
    home.advance(3600 - 60)
    assert home.store.open_alerts("mary") == []
    home.advance(60)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["facts"]["line_cause"] == "stray" and alert["facts"]["learning"] is True
    assert alert["reason"].endswith(
        "Mary went out at 09:00; one or two signs of life since then, with no return through the front door, look "
        "like a sensor's stray blip in an empty home, so sentinel keeps the outing's wait and alerts at 09:00."
    )


def test_when_the_first_routine_comes_after_her_return_closed_the_days_alert_no_alert_follows_at_once(
    flat, recorder
) -> None:
    # Twelve days stored: the first routine is learned at the first sign taken for hers the next day.
    home = flat(extra="  learn_days: 13\n")
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    home.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    home.advance(24 * 3600 + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(3600)
    for sensor in ("kitchen_pir", "living_pir", "bedroom_pir"):  # back (unseen by the door): the alert is closed,
        home.move(sensor)  # and the learning starts
    assert rec.wait(f"sentinel/mary/alert/{alert_id}/ack")["what"] == "resolve"
    assert home.agent.watch is not None
    wait_for(lambda: (home.agent.pump(), not home.agent.watch.learning)[1], 30, "the first routine")
    assert home.line() > 0  # before: the outing's learned wait, long past (-62467 s), and a new alert at once
    assert home.store.open_alerts("mary") == []


def test_while_learning_coming_in_then_nothing_is_checked_on_the_fixed_wait(flat, recorder) -> None:
    home = flat(extra="  learn_days: 30\n")
    rec = recorder(["sentinel/mary/alert"])
    _out_of_the_door(home)  # out at 09:01
    home.advance(2 * 3600)
    door = home.factory.pin(PINS["front_door"])
    door.drive_high()  # back at 11:01...
    home.advance(5)
    door.drive_low()  # ...and she falls in the hall, unseen
    home.advance(1)
    assert home.line() == 6 * 3600  # home, by day: the warm-up's fixed wait, not the day after going out
    home.advance(6 * 3600)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["facts"]["line_cause"] == "warmup" and alert["reason"].endswith(
        "sentinel is still learning Mary's routine (that takes 30 days), so for now, after Mary came in through "
        "the front door, it alerts after a fixed 6 h 00 min of quiet at this time of day."
    )


def test_a_quiet_window_postpones_the_alert_to_its_end(flat, recorder) -> None:
    home = flat(extra='  quiet_windows: [{start: "09:00", end: "15:00"}]\n')
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")  # at 09:00
    assert home.line() < 5 * 3600
    home.advance(6 * 3600 - 60)  # 14:59
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth
    home.advance(61)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["kind"] == "inactivity"
    # The quiet lasted far longer than the line: the reason says why.
    assert f"sentinel alerts once the quiet lasts {duration(home.line())}." in alert["reason"]
    assert alert["reason"].endswith(" sentinel waited for the end of the quiet time set from 09:00 to 15:00.")
    assert alert["facts"]["waited_for_quiet_window"] == "09:00-15:00" and alert["facts"]["quiet_min"] == 360


def test_not_back_is_opt_in_and_learned_from_outings(flat, recorder) -> None:
    home = flat(extra="  not_back: true\n")
    rec = recorder(["sentinel/mary/alert"])
    door = home.factory.pin(PINS["front_door"])
    door.drive_low()  # the mock pin starts high (open): shutting it is the door closing behind her
    home.advance(1)
    line = home.line()
    assert 60 * 60 <= line < 24 * 3600  # the simulated outings last one to three hours
    home.advance(line)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["kind"] == "not_back" and alert["severity"] == "normal"
    assert alert["reason"] == (
        f"Mary went out at 09:00 and is not back after {duration(line)}. "
        f"At this time of day sentinel alerts once the outing lasts {duration(line)}. "
        "That wait is learned from Mary's last 11 days so that ordinary outings cause about one false alert "
        "a month, as chosen for this home."
    )
    assert alert["facts"]["line_cause"] == "budget" and alert["facts"]["context"] == "front_door:0"


def test_the_front_door_left_open_at_night(flat, recorder) -> None:
    home = flat(extra='  door_open_at_night: {enabled: true, after: 10m, start: "08:00", end: "10:00"}\n')
    rec = recorder(["sentinel/mary/alert"])
    door = home.factory.pin(PINS["front_door"])
    door.drive_low()  # shut (the mock pin starts high: open)
    home.advance(1)
    door.drive_high()  # opened, and left open
    home.advance(599)
    assert home.store.open_alerts("mary") == []  # the agent decides in pump(): its store is the truth
    home.advance(1)
    alert = rec.wait("sentinel/mary/alert")
    assert (
        alert["kind"] == "door_open"
        and alert["reason"] == "The hall door at Mary's has been open for over 10 min at night."
    )


@pytest.mark.parametrize("jump_h", [-1, 3])
def test_a_clock_jump_changes_neither_when_the_alert_comes_nor_how_long_it_says(flat, recorder, jump_h) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")  # at 09:00
    line = home.line()
    home.advance(600)
    home.clock.jump(jump_h * 3600)  # NTP sets the clock while the flat is quiet
    home.advance(line - 600 - 1)
    assert home.store.open_alerts("mary") == []  # the wait runs on the clock that does not jump
    home.advance(1)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["facts"]["quiet_min"] == round(line / 60)  # how long it really was, not an hour more or less
    since = (home.clock.now() - timedelta(seconds=line)).strftime("%H:%M")
    assert alert["reason"].startswith(f"No sign of activity since {since} ({duration(line)})")


def test_a_quiet_spell_across_a_clock_jump_is_not_learned(flat, caplog) -> None:
    from sentinel.detect.learn import replay_stored

    home = flat()
    assert home.agent.watch is not None

    def learned() -> list[float]:
        """The spells the learning process learns from, as the store has them now."""
        assert home.agent.watch is not None
        home.agent.journal.flush()
        request = home.agent.watch.request(home.clock.now(), state=False)
        return replay_stored(home.store.events(), home.store.flips(), request)[0]._seconds

    home.move("kitchen_pir")
    before = len(learned())
    home.advance(600)
    home.clock.jump(-3600)
    home.move("living_pir")  # 10 min on one clock, -50 min on the other
    assert len(learned()) == before and min(learned()) >= 0
    assert any("the clock jumped by" in r.getMessage() for r in caplog.records)
    home.advance(300)
    home.move("kitchen_pir")
    assert len(learned()) == before + 1 and learned()[-1] == pytest.approx(300 + 5, abs=30)


@pytest.mark.parametrize("jump_h", [3, -1])
def test_a_restart_after_a_clock_jump_measures_the_quiet_on_the_clock_that_did_not_jump(flat, recorder, jump_h) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    first.move("kitchen_pir")
    first.advance(600)
    first.clock.jump(jump_h * 3600)  # NTP sets the clock, then the agent restarts (the Pi does not)
    second = first.restart()
    line = second.line()  # relearned on restart: about the same line, not necessarily to the second
    second.advance(line - 600 - 1)
    assert second.store.open_alerts("mary") == []  # not early (+3 h), and below: not late (-1 h)
    second.advance(1)
    alert = rec.wait("sentinel/mary/alert")
    assert alert["facts"]["quiet_min"] == round(line / 60)


def test_a_sensor_silent_far_beyond_its_usual_gaps_is_told_to_the_keepers_once(flat, recorder) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/notice", "sentinel/mary/cmd/status/reply"])
    for i in range(200):  # two and a half days of Mary in the kitchen and the living room; the bathroom PIR is dead
        home.move("kitchen_pir" if i % 2 else "living_pir")
        home.advance(1200)
    notice = rec.wait("sentinel/mary/notice")
    assert notice["kind"] == "sensor_silent" and notice["sensor"] == "bathroom_pir"
    assert notice["notice_id"].startswith("mary-silent-bathroom_pir-")
    assert notice["text"].startswith("The bathroom sensor (bathroom_pir) has sent nothing since ")
    for i in range(30):  # it stays dead: not told again
        home.move("kitchen_pir" if i % 2 else "living_pir")
        home.advance(1200)
    # A barrier: the agent's reply comes after anything it sent before, on the same connection.
    rec.client.publish("sentinel/mary/cmd/status", b'{"transaction": 1}', qos=1).wait_for_publish(5)
    wait_for(lambda: (home.agent.pump(), rec.on("sentinel/mary/cmd/status/reply"))[1], 10, "the reply")
    assert len([n for n in rec.on("sentinel/mary/notice") if n["sensor"] == "bathroom_pir"]) == 1


def test_a_sensor_reporting_alone_hides_no_collapse_and_is_told_to_the_keepers(flat, recorder) -> None:
    """Mary falls after the kitchen at 09:00; the living-room PIR, facing a heater, reports every 5 min."""
    home = flat()
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/notice"])
    home.agent.day = DayShare(home.store, home.clock.now())  # as with share_day: what it is fed
    fed: list[Event] = []
    feed = home.agent.day.feed
    home.agent.day.feed = lambda event: (fed.append(event), feed(event))[1]  # type: ignore[method-assign]
    home.move("kitchen_pir")
    for _ in range(24 * 12):
        home.advance(300)
        home.move("living_pir")
        if home.store.open_alerts("mary"):
            break
    watch = home.agent.watch
    assert watch is not None and watch.detector.run.alone
    signs, taken = watch.detector.run.signs, len([e for e in fed if e.is_activity])
    for _ in range(12):  # an hour more of it: not taken for Mary, so nothing for her day ("up at ...") either
        home.advance(300)
        home.move("living_pir")
    assert watch.detector.run.signs == signs + 12 and len([e for e in fed if e.is_activity]) == taken
    assert home.store.open_alerts("mary")  # nor do its reports close the alert as Mary moving again would
    alert = rec.wait("sentinel/mary/alert")
    assert alert["kind"] == "inactivity" and alert["reason"].startswith("No sign of activity since 09:00 (")
    assert "The living room sensor (living_pir) has reported" in alert["reason"]
    assert alert["reason"].endswith("so sentinel does not take its reports for Mary's.")
    assert alert["facts"]["sensor"] == "kitchen_pir" and alert["facts"]["alone_sensor"] == "living_pir"
    notice = rec.wait("sentinel/mary/notice")
    assert notice["kind"] == "sensor_alone" and notice["sensor"] == "living_pir"
    assert notice["notice_id"] == "mary-alone-living_pir-" + (NOW + timedelta(minutes=5)).strftime("%Y%m%dT%H%M")
    assert "It may be seeing something other than Mary" in notice["text"]
    assert notice["text"].startswith("The living room sensor (living_pir) has reported ")
    assert ", with nothing else noticed; before, it never did more than " in notice["text"]
    assert " times in a row, nor for longer than " in notice["text"]
    assert alert["facts"]["quiet_min"] > alert["facts"]["line_min"]  # found late, the quiet was long past its line


def test_a_restart_while_a_sensor_reports_alone_keeps_the_quiet(flat, recorder) -> None:
    """The agent restarts an hour into the heater's reports, before they are found: the alert still comes."""
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    first.move("kitchen_pir")
    for _ in range(12):
        first.advance(300)
        first.move("living_pir")
    second = first.restart()
    for _ in range(24 * 12):
        second.advance(300)
        second.move("living_pir")
        if second.store.open_alerts("mary"):
            break
    alert = rec.wait("sentinel/mary/alert")
    assert alert["facts"]["alone_sensor"] == "living_pir"
    # As without the restart: the quiet since the kitchen at 09:00, not since the restart at 10:00.
    assert alert["reason"].startswith("No sign of activity since 09:00 (")
    assert alert["facts"]["sensor"] == "kitchen_pir"


def test_once_a_sensor_is_found_alone_a_restart_keeps_the_quiet_from_before_it(flat, recorder) -> None:
    first = flat()
    first.move("kitchen_pir")
    watch = first.agent.watch
    assert watch is not None
    while not watch.detector.run.alone:  # the heater's reports, until they are found
        first.advance(300)
        first.move("living_pir")
    second = first.restart()
    second.advance(300)
    second.move("living_pir")
    again = second.agent.watch
    assert again is not None and again.detector.run.alone
    last = again.last_event  # the quiet runs from the kitchen at 09:00, not from the last report stored
    assert last is not None and last.sensor == "kitchen_pir" and f"{last.wall:%H:%M}" == "09:00"


def test_a_clock_jump_during_a_sensors_run_does_not_move_the_quiet(flat) -> None:
    """NTP sets the wall clock 2 h ahead while the heater reports: the quiet still runs from the kitchen."""
    home = flat()
    home.move("kitchen_pir")
    kitchen = home.clock.monotonic()
    watch = home.agent.watch
    assert watch is not None
    for i in range(24 * 12):
        home.advance(300)
        if i == 2:
            home.clock.jump(2 * 3600)
        home.move("living_pir")
        if watch.detector.run.alone:
            break
    assert watch.detector.run.alone and watch._since_mono == pytest.approx(kitchen, abs=1)


def test_periods_answer_like_a_scan() -> None:
    import random

    from sentinel.detect.wallclock import Periods

    rng = random.Random(3)
    base = datetime(2026, 1, 1)
    spans = []
    for _ in range(200):  # overlapping too, as after a clock set back
        start = base + timedelta(minutes=rng.randrange(0, 100_000))
        spans.append((start, start + timedelta(minutes=rng.randrange(0, 3000))))
    periods = Periods(spans)
    for _ in range(2000):
        at = base + timedelta(minutes=rng.randrange(-100, 105_000))
        assert (at in periods) == any(s <= at <= e for s, e in spans)


def test_a_quiet_alert_open_across_a_restart_is_not_raised_again_and_her_return_closes_it(flat, recorder) -> None:
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    first = flat()
    first.move("kitchen_pir")
    first.advance(first.line())
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    line = first.line()
    first.advance(600)
    first.move("living_pir")  # a stray: the alert stays out
    second = first.restart()  # a power cut, an update: the agent starts again with the alert open
    second.advance(line + 3600)  # past a line counted from the stray, which the restart takes for hers
    assert [a.alert_id for a in second.store.open_alerts("mary")] == [alert_id]
    assert {a["alert_id"] for a in rec.on("sentinel/mary/alert")} == {alert_id}  # not a second one
    for sensor in ("living_pir", "bedroom_pir", "kitchen_pir"):  # up and about
        second.move(sensor)
    ack = rec.wait(f"sentinel/mary/alert/{alert_id}/ack")
    assert (ack["who"], ack["what"]) == ("sensors", "resolve")
    assert second.store.open_alerts("mary") == []


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
def test_an_alert_kept_open_by_someone_going_does_not_stand_for_a_later_quiet(flat, recorder, restart: bool) -> None:
    rec = recorder(["sentinel/mary/alert"])
    home = flat()
    home.move("kitchen_pir")
    home.advance(home.line())
    first = rec.wait("sentinel/mary/alert")["alert_id"]
    from_the_circle(home, first, "claim")
    wait_for(lambda: (home.agent.pump(), home.store.claimed_by(first))[1], 5, "the claim")
    for sensor in ("living_pir", "bedroom_pir", "kitchen_pir", "living_pir"):  # Ann there, Mary up and about
        home.advance(60)
        home.move(sensor)
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [first]  # Ann never said all is well
    if restart:  # an update, a power blip: the open alert's quiet is over, it must not stand for the next
        home = home.restart()
    home.advance(home.line() + 600)  # then a fall
    later = [a.alert_id for a in home.store.open_alerts("mary") if a.alert_id != first]  # the store is the truth
    assert later, "the later quiet is never told"


def _kitchen_alert_all_clear(home: Flat, rec: Recorder) -> str:
    """Mary in the kitchen, then quiet: its alert, and ten minutes on the circle's all clear (Ann called: all is
    well, and Mary did not pass a sensor since). The alert's id."""
    home.move("kitchen_pir")
    home.advance(home.line())
    first = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(600)
    from_the_circle(home, first, "resolve")
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    return first


def test_after_the_circles_all_clear_the_quiet_is_watched_again_from_then(flat, recorder) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    first = _kitchen_alert_all_clear(home, rec)
    assert home.agent.watch is not None and home.agent.watch.phase == "watching"
    home.advance(home.line() - 1)
    assert home.store.open_alerts("mary") == []  # counted from her all clear, not from the kitchen
    home.advance(2)
    assert [a.alert_id for a in home.store.open_alerts("mary")] not in ([], [first])
    cleared = home.clock.now() - timedelta(seconds=home.line() + 1)
    later = rec.wait("sentinel/mary/alert", lambda m: m["alert_id"] != first)
    # Before: "No sign of activity since" the all clear, as if the kitchen had been then.
    assert later["reason"].startswith(f"No sign of activity {duration(home.line() + 1)} after the all clear at")
    assert f"the all clear at {cleared:%H:%M}" in later["reason"]
    assert later["facts"]["counted_from"] == "the all clear"


def test_after_an_outings_all_clear_the_next_not_back_does_not_say_she_went_out_then(flat, recorder) -> None:
    home = flat(extra="  not_back: true\n")
    rec = recorder(["sentinel/mary/alert"])
    _out_of_the_door(home)
    home.advance(home.line() + 1)
    first = rec.wait("sentinel/mary/alert")
    assert first["kind"] == "not_back" and "went out at 09:01" in first["reason"]
    home.advance(600)
    from_the_circle(home, first["alert_id"], "resolve")  # Ann rang: she is at her daughter's, back by tea
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    cleared = home.clock.now()
    home.advance(home.line() + 1)
    later = rec.wait("sentinel/mary/alert", lambda m: m["alert_id"] != first["alert_id"])
    # Before: "Mary went out at" the time of the all clear.
    assert later["kind"] == "not_back" and "went out" not in later["reason"]
    assert later["reason"].startswith(f"Mary is not back from going out {duration(home.line() + 1)} after the all")
    assert f"the all clear at {cleared:%H:%M}" in later["reason"]


def test_a_restart_while_she_is_out_keeps_a_blip_in_the_empty_home_a_stray(flat) -> None:
    # The replay after a restart has no routine, like the first learning: its strays are still an outing's, not hers.
    first = flat()
    _out_of_the_door(first)  # out at 09:01, with a routine learned
    first.advance(3 * 3600)
    first.move("living_pir")  # a PIR catching the sun in the empty home
    line = first.line()
    assert first.agent.watch is not None and first.agent.watch.limit().cause == "stray"  # type: ignore[union-attr]
    second = first.restart()  # a power cut, an update
    assert second.agent.watch is not None and second.agent.watch.limit().cause == "stray"  # type: ignore[union-attr]
    assert abs(second.line() - line) < 2  # the outing's wait still holds (before: her return, the room's line)


def test_a_restart_in_the_first_learning_with_the_days_alert_open_raises_none_again(flat, recorder) -> None:
    # Every start stores what it learned, a routine or not yet one: the first learning is told by the routine.
    rec = recorder(["sentinel/mary/alert", "sentinel/mary/alert/+/ack"])
    first = flat(extra="  learn_days: 14\n")
    first.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    first.advance(24 * 3600 + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(17 * 3600)
    first.move("kitchen_pir")  # 02:00: a blip in the empty home leaves the day's alert open
    first.advance(5400)
    second = first.restart()  # 03:30: a restart, the warm-up's days now past
    assert second.agent.watch is not None and second.agent.watch.phase == "alerted"
    second.advance(60)  # before: the outing's learned wait, long past, and a second alert at once
    assert [a.alert_id for a in second.store.open_alerts("mary")] == [alert_id]
    assert {a["alert_id"] for a in rec.on("sentinel/mary/alert")} == {alert_id}
    assert rec.on(f"sentinel/mary/alert/{alert_id}/ack") == []


def test_a_restart_with_the_stored_routine_torn_keeps_a_blip_in_the_empty_home_a_stray(tmp_path: Path, flat) -> None:
    first = flat()
    _out_of_the_door(first)  # out at 09:01
    first.advance(3 * 3600)
    first.move("living_pir")  # a blip, before the outing's wait is over
    line = first.line()
    first.close()
    torn = Store(tmp_path / "agent.db")
    torn.set_setting("routine", '{"version": 1, "model": {"lines": "torn')
    torn.close()
    second = first.restart()
    # A routine was kept, though torn: not her first learning, and the blip is still an outing's stray.
    assert second.agent.watch is not None and second.agent.watch.limit().cause == "stray"  # type: ignore[union-attr]
    assert abs(second.line() - line) < 2


def test_a_card_that_cannot_read_the_kept_routine_keeps_the_one_just_learned(
    tmp_path: Path, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Store.get_setting

    def failing(self: Store, key: str, default: str | None = None) -> str | None:
        if key == "routine":  # the agent's own read; the learning process reads in its own process
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, key, default)

    monkeypatch.setattr(Store, "get_setting", failing)
    home = Flat(tmp_path, broker.port)
    try:
        assert home.agent.watch is not None and not home.agent.watch.learning  # learned, not thrown away
    finally:
        home.close()


def _restarted(tmp_path: Path, port: int, clock: ManualClock, argv: list[str]) -> tuple[Agent, Store, MockFactory]:
    """Mary's agent started again on her flat's database, its learning process run by ``argv``."""
    store, factory = Store(tmp_path / "agent.db"), MockFactory()
    agent = Agent(parse_config(config_yaml(port, False)), store, clock, factory, nonce=lambda: "xyz789")
    assert agent.learner is not None
    agent.learner.argv = argv
    agent.start()
    return agent, store, factory


GATED_FAILURE = """\
import pathlib, sys, time
gate = pathlib.Path(sys.argv[1])
while not gate.exists():  # held back until the test has done its part, then it fails
    time.sleep(0.01)
sys.exit(3)
"""


def test_a_failed_relearn_keeps_a_blip_in_the_empty_home_a_stray(tmp_path: Path, broker: Mosquitto, flat) -> None:
    # The watch standing in while the routine is relearned after a restart is not her first learning: a blip it
    # took is still an outing's stray when the routine kept in the store takes over.
    first = flat()
    first.close()
    gate = tmp_path / "gate"
    argv = [sys.executable, "-c", GATED_FAILURE, str(gate)]
    agent, store, factory = _restarted(tmp_path, broker.port, first.clock, argv)
    try:
        _seen(agent, factory, first.clock, "kitchen_pir")
        first.clock.advance(60)
        factory.pin(PINS["front_door"]).drive_low()  # out
        agent.pump()
        first.clock.advance(45 * 60)
        _seen(agent, factory, first.clock, "living_pir")  # a blip in the empty home
        gate.touch()  # the relearn fails: the routine kept in the store takes over
        wait_for(lambda: (agent.pump(), agent.routine_ready)[1], 30, "the failed relearn")
        assert agent.watch is not None and not agent.watch.learning
        limit = agent.watch.limit()
        assert limit is not None and limit.cause == "stray"  # before: her return, and the living room's wait
    finally:
        agent.close()
        store.close()


def _seen(agent: Agent, factory: MockFactory, clock: ManualClock, sensor: str) -> None:
    """Half a minute later, Mary passes ``sensor``."""
    clock.advance(30)
    pin = factory.pin(PINS[sensor])
    pin.drive_high()
    agent.pump()
    pin.drive_low()
    agent.pump()


def test_a_restart_with_the_alert_open_while_she_gets_up_lets_the_next_quiet_be_told(
    tmp_path: Path, broker: Mosquitto, flat, recorder
) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    first.move("kitchen_pir")
    first.advance(first.line())
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.close()
    gate = tmp_path / "learn-now"  # the routine is relearned while she gets up
    agent, store, factory = _restarted(tmp_path, broker.port, first.clock, gated_learning(gate))
    try:
        wait_for(lambda: (agent.pump(), agent.link.connected)[1], 10, "the link")
        for sensor in ("bedroom_pir", "living_pir", "kitchen_pir"):
            _seen(agent, factory, first.clock, sensor)
        gate.touch()
        wait_for(lambda: (agent.pump(), agent.routine_ready)[1], 30, "the routine")
        assert agent.watch is not None and agent.watch.phase == "watching"
        first.clock.advance(agent.watch.line_s() or 0)
        agent.pump()
        later = [a.alert_id for a in store.open_alerts("mary") if a.alert_id != alert_id]
        assert later, "the quiet after she got up is never told"
    finally:
        agent.close()
        store.close()


def test_a_restart_while_learning_with_one_sign_while_relearning_closes_the_alert_at_her_third(
    tmp_path: Path, broker: Mosquitto, flat, recorder
) -> None:
    seed = Store(tmp_path / "agent.db")  # a new kit: one morning of history, so still learning
    seed.add_event(Event("kitchen_pir", "motion", 1, "kitchen", NOW.replace(hour=8), 0.0))
    seed.close()
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    assert first.agent.watch is not None and first.agent.watch.learning
    first.move("kitchen_pir")
    first.advance(first.line() + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.close()
    learned, gate = tmp_path / "learned", tmp_path / "answer-now"
    agent, store, factory = _restarted(tmp_path, broker.port, first.clock, answer_gated_learning(learned, gate))
    try:
        wait_for(lambda: (agent.pump(), learned.exists())[1], 30, "the stored history read")
        _seen(agent, factory, first.clock, "bedroom_pir")  # she gets up while relearning: seen, not stored then
        gate.touch()
        wait_for(lambda: (agent.pump(), agent.routine_ready)[1], 30, "the routine")
        assert [a.alert_id for a in store.open_alerts("mary")] == [alert_id]
        _seen(agent, factory, first.clock, "kitchen_pir")  # while learning too, one or two signs once the alert is
        _seen(agent, factory, first.clock, "living_pir")  # out do not end it (those before the restart are not kept)
        assert [a.alert_id for a in store.open_alerts("mary")] == [alert_id]
        _seen(agent, factory, first.clock, "kitchen_pir")  # a third: she is up and about
        assert store.open_alerts("mary") == []
    finally:
        agent.close()
        store.close()


def test_one_sign_after_she_came_in_and_fell_does_not_close_the_alert(flat, recorder) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")
    home.advance(60)
    door = home.factory.pin(PINS["front_door"])
    door.drive_low()  # out
    home.advance(3600)
    door.drive_high()  # back in...
    home.advance(5)
    door.drive_low()  # ...and she falls in the hall, where no sensor sees her
    home.advance(home.line() + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(900)
    home.move("living_pir")  # one sign: not taken for her return, as after any alert
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert_id]


@pytest.mark.parametrize("not_back", [False, True], ids=["inactivity", "not_back"])
def test_after_the_all_clear_for_an_outing_one_blip_is_not_an_alert_at_once(flat, recorder, not_back: bool) -> None:
    home = flat(extra="  not_back: true\n" if not_back else "")
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")
    home.advance(60)
    home.factory.pin(PINS["front_door"]).drive_low()  # she goes out, and is not back past her usual outings
    home.advance(1)
    home.advance(home.line() + 1)
    first = rec.wait("sentinel/mary/alert")["alert_id"]
    from_the_circle(home, first, "resolve")  # Ann rang: she is at her daughter's
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    home.advance(1800)
    home.move("living_pir")  # one blip in the empty home, past the outing's wait: her return, as before
    home.advance(5)
    assert home.store.open_alerts("mary") == []


def _stray_alert_all_clear(home: Flat, rec: Recorder, stray: str) -> tuple[float, str, datetime]:
    """Out of the door; a blip of ``stray`` a minute before the outing's wait is over; its alert; an hour later
    the circle's all clear (Ann rang: she is at her daughter's). The outing's wait, the alert's id, the all clear."""
    _out_of_the_door(home)
    wait = home.line()  # the outing's
    home.advance(wait - 60)
    home.move(stray)  # in the empty home: a stray
    assert abs(home.line() - 60) < 2
    home.advance(61)
    first = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(3600)
    from_the_circle(home, first, "resolve")
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    return wait, first, home.clock.now()


@pytest.mark.parametrize("not_back", [False, True], ids=["inactivity", "not_back"])
def test_after_the_all_clear_for_an_outing_with_a_stray_a_whole_wait_is_watched_again(
    flat, recorder, not_back: bool
) -> None:
    home = flat(extra="  not_back: true\n" if not_back else "")
    wait, first, _ = _stray_alert_all_clear(home, recorder(["sentinel/mary/alert"]), "living_pir")
    home.advance(wait - 60)
    # Before: the stray's minute was left of the outing's wait, counted from the all clear: a new alert at once.
    assert home.store.open_alerts("mary") == []
    home.advance(61)
    assert [a.alert_id for a in home.store.open_alerts("mary")] not in ([], [first])


def test_a_restart_with_an_outings_alert_open_then_the_all_clear_raises_no_alert_at_once(flat, recorder) -> None:
    first = flat()
    rec = recorder(["sentinel/mary/alert"])
    _out_of_the_door(first)
    wait = first.line()  # the outing's
    first.advance(wait + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(1800)
    first.move("living_pir")  # a blip in the empty home once the alert is out: held, the alert stays open
    second = first.restart()  # an update while the alert is open
    from_the_circle(second, alert_id, "resolve")
    wait_for(lambda: (second.agent.pump(), not second.store.open_alerts("mary"))[1], 5, "the all clear")
    second.advance(wait - 60)
    # Before: "No sign of activity since" the all clear "(0 s)", a new alert the moment it was given.
    assert second.store.open_alerts("mary") == []
    second.advance(61)
    assert second.store.open_alerts("mary") != []  # the outing's whole wait again, from the all clear


def _found_alone(home: Flat, sensor: str) -> None:
    """``sensor`` reports every 5 minutes, with nothing else, until it is found reporting alone (a PIR on a heater)."""
    assert home.agent.watch is not None
    for _ in range(24 * 12):
        home.advance(300)
        home.move(sensor)
        if home.agent.watch.detector.run.alone:
            return
    raise AssertionError(f"{sensor} was never found reporting alone")


def test_a_sensor_found_alone_after_the_all_clear_leaves_the_quiet_counted_from_it(flat, recorder) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    first = _kitchen_alert_all_clear(home, rec)
    cleared = home.clock.now()
    _found_alone(home, "living_pir")  # its reports are undone: the quiet goes on from the all clear
    while not [a for a in home.store.open_alerts("mary") if a.alert_id != first]:
        home.advance(300)
    later = rec.wait("sentinel/mary/alert", lambda m: m["alert_id"] != first)
    # Before: "No sign of activity since" the all clear, as if a sensor had fired then.
    assert f"after the all clear at {cleared:%H:%M}" in later["reason"]
    assert later["facts"]["counted_from"] == "the all clear"


def test_after_an_outings_all_clear_a_stray_and_a_sensor_found_alone_bring_no_alert_early(flat, recorder) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    wait, first, cleared = _stray_alert_all_clear(home, rec, "kitchen_pir")
    _found_alone(home, "living_pir")
    home.advance((cleared + timedelta(seconds=wait - 60) - home.clock.now()).total_seconds())
    # Before: the sensor's reports undone, the quiet was judged as from a sign, and the stray's minute had passed.
    assert home.store.open_alerts("mary") == []
    home.advance(61)
    later = rec.wait("sentinel/mary/alert", lambda m: m["alert_id"] != first)
    assert f"after the all clear at {cleared:%H:%M}" in later["reason"]


def test_after_an_outings_all_clear_with_a_stray_the_next_alert_is_said_as_the_outing(flat, recorder) -> None:
    home = flat(extra="  not_back: true\n")
    rec = recorder(["sentinel/mary/alert"])
    wait, first, cleared = _stray_alert_all_clear(home, rec, "living_pir")
    home.advance(wait + 1)
    later = rec.wait("sentinel/mary/alert", lambda m: m["alert_id"] != first)
    # Before: "inactivity", its wait said as one at home after movement in the living room.
    assert later["kind"] == "not_back"
    assert later["reason"].startswith(f"Mary is not back from going out {duration(wait + 1)} after the all clear")
    assert f"at {cleared:%H:%M}" in later["reason"] and "living room" not in later["reason"]


def test_after_a_call_for_help_closed_the_quiet_alert_the_next_one_says_so(flat, recorder) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")
    home.advance(home.line())
    first = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(600)
    home.agent._outputs("help_button", [Gesture("help", "long press")], home.clock.now(), home.clock.monotonic())
    pressed = home.clock.now()
    home.advance(home.line() + 1)
    (later,) = [a for a in home.store.open_alerts("mary") if a.alert_id != first and a.kind != "help"]
    # Before: "after Mary's "I'm OK"", though she had called for help (a Zigbee hold: a gesture, no reading).
    assert f"after Mary's call for help at {pressed:%H:%M}" in later.reason


@pytest.mark.parametrize("blips", [0, 1, 2])
@pytest.mark.parametrize("close", ["circle", "app"])
def test_a_restart_after_the_all_clear_counts_the_quiet_from_it_still(flat, recorder, close: str, blips: int) -> None:
    first = flat()
    rec = recorder(["sentinel/mary/alert"])
    first.move("kitchen_pir")
    first.advance(first.line())
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    for _ in range(blips):  # held while the alert is out: a PIR catching the sun is not her
        first.advance(120)
        first.move("living_pir")
    assert [a.alert_id for a in first.store.open_alerts("mary")] == [alert_id]
    first.advance(600)
    if close == "circle":
        from_the_circle(first, alert_id, "resolve")
    else:  # her "I'm OK" from an app
        first.agent.link.client.publish("sentinel/mary/cmd/ok", json.dumps({"who": "Mary's phone"}), qos=1)
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the alert to be closed")
    cleared, cleared_mono = first.clock.now(), first.clock.monotonic()
    first.advance(600)
    second = first.restart()  # an update, a power blip
    second.advance(5)
    # Before: the restart counted the quiet from the kitchen again, and a second alert came at once. With blips:
    # the replay took them for signs, the all clear kept no longer followed the last one, and the quiet was counted
    # from the last blip: the circle was told again at once, minutes after its all clear.
    assert second.store.open_alerts("mary") == []
    second.advance(cleared_mono + second.line() - 60 - second.clock.monotonic())
    assert second.store.open_alerts("mary") == []  # a whole wait from the all clear, as without the restart
    second.advance(120)
    (later,) = second.store.open_alerts("mary")
    by = "the all clear" if close == "circle" else "Mary's \"I'm OK\""
    assert f"after {by} at {cleared:%H:%M}" in later.reason


def _out_of_the_door(home: Flat) -> None:
    """Mary in the kitchen at 09:00, then out through the front door (it shuts behind her)."""
    home.move("kitchen_pir")
    home.advance(60)
    home.factory.pin(PINS["front_door"]).drive_low()
    home.advance(1)


@pytest.mark.parametrize("not_back", [False, True], ids=["inactivity", "not_back"])
def test_a_blip_while_a_quiet_window_postpones_the_outings_alert_does_not_hide_it(
    flat, recorder, not_back: bool
) -> None:
    home = flat(
        extra='  quiet_windows: [{start: "09:00", end: "20:00"}]\n' + ("  not_back: true\n" if not_back else "")
    )
    _out_of_the_door(home)
    home.advance(home.line() + 600)  # past her usual outings, inside the window: postponed
    home.move("living_pir")  # one blip in the empty home: no alert is out, but nobody asked or said all is well
    now = home.clock.now()
    home.advance((now.replace(hour=20, minute=0) - now).total_seconds() + 60)
    told = home.store.open_alerts("mary")
    assert len(told) == 1 and "Mary went out at 09:01; one or two signs of life since then" in told[0].reason


def test_a_sign_while_an_outing_is_asked_about_answers_it_once(flat) -> None:
    home = flat(checkin=True)
    _out_of_the_door(home)
    home.advance(home.line() + 1)
    assert home.agent.watch is not None and home.agent.watch.phase == "checking"
    home.advance(60)
    home.move("living_pir")  # she is home after all (the door missed her coming in): an answer
    home.advance(1)
    assert home.agent.watch.phase == "watching"  # not asked again a second later


def test_her_press_after_the_door_is_taken_for_her_being_home(flat) -> None:
    home = flat()
    _out_of_the_door(home)  # a visitor leaving; she stays in her chair, unseen
    home.advance(3600)
    home.press()  # her "I'm OK": she is home
    home.advance(home.line() + 60)  # then quiet past the line after her press
    told = home.store.open_alerts("mary")
    assert told and all("went out" not in a.reason for a in told)  # her quiet at home, not an outing with strays


def test_with_a_short_floor_one_sign_soon_after_she_came_in_and_fell_does_not_close_the_alert(flat, recorder) -> None:
    home = flat(extra="  floor: 10m\n")
    rec = recorder(["sentinel/mary/alert"])
    _out_of_the_door(home)
    home.advance(3 * 3600)
    door = home.factory.pin(PINS["front_door"])
    door.drive_high()  # back in...
    home.advance(5)
    door.drive_low()  # ...and she falls in the hall, unseen
    home.advance(1)
    assert home.line() < 25 * 60  # the alert comes within half an hour of the door
    home.advance(home.line() + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(120)
    home.move("living_pir")  # one sign, still within half an hour of the door
    home.advance(3)
    assert [a.alert_id for a in home.store.open_alerts("mary")] == [alert_id]


def test_an_older_alerts_all_clear_after_she_went_out_does_not_let_a_blip_hide_not_back(flat, recorder) -> None:
    home = flat(extra='  not_back: true\n  quiet_windows: [{start: "13:00", end: "20:00"}]\n')
    rec = recorder(["sentinel/mary/alert"])
    home.move("kitchen_pir")  # 09:00
    home.advance(home.line())
    first = rec.wait("sentinel/mary/alert")["alert_id"]
    from_the_circle(home, first, "claim")  # Ann is going: the alert stays open until she says all is well
    wait_for(lambda: (home.agent.pump(), home.store.claimed_by(first))[1], 5, "the claim")
    for sensor in ("living_pir", "bedroom_pir", "kitchen_pir", "living_pir"):  # Mary up and about
        home.advance(60)
        home.move(sensor)
    home.factory.pin(PINS["front_door"]).drive_low()  # she goes out, and is not back
    home.advance(1)
    deadline = home.clock.now() + timedelta(seconds=home.line())
    home.advance(600)
    from_the_circle(home, first, "resolve")  # Ann, arriving: she was fine, she has gone to the shops
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    home.advance((deadline - home.clock.now()).total_seconds() + 600)  # past her usual outings, in the window
    home.move("living_pir")  # one blip in the empty home: the older alert's all clear says nothing of it
    now = home.clock.now()
    home.advance((now.replace(hour=20, minute=0) - now).total_seconds() + 60)
    assert home.store.open_alerts("mary")  # "not back", told when the window ends


def test_set_away_while_an_outing_is_asked_about_a_blip_is_not_her_answer(flat) -> None:
    home = flat(checkin=True)
    _out_of_the_door(home)
    home.advance(home.line() + 1)
    assert home.agent.watch is not None and home.agent.watch.phase == "checking"
    home.agent.set_mode("away", "set to away by Ann: Mary is at her daughter's")
    home.advance(7200)
    home.move("living_pir")  # one blip in the empty home
    home.advance(6 * 3600)
    home.agent.set_mode("home", "Mary is back")
    door = home.factory.pin(PINS["front_door"])
    door.drive_high()  # she comes in
    home.advance(5)
    door.drive_low()
    home.advance(1)
    assert home.agent.watch.detector.last_context == "front_door:0 back"  # coming in, not going out again


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
def test_while_learning_a_blip_past_the_days_wait_in_a_quiet_window_alerts_when_it_ends(flat, restart: bool) -> None:
    # Out at 09:00; the day's wait ends at 09:00 the next day, in a quiet window: the alert waits for its end. A blip
    # at 10:00 leaves the day's wait as it was: before, a restart then (the learning process held the blip back, as
    # the agent had not) counted a day again from the blip, 22 h late.
    extra = '  learn_days: 30\n  quiet_windows: [{start: "07:00", end: "12:00"}]\n'
    home = flat(extra=extra)
    home.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    home.advance(25 * 3600)
    home.move("kitchen_pir")  # 10:00 the next day
    home.advance(3600)
    if restart:  # 11:00
        home = home.restart()
    home.advance(3600 - 60)
    assert home.store.open_alerts("mary") == []  # 11:59
    home.advance(120)
    assert [a.kind for a in home.store.open_alerts("mary")] == ["inactivity"]  # 12:01


@pytest.mark.parametrize("closed", [False, True], ids=["the-alert-open", "the-alert-closed"])
def test_a_restart_bringing_the_first_routine_after_the_days_alert_keeps_her_coming_in_a_return(
    flat, recorder, closed: bool
) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat(extra="  learn_days: 14\n")
    first.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    first.advance(24 * 3600 + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(17 * 3600)
    first.move("kitchen_pir")  # 02:00: a blip in the empty home, held: the day's alert stays open
    first.advance(1800)
    if closed:  # 02:30: Ann rang her daughter: Mary is staying the night there
        from_the_circle(first, alert_id, "resolve")
        wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    first.advance(3600)
    second = first.restart()  # 03:30: a restart, and the warm-up's days are past: the first routine comes
    watch = second.agent.watch
    assert watch is not None and (closed or watch.alert_id == alert_id)  # (closed: told again at once, as said)
    assert not watch.learning and watch.detector.gone is not None  # still out: the blip was no return
    second.advance(4 * 3600)
    door = second.factory.pin(PINS["front_door"])
    door.drive_high()  # 07:30: she comes back in
    second.advance(5)
    door.drive_low()
    second.advance(1)
    # Before, the first routine took the blip for her return, and her coming in for going out (7.6 h, not 1.5 h).
    assert watch.detector.last_context == "front_door:0 back"


def test_a_restart_after_a_stray_past_a_day_out_keeps_the_learned_outings_wait_from_the_door() -> None:
    # A learned outing through the front door may last 30 h (nights at her daughter's); a stray 25 h out, then a
    # restart: the learning process replays the history with no routine. Before, it held the stray back, and the
    # restored watch counted the outing's whole wait again from the stray: 25 h late.
    from sentinel.detect.learn import learn
    from sentinel.detect.lines import Params, RoutineModel
    from sentinel.detect.summary import Summary
    from sentinel.detect.watch import Watch

    t0, out_s = datetime(2026, 1, 5, 9, 0).astimezone(), 30 * 3600.0
    params = Params()
    model = RoutineModel(params, 30, 40, 600, lines={"": [4 * 3600.0] * 48}, doors=frozenset({"front_door:0"}))
    endless = replace(params, ceiling_s=float("inf"), door_ceiling_s=float("inf"))
    outing = RoutineModel(endless, 30, 1, 600, lines={"": [4 * 3600.0] * 48, "front_door:0": [out_s] * 48})
    cfg = parse_config(config_yaml(1883, False, "  not_back: true\n"))
    events = [
        Event("kitchen_pir", "motion", 1, "kitchen", t0, 1000.0),
        Event("front_door", "door", 1, "hall", t0 + timedelta(seconds=60), 1060.0),
        Event("front_door", "door", 0, "hall", t0 + timedelta(seconds=65), 1065.0),
        Event("living_pir", "motion", 1, "living room", t0 + timedelta(hours=25), 1000.0 + 25 * 3600),
    ]
    live = Watch(cfg.detection, cfg.home, cfg.sensors)
    live.adopt(Summary(t0, t0.date(), model, outing, {}), took=False)
    for event in events:
        live.activity(event, learn=True)
    assert live.deadline() == 1065.0 + out_s
    now_wall, now_mono = t0 + timedelta(hours=26), 1000.0 + 26 * 3600
    replayed = learn(events, [], live.request(now_wall, state=True))
    restored = Watch(cfg.detection, cfg.home, cfg.sensors)
    restored.restore(replace(replayed, model=model, outing_model=outing), now_wall, now_mono, same_boot=True)
    assert restored.deadline() == live.deadline()


def test_away_past_the_line_the_agents_loop_does_not_spin(flat) -> None:
    # The watch's deadline passes while away: before, the loop woke at once, again and again (a core at 100 %).
    home = flat(extra="  learn_days: 30\n")
    home.agent.set_mode("away", "set to away by the test")
    home.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    home.advance(30 * 3600)
    assert home.agent.next_deadline() >= home.clock.monotonic() + 1.0


def test_a_quiet_window_past_the_line_does_not_spin_the_loop_and_the_alert_comes_at_its_end(flat) -> None:
    home = flat(extra='  learn_days: 30\n  quiet_windows: [{start: "07:00", end: "12:00"}]\n')
    home.factory.pin(PINS["front_door"]).drive_low()  # out at 09:00
    home.advance(25 * 3600)  # 10:00 the next day: the day's alert waits for 12:00
    assert home.store.open_alerts("mary") == []
    assert home.agent.next_deadline() >= home.clock.monotonic() + 1.0
    home.advance(2 * 3600)  # 12:00
    assert [a.kind for a in home.store.open_alerts("mary")] == ["inactivity"]


@pytest.mark.parametrize("restart_after", [1800, 5400], ids=["still-learning", "bringing-the-first-routine"])
def test_a_sign_after_the_outings_all_clear_is_her_return_after_a_restart_in_the_first_learning(
    flat, recorder, restart_after: int
) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat(extra="  learn_days: 14\n")
    first.factory.pin(PINS["front_door"]).drive_low()  # the door at 09:00
    first.advance(24 * 3600 + 1)
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(3600)
    from_the_circle(first, alert_id, "resolve")  # 10:00: Ann rang: Mary is fine
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    first.advance(16 * 3600)
    first.move("kitchen_pir")  # 02:00: Mary in the kitchen, after the all clear: hers (listening)
    live = first.agent.watch
    assert live is not None and live.detector.gone is None  # the live agent: she is home
    first.advance(restart_after)
    # 02:30, still learning, or 03:30, the warm-up's days past: before, an alert at once (or a day from the sign)
    second = first.restart()
    watch = second.agent.watch
    assert watch is not None
    assert second.store.open_alerts("mary") == []  # she is home and was seen 30 or 90 min ago
    assert watch.detector.gone is None  # as the live agent had it


def _back_after_the_outings_all_clear(first: Flat, rec: Recorder) -> None:
    """Mary goes out at 09:00, the outing's alert goes out and the circle closes it; an hour on she is in the kitchen:
    the live agent, listening after the all clear, takes that sign for her return."""
    first.factory.pin(PINS["front_door"]).drive_low()
    first.agent.pump()
    first.advance(first.line() + 1)
    outing = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(600)
    from_the_circle(first, outing, "resolve")
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    first.advance(3600)
    first.move("kitchen_pir")
    assert first.agent.watch is not None and first.agent.watch.detector.gone is None


def test_a_sign_after_the_outings_all_clear_is_her_return_after_a_restart_with_a_routine(flat, recorder) -> None:
    first = flat()
    _back_after_the_outings_all_clear(first, recorder(["sentinel/mary/alert"]))
    first.advance(600)
    second = first.restart()  # a restart: the replay knows nothing of the all clear (before: an alert at once)
    assert second.store.open_alerts("mary") == []


def test_a_return_after_the_outings_all_clear_stays_hers_after_a_restart_once_a_later_alert_was_closed(
    flat, recorder
) -> None:
    first = flat()
    _back_after_the_outings_all_clear(first, recorder(["sentinel/mary/alert"]))
    home_line = first.line()
    first.advance(home_line + 1)  # then quiet at home: an inactivity alert
    (at_home,) = first.store.open_alerts("mary")
    first.advance(600)
    from_the_circle(first, at_home.alert_id, "resolve")  # its all clear: the quiet is counted from it
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the second all clear")
    first.advance(600)
    second = first.restart()  # a restart in the same boot (before: the outing's wait from the all clear, 5 h late)
    watch = second.agent.watch
    assert watch is not None
    assert watch.detector.gone is None, "she came home after the outing's all clear, as the live agent had it"
    second.advance(home_line - 600 + 60)  # the at-home line from the second all clear, and a minute
    assert second.store.open_alerts("mary") != [], "the next alert is due on the at-home line, not the outing's"


@pytest.mark.parametrize("closed", [False, True], ids=["the-later-alert-open", "the-later-alert-closed"])
def test_a_stray_held_while_a_later_alert_was_out_stays_a_stray_after_a_restart(flat, recorder, closed: bool) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    first.factory.pin(PINS["front_door"]).drive_low()  # the door at 09:00
    first.agent.pump()
    first.advance(first.line() + 1)
    outing = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(600)
    from_the_circle(first, outing, "resolve")  # the outing's all clear: listening
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    first.advance(first.line() + 1)  # no sign: the outing's whole wait again, and a second alert (not listening)
    (again,) = first.store.open_alerts("mary")
    first.advance(600)
    first.move("kitchen_pir")  # a blip while the second alert is out: held, no return
    first.advance(600)
    if closed:  # its all clear too
        from_the_circle(first, again.alert_id, "resolve")
        wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the second all clear")
    assert first.agent.watch is not None and first.agent.watch.detector.gone is not None
    second = (
        first.restart()
    )  # a restart (before: the blip taken for her return, the quiet after it on the line at home)
    watch = second.agent.watch
    assert watch is not None and (closed or watch.alert_id == again.alert_id)
    assert watch.detector.gone is not None, "the blip was held while the second alert was out, not her return"
    # (closed: the quiet is counted from the blip, not the all clear: the circle may be told again at once)


def test_a_stray_after_a_sign_that_ended_the_listening_stays_a_stray_after_a_restart(flat, recorder) -> None:
    rooms = "  rooms: [{room: hall, ceiling: 2h}, {room: kitchen, floor: 10h}]\n"
    rec = recorder(["sentinel/mary/alert"])
    first = flat(extra=rooms)
    first.factory.pin(PINS["front_door"]).drive_low()  # the door at 09:00
    first.agent.pump()
    first.advance(first.line() + 1)  # 11:00: the hall's ceiling, before the outing's wait
    outing = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(600)
    from_the_circle(first, outing, "resolve")  # its all clear: listening
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    first.advance(1800)
    first.move("kitchen_pir")  # before the outing's wait: a stray, taken; listening no more
    live = first.agent.watch
    assert live is not None and live.detector.gone is not None and not live.detector.listening
    first.advance(6 * 3600)
    first.move("kitchen_pir")  # past the outing's wait: a second stray, not her return (the live agent)
    assert live.detector.gone is not None and not first.store.open_alerts("mary")
    first.advance(600)
    second = first.restart()
    watch = second.agent.watch
    assert watch is not None
    assert watch.detector.gone is not None, "two strays after the door, and no listening: no return"


def test_after_an_outings_all_clear_and_a_sensor_found_alone_one_blip_past_the_wait_is_her_return(
    flat, recorder
) -> None:
    home = flat()
    rec = recorder(["sentinel/mary/alert"])
    _out_of_the_door(home)
    home.advance(home.line() + 1)
    outing = rec.wait("sentinel/mary/alert")["alert_id"]
    home.advance(600)
    from_the_circle(home, outing, "resolve")  # the outing's all clear: listening
    wait_for(lambda: (home.agent.pump(), not home.store.open_alerts("mary"))[1], 5, "the all clear")
    _found_alone(home, "living_pir")  # its reports undone: not hers, the quiet counted from the all clear again
    home.advance(600)
    home.move("kitchen_pir")  # one blip past the outing's wait after the all clear: her return (as without the run)
    home.advance(5)
    # Before, the run's first sign, taken before it was found alone, ended the listening: an alert at once.
    assert home.store.open_alerts("mary") == []


WINDOW = '  quiet_windows: [{start: "18:00", end: "23:59"}]\n'


def test_after_an_outings_all_clear_and_a_sensor_found_alone_a_blip_is_judged_alike_after_a_restart(
    flat, recorder
) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat(extra=WINDOW)
    _out_of_the_door(first)
    first.advance(first.line() + 1)
    outing = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(600)
    from_the_circle(first, outing, "resolve")  # the outing's all clear (before 18:00): listening
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    _found_alone(first, "living_pir")  # in the quiet window
    first.advance(600)
    first.move("kitchen_pir")  # one blip, in the window: the alert, if any, waits for its end
    live = first.agent.watch
    assert live is not None and first.store.open_alerts("mary") == []
    live_gone = live.detector.gone is not None
    first.advance(60)
    second = first.restart()
    watch = second.agent.watch
    assert watch is not None
    assert (watch.detector.gone is not None) == live_gone, "the live agent and the restored one differ on the blip"
