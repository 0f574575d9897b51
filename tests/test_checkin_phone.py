"""The resident's own 'I'm OK' on their phone, end to end: a real agent, the notifier, Mosquitto, ntfy's stand-in.

The agent learns Mary's routine from twelve days of history, goes quiet, and asks first (``checking``) with no
buzzer or LED: the notifier asks on her phone, and her press becomes the agent's own ``cmd/ok``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory
from test_watch import NOW, PINS, seed_history, sensors_yaml

from circle_driver import RESIDENT_TOPIC, TOPICS, TUESDAY_10, Circle, alert, to_resident
from conftest import Mosquitto, wait_for
from sentinel.agent.app import Agent
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.notifier.health import gather, render
from sentinel.store import Store

ACK_TOPIC = "sentinel-acks-test-0001"
RESIDENT = f"    resident: {{topic: {RESIDENT_TOPIC}, check_in: true}}\n"


def agent_yaml(port: int, base: str) -> str:
    sensors = sensors_yaml()
    return f"""\
home: {{id: mary, name: Mary}}
gpio: {{pin_factory: mock}}
mqtt: {{host: 127.0.0.1, port: {port}, base_topic: {base}}}
detection:
  checkin: {{enabled: true, wait: 5m, phone: true}}
sensors:
{sensors}"""


class Together:
    """Mary's agent (no buzzer, no LED) and her circle's notifier on one clock and one topic tree."""

    def __init__(
        self,
        tmp_path: Path,
        broker: Mosquitto,
        circle: Any,
        home_extra: str = RESIDENT,
        late: bool = False,
        **more: Any,
    ) -> None:
        base = f"t{uuid.uuid4().hex[:8]}"
        self.clock = ManualClock(NOW)
        self.store = Store(tmp_path / "agent.db")
        seed_history(self.store)
        self.factory = MockFactory()
        self.agent = Agent(parse_config(agent_yaml(broker.port, base)), self.store, self.clock, self.factory)
        self.agent.start()
        wait_for(lambda: (self.agent.pump(), self.agent.link.connected)[1], 10, "the agent to connect")
        wait_for(lambda: (self.agent.pump(), self.agent.routine_ready)[1], 30, "the routine to be relearned")
        top = "watch_silence: false\n"
        self._circle = lambda: circle(base=base, clock=self.clock, home_extra=home_extra, top=top, **more)
        if not late:  # else the notifier starts at ``join``
            self.join()

    def join(self) -> None:
        """The circle's notifier starts, and subscribes."""
        self.c: Circle = self._circle()

    def move(self, sensor: str) -> None:
        pin = self.factory.pin(PINS[sensor])
        pin.drive_high()
        self.agent.pump()
        pin.drive_low()
        self.agent.pump()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.agent.pump()
        self.c.pump()

    def quiet_until_asked(self) -> dict[str, Any]:
        """Nothing moves after the kitchen until the agent asks first; the notice on Mary's phone."""
        assert self.agent.watch is not None
        self.move("kitchen_pir")
        self.advance(self.agent.watch.line_s() or 0)
        assert self.agent.status == "checking"
        return wait_for(lambda: (self.c.pump(1), to_resident(self.c, "Are you all right"))[1], 10, "the notice")[-1]

    def until(self, condition: Any, what: str) -> Any:
        return wait_for(lambda: (self.agent.pump(), self.c.pump(1), condition())[-1], 10, what)

    def close(self) -> None:
        self.agent.close()
        self.store.close()


@pytest.fixture
def mary(tmp_path: Path, broker: Mosquitto, circle: Any) -> Iterator[Together]:
    made = Together(tmp_path, broker, circle)
    yield made
    made.close()


def body_of(note: dict[str, Any], label: str) -> dict[str, Any]:
    return json.loads(next(a for a in note["actions"] if a["label"] == label)["body"])


def post(c: Circle, body: dict[str, Any]) -> None:
    c.handled(c.ntfy_server.store(ACK_TOPIC, json.dumps(body), {})["id"])


def log_of(c: Circle, what: str) -> list[str]:
    return [detail for _, _, w, detail in c.store.member_log("resident:mary") if w == what]


def test_a_press_on_the_phone_ends_the_check_and_nobody_is_told(mary: Together) -> None:
    c = mary.c
    note = mary.quiet_until_asked()
    assert note["title"] == "Are you all right, Mary?" and note["priority"] == 4
    assert [a["label"] for a in note["actions"]] == ["I'm OK"]
    assert "kitchen" not in note["message"]  # nothing about where she was: only the question
    check = body_of(note, "I'm OK")["alert_id"]
    assert log_of(c, "asked") == [check]

    # A forged press (its token altered) and one passed off as another home's: refused, recorded, no effect.
    post(c, {**body_of(note, "I'm OK"), "token": "A" * 24})
    post(c, {**body_of(note, "I'm OK"), "home": "elsewhere"})
    assert log_of(c, "refused") == [f"ok {check}: forged token"] * 2
    mary.agent.pump()
    assert mary.agent.status == "checking"

    c.handled(c.ntfy_server.press(note, "I'm OK")["id"])
    mary.until(lambda: mary.agent.status == "ok", "the agent to hear 'I'm OK'")
    assert "pressed the button when asked" in mary.agent.status_reason
    assert c.store.resident_check("mary", check).outcome == "cancelled"  # type: ignore[union-attr]
    (thanks,) = to_resident(c, "Thank you, Mary")
    assert thanks["message"] == "Your monitor knows you are all right: your circle is not told."

    # The same press again, as anyone reading the ack topic could send it: refused.
    c.handled(c.ntfy_server.press(note, "I'm OK")["id"])
    assert log_of(c, "refused")[-1] == f"ok {check}: replayed token"
    assert len(to_resident(c, "Thank you")) == 1

    mary.advance(600)  # well past the check-in's wait
    assert mary.store.open_alerts("mary") == [] and c.store.incidents() == []
    assert not c.alerts_to("ann") and not c.alerts_to("carol")


def test_no_answer_tells_the_circle_and_a_late_press_gives_the_all_clear(mary: Together) -> None:
    c = mary.c
    note = mary.quiet_until_asked()
    mary.advance(300)  # the check-in's wait: no answer
    (alert,) = mary.until(lambda: c.store.incidents(), "the alert to reach the notifier")
    assert alert.kind == "inactivity" and "did not answer the check-in" in alert.reason
    mary.until(lambda: c.alerts_to("ann"), "the circle to be told")
    assert len(to_resident(c, "Are you all right")) == 1  # asked once, however often the status came

    c.handled(c.ntfy_server.press(note, "I'm OK")["id"])
    mary.until(lambda: c.store.is_closed(alert.alert_id), "the agent's all-clear to reach the circle")
    assert mary.agent.status == "ok" and mary.store.open_alerts("mary") == []
    closed = c.store.incident(alert.alert_id)
    assert closed is not None and closed.closed_by == "resident"
    assert c.ntfy_server.to(c.config.member("ann").topic)[-1]["title"] == "Mary: all clear"
    assert to_resident(c, "Thank you, Mary")[-1]["message"].startswith("Your circle had been told")


def test_an_expired_press_is_refused_and_the_alert_stays_open(mary: Together) -> None:
    c = mary.c
    note = mary.quiet_until_asked()
    mary.advance(300)
    (alert,) = mary.until(lambda: c.store.incidents(), "the alert")
    mary.advance(2 * 3600)  # the button works for two hours
    c.handled(c.ntfy_server.press(note, "I'm OK")["id"])
    assert log_of(c, "refused")[-1].endswith(": expired token")
    mary.agent.pump()
    assert [a.alert_id for a in mary.store.open_alerts("mary")] == [alert.alert_id]
    assert not c.store.is_closed(alert.alert_id)
    assert not to_resident(c, "Thank you")
    assert c.ntfy_server.to(RESIDENT_TOPIC)[0]["title"] == "Are you all right, Mary?"


# 'I'm OK today', the daily note and availability: the notifier alone, the agent's status published by hand

DAILY = f'    resident: {{topic: {RESIDENT_TOPIC}, check_in: true, daily: "10:30"}}\n    daily_note: true\n'


def ann_daily(text: str) -> str:
    return text.replace("    name: Ann\n", '    name: Ann\n    daily: "19:00"\n', 1)


def test_im_ok_today_and_the_daily_note_in_words(circle: Any, recorder: Any) -> None:
    c: Circle = circle(home_extra=DAILY, edit=ann_daily, top="watch_silence: false\n")
    cmd = recorder([f"{c.base}/mary/cmd/ok"])
    c.pump()  # the notifier meets its schedules at 10:00
    c.publish(
        "status", {"state": "ok", "since": None, "last_activity": TUESDAY_10.replace(hour=9, minute=40).isoformat()}
    )
    c.advance(30 * 60)
    (note,) = to_resident(c, "Hello Mary")
    assert [a["label"] for a in note["actions"]] == ["I'm OK today"]
    c.handled(c.ntfy_server.press(note, "I'm OK today")["id"])
    assert cmd.wait(f"{c.base}/mary/cmd/ok")["who"] == "Mary's phone"  # the agent records it as last_checkin
    assert to_resident(c, "Thank you, Mary")[-1]["message"].startswith("Noted")

    c.publish("alert", alert("mary-inactivity-1"))  # raised at 10:00, all clear soon after
    c.pump()
    c.press("ann", "I called, all OK")
    c.clock.advance(8 * 3600)  # 18:30
    c.advance(30 * 60)  # 19:00: Ann's note
    (daily,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"]
    assert daily["message"] == (
        "All well at Mary's now: 1 alert today (unusually quiet at 10:00, all clear), last movement reported at"
        " 09:40, Mary said 'I'm OK' at 10:30."
    )
    assert not daily.get("actions") and "kitchen" not in daily["message"]
    assert not [n for n in c.ntfy_server.to(TOPICS["bob"]) if n["title"] == "Mary today"]  # Bob did not ask


def test_im_ok_today_never_closes_an_open_alert(circle: Any) -> None:
    c: Circle = circle(home_extra=DAILY, top="watch_silence: false\n")
    c.pump()
    c.advance(30 * 60)
    (note,) = to_resident(c, "Hello Mary")
    c.publish("alert", alert("mary-inactivity-1"))
    c.pump()
    c.handled(c.ntfy_server.press(note, "I'm OK today")["id"])
    assert not c.store.is_closed("mary-inactivity-1")
    assert c.store.resident_check("mary", body_of(note, "I'm OK today")["alert_id"]).outcome == "open"  # type: ignore[union-attr]


def test_away_and_back_from_the_phone(circle: Any) -> None:
    c: Circle = circle(top='watch_silence: false\navailability: {every: 7d, at: "18:00"}\n')
    c.pump()
    c.clock.advance(7 * 3600)
    c.advance(3600)  # Tuesday 18:00
    (note,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "sentinel: are you around?"]
    assert [a["label"] for a in note["actions"]] == ["Away until Sun 08 Mar", "Away until Sun 15 Mar"]

    forged = {**body_of(note, "Away until Sun 08 Mar"), "alert_id": "away-2026-12-31"}  # a date she never chose
    c.handled(c.ntfy_server.store(ACK_TOPIC, json.dumps(forged), {})["id"])
    assert [d for _, _, w, d in c.store.member_log("ann") if w == "refused"] == ["away away-2026-12-31: forged token"]

    c.handled(c.ntfy_server.press(note, "Away until Sun 08 Mar")["id"])
    assert c.store.away_rows()["ann"].away_until == "2026-03-08"
    again = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "sentinel: are you around?"][-1]
    assert again["message"].startswith("You are away until Sun 08 Mar") and again["actions"][0]["label"] == "Back"

    c.publish("alert", alert("mary-inactivity-1"))  # Ann away, Bob on call at weekends only: Carol at once
    c.pump()
    assert not c.alerts_to("ann") and c.alerts_to("carol")
    c.press("carol", "I called, all OK")
    out = render(c.config, gather(c.config, c.store), c.clock.now())  # what circle-health prints
    assert "away: until 2026-03-08" in out[out.index("Ann (ann)") : out.index("Bob (bob)")]

    c.handled(c.ntfy_server.press(again, "Back")["id"])
    c.publish("alert", alert("mary-inactivity-2"))
    c.pump()
    assert len(c.alerts_to("ann")) == 1
    assert [w for _, _, w, _ in c.store.member_log("ann") if w in ("away", "back")] == ["away", "back"]


def test_the_daily_note_asks_the_monitor_first_so_its_last_movement_is_not_hours_old(
    tmp_path: Path, broker: Mosquitto, circle: Any
) -> None:
    # The status is published only when something changes: the note said "last movement reported at" the last
    # change, hours before, after an afternoon of movement.
    mary = Together(tmp_path, broker, circle, home_extra=RESIDENT + "    daily_note: true\n", edit=ann_daily)
    try:
        mary.c.pump()  # the notifier meets Ann's schedule (19:00)
        checkins = mary.c.notifier.rhythm.checkins
        mary.until(lambda: "mary" in checkins.latest, "the status as the agent started")
        for i in range(29):  # busy from 09:00 to 18:40: no change of state, so no new status
            mary.move(("kitchen_pir", "living_pir", "bathroom_pir")[i % 3])
            mary.advance(20 * 60)
        mary.move("kitchen_pir")
        last = mary.clock.now()
        assert mary.agent.status == "ok" and f"{last:%H:%M}" == "18:40", mary.agent.status_reason
        mary.advance(18 * 60)  # 18:58: the notifier asks for the status, the agent says it again
        mary.until(lambda: checkins.latest["mary"].last_activity == last.replace(microsecond=0), "a fresh status")
        mary.advance(2 * 60)  # 19:00
        notes = mary.until(
            lambda: [n for n in mary.c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"], "Ann's note"
        )
        assert "last movement reported at 18:40" in notes[-1]["message"], notes[-1]["message"]
    finally:
        mary.close()
