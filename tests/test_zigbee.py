"""Sensors through zigbee2mqtt: recorded payloads (and junk) in, the same edges as pins and kit notices out."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from test_agent import T0, Home

from conftest import Mosquitto, Recorder
from sentinel.agent.kit import OFFLINE_GRACE_S
from sentinel.agent.zigbee import Fault, Level, Press, Zigbee
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.config.model import ZigbeeConfig
from sentinel.core.sensors import Gesture

# Payloads as zigbee2mqtt 1.x/2.x publishes them for common devices.
AQARA_MOTION = b'{"battery":100,"illuminance":12,"linkquality":102,"occupancy":true,"voltage":3045}'
AQARA_DOOR_OPEN = b'{"battery":91,"contact":false,"linkquality":87,"temperature":21,"voltage":2985}'
AQARA_BUTTON_DOUBLE = b'{"action":"double","battery":100,"linkquality":60,"voltage":3025}'
IKEA_BUTTON_SINGLE = b'{"action":"on","battery":87,"linkquality":78}'
PLUG = b'{"current":0.12,"energy":1.4,"linkquality":120,"power":1840,"state":"ON","voltage":230}'

SENSORS = """\
sensors:
  - {name: hall_pir, kind: motion, zigbee: hall motion, room: hall}
  - {name: front_door, kind: door, zigbee: front door, room: hall}
  - {name: help_button, kind: button, zigbee: help button, room: lounge}
  - {name: kettle, kind: power, zigbee: kitchen/kettle plug, room: kitchen}
"""


def config_text(port: int, home: str = "zhome") -> str:
    return (
        f"home: {{id: {home}, name: Mary}}\ngpio: {{pin_factory: mock}}\nmqtt: {{host: 127.0.0.1, port: {port}}}\n"
        + SENSORS
    )


def zigbee() -> Zigbee:
    return Zigbee(ZigbeeConfig(), parse_config(config_text(1883)).sensors)


def test_recorded_payloads_become_levels_presses_and_faults() -> None:
    z = zigbee()

    def news(topic: str, payload: bytes, retained: bool = False) -> list[object]:
        """What the message says, less "the battery is fine" (the agent says that only after a low one)."""
        return [r for r in z.read(topic, payload, retained) if not (isinstance(r, Fault) and r.ok)]

    assert news("zigbee2mqtt/hall motion", AQARA_MOTION) == [Level("hall_pir", True)]
    assert news("zigbee2mqtt/front door", AQARA_DOOR_OPEN) == [Level("front_door", True)]  # contact false: open
    assert news("zigbee2mqtt/help button", AQARA_BUTTON_DOUBLE) == [
        Press("help_button", Gesture("help", "double press"))
    ]
    assert news("zigbee2mqtt/help button", IKEA_BUTTON_SINGLE) == [Press("help_button", Gesture("ok", "short press"))]
    assert news("zigbee2mqtt/kitchen/kettle plug", PLUG) == [Level("kettle", True)]  # 1840 W: in use
    assert news("zigbee2mqtt/hall motion", AQARA_MOTION, True) == [Level("hall_pir", True, quiet=True)]
    assert news("zigbee2mqtt/help button", AQARA_BUTTON_DOUBLE, True) == []  # a retained press is old news
    low = z.read("zigbee2mqtt/front door", b'{"battery":12,"contact":true}', False)
    assert low[0] == Level("front_door", False) and isinstance(low[1], Fault) and low[1].kind == "battery_low"
    for old, new in ((b"offline", b"online"), (b'{"state":"offline"}', b'{"state":"online"}')):  # 1.x and 2.x
        down = z.read("zigbee2mqtt/hall motion/availability", old, True)
        assert [(f.key, f.kind, f.ok) for f in down] == [("device:hall_pir", "device_offline", False)]  # type: ignore[union-attr]
        assert z.read("zigbee2mqtt/bridge/state", new, False)[0] == Fault(
            "bridge",
            "bridge_offline",
            "The Zigbee bridge (zigbee2mqtt) is back: the Zigbee sensors report again.",
            True,
        )


def test_an_mmwave_presence_sensor_is_read_like_occupancy() -> None:
    # Aqara FP1 (RTCZCGQ11LM), Tuya mmWave radars: "presence", not "occupancy" (zigbee-herdsman-converters).
    fp1 = b'{"presence":true,"presence_event":"enter","linkquality":120,"device_temperature":31}'
    assert zigbee().read("zigbee2mqtt/hall motion", fp1, False) == [Level("hall_pir", True)]
    assert zigbee().read("zigbee2mqtt/hall motion", b'{"presence":false}', False) == [Level("hall_pir", False)]


def test_a_sensor_zigbee2mqtt_does_not_know_and_attribute_output_are_faults_for_the_keepers() -> None:
    z = zigbee()

    def devices(*names: str) -> list[tuple[str, str, bool]]:
        body = [{"friendly_name": "Coordinator", "type": "Coordinator"}, *({"friendly_name": n} for n in names)]
        faults = z.read("zigbee2mqtt/bridge/devices", json.dumps(body).encode() + b" " * 50_000, True)
        return [(f.key, f.text, f.ok) for f in faults if isinstance(f, Fault) and not f.ok]

    # "help buton": a typo in zigbee2mqtt's name of it (or a rename there) would leave the button unheard.
    missing = devices("hall motion", "front door", "help buton", "kitchen/kettle plug")
    assert missing == [
        (
            "name:help_button",
            "zigbee2mqtt has no device named 'help button', so sentinel hears nothing from the lounge help button"
            " (help_button). In agent.yaml, give it the device's friendly name exactly as zigbee2mqtt shows it, and"
            " restart the agent.",
            False,
        )
    ]
    assert devices("hall motion", "front door", "help button", "kitchen/kettle plug") == []

    def output(value: object) -> list[tuple[str, str, bool]]:
        info = {"version": "2.1.1", "config": {"advanced": {"log_level": "info", "output": value}}}
        return [(f.key, f.kind, f.ok) for f in z.read("zigbee2mqtt/bridge/info", json.dumps(info).encode(), True)]

    assert output("attribute") == [("output", "zigbee_setup", False)]
    assert output("attribute_and_json") == output("json") == [("output", "zigbee_setup", True)]
    assert output(None) == [] and z.read("zigbee2mqtt/bridge/info", b"[]", True) == []


def test_the_bridge_offline_notice_says_which_help_button_still_works() -> None:
    def offline(sensors: str) -> str:
        config = parse_config(config_text(1883).replace(SENSORS, sensors))
        fault = Zigbee(ZigbeeConfig(), config.sensors).read("zigbee2mqtt/bridge/state", b"offline", True)[0]
        assert isinstance(fault, Fault)
        return fault.text

    wired = SENSORS + "  - {name: red_button, kind: button, pin: 5}\n"
    assert "The help button wired to the Pi still works." in offline(wired)
    assert "Nor can the Zigbee help button call for help." in offline(SENSORS)  # its only help button: Zigbee
    assert "help button" not in offline("sensors:\n  - {name: hall_pir, kind: motion, zigbee: hall motion}\n")


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xff\xfe", b"[1,2]", b"null", b'{"occupancy":"yes"}', b"[" * 5000, b'{"battery":"full"}', b"x" * 20000],
)
def test_junk_says_nothing_and_breaks_nothing(payload: bytes) -> None:
    z = zigbee()
    assert z.read("zigbee2mqtt/hall motion", payload, False) == []
    assert z.read("zigbee2mqtt/bridge/state", payload, False) == []
    assert z.read("zigbee2mqtt/some other device", AQARA_MOTION, False) == []


def test_zigbee_sensors_feed_the_agent_like_pins_and_a_dead_bridge_is_a_notice_not_quiet(
    tmp_path: Path, broker: Mosquitto, recorder
) -> None:
    outside = Recorder(broker.port, ["zigbee2mqtt/bridge/request/#"])  # only to publish as zigbee2mqtt would
    # Retained before the agent starts: how things stood, not something that just happened.
    outside.client.publish("zigbee2mqtt/hall motion", AQARA_MOTION, qos=1, retain=True).wait_for_publish(5)
    h = Home(tmp_path, broker.port, clock=ManualClock(T0))
    h.config = parse_config(config_text(broker.port))
    h.agent = type(h.agent)(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    rec = recorder([h.topics.alert, h.topics.notice])
    h.start(threaded=False)
    try:
        h.agent.pump()

        def send(topic: str, payload: bytes, until) -> None:
            outside.client.publish(topic, payload, qos=1).wait_for_publish(5)
            h.pump_until(until, f"the agent to take {topic}")

        def ended() -> bool:
            h.agent.pump()
            return h.agent.logic["hall_pir"].value == 0

        def stored() -> list[tuple[str, int]]:
            return [(e.sensor, e.value) for e in h.stored()]

        assert stored() == []  # the retained occupancy was not taken for movement
        # The retained "occupied" set the PIR's state; now it goes quiet, and its episode ends 30 s later.
        send("zigbee2mqtt/hall motion", b'{"occupancy":false}', lambda: (h.clock.advance(31), ended())[1])
        send("zigbee2mqtt/hall motion", b'{"occupancy":true}', lambda: ("hall_pir", 1) in stored())
        send("zigbee2mqtt/front door", AQARA_DOOR_OPEN, lambda: ("front_door", 1) in stored())
        send("zigbee2mqtt/help button", AQARA_BUTTON_DOUBLE, lambda: rec.on(h.topics.alert))
        assert rec.on(h.topics.alert)[0]["facts"]["gesture"] == "double press"
        # Pressed and let go, as a wired button: a sign of life, stored (before, a Zigbee press was not).
        assert stored()[-2:] == [("help_button", 1), ("help_button", 0)]
        send("zigbee2mqtt/bridge/state", b'{"state":"offline"}', lambda: h.agent.kit.bridge_down)
        h.clock.advance(OFFLINE_GRACE_S)  # told once it has lasted: zigbee2mqtt restarting is no news
        h.pump_until(lambda: rec.on(h.topics.notice), "the keepers' notice")
        notice = rec.on(h.topics.notice)[0]
        assert notice["kind"] == "bridge_offline" and "inactivity alert comes only after the longest" in notice["text"]
        send("zigbee2mqtt/bridge/state", b'{"state":"offline"}', lambda: True)  # again: not told twice
        send("zigbee2mqtt/hall motion", b"\xff junk", lambda: True)
        send("zigbee2mqtt/bridge/state", b"online", lambda: len(rec.on(h.topics.notice)) == 2)
        assert [n["kind"] for n in rec.on(h.topics.notice)] == ["bridge_offline", "bridge_offline_ok"]
    finally:
        outside.client.publish("zigbee2mqtt/hall motion", b"", qos=1, retain=True).wait_for_publish(5)
        outside.close()
        h.stop()


def test_a_sensor_needs_a_pin_or_a_zigbee_name_not_both() -> None:
    from sentinel.errors import ConfigError

    text = config_text(1883).replace("zigbee: hall motion,", "zigbee: hall motion, pin: 17,")
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "agent.yaml")
    assert any("give a pin (wired to the Pi) or zigbee" in issue for issue in refused.value.issues)
    assert json.dumps(parse_config(config_text(1883)).zigbee.base_topic) == '"zigbee2mqtt"'


def test_a_plug_idling_near_power_on_does_not_switch_at_every_report() -> None:
    z = zigbee()  # power_on: 5 W; off again only below 2.5 W

    def level(watts: float) -> bool:
        (reading,) = z.read("zigbee2mqtt/kitchen/kettle plug", json.dumps({"power": watts}).encode(), False)
        assert isinstance(reading, Level)
        return reading.level

    assert [level(w) for w in (4.8, 5.3, 4.8, 5.3, 3.0, 2.6)] == [False, True, True, True, True, True]
    assert [level(w) for w in (2.4, 4.9, 5.0, 5.1)] == [False, False, False, True]
    # power_on 0 (any draw is use): off again at 0 W, not on for ever.
    z = Zigbee(ZigbeeConfig(power_on=0), parse_config(config_text(1883)).sensors)
    assert [level(w) for w in (0, 3, 0, 0, 0.5)] == [False, True, False, False, True]


def test_an_ikea_remotes_hold_calls_for_help_and_an_unknown_gesture_is_logged_once(caplog) -> None:
    z = zigbee()

    def press(action: str) -> list[object]:
        body = json.dumps({"action": action, "battery": 87, "linkquality": 78}).encode()
        return [r for r in z.read("zigbee2mqtt/help button", body, False) if not isinstance(r, Fault)]

    long = Press("help_button", Gesture("help", "long press"))
    short = Press("help_button", Gesture("ok", "short press"))
    # E1743: I held, let go; O held, let go; I and O pressed (E1812 says on, brightness_move_up, brightness_stop).
    ikea = ["brightness_move_up", "brightness_stop", "brightness_move_down", "brightness_stop", "on", "off"]
    assert [press(a) for a in ikea] == [[long], [], [long], [], [short], []]  # "off": the E1812's double press
    with caplog.at_level(logging.WARNING, logger="sentinel.agent.zigbee"):
        assert press("arrow_left_click") == press("arrow_left_click") == press("") == []
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2  # "off" (above) and this one, each once
    assert "the lounge help button (help_button) sent the action 'off'" in warned[0]
    assert "the lounge help button (help_button) sent the action 'arrow_left_click'" in warned[1]


HELP_GESTURES = [
    ("quadruple", "quadruple press"),  # Aqara WXKG01LM, WXKG13LM: pressed four times or more in alarm
    ("quintuple", "quintuple press"),
    ("many", "many presses"),
    ("toggle_hold", "long press"),  # IKEA E1524/E1810 five-button remote (tradfriCommandsLevelCtrl)
    ("brightness_up_hold", "long press"),
    ("brightness_down_hold", "long press"),
    ("arrow_left_hold", "long press"),
    ("1_long_press", "long press"),  # IKEA SOMRIG E2213 (ikeaDotsClick): either of its two buttons
    ("2_double_press", "double press"),
    ("dots_1_long_press", "long press"),  # SYMFONISK gen 2
    ("3_double", "double press"),  # Tuya TS0044, four buttons: 1_single ... 4_hold
    ("4_hold", "long press"),
]


@pytest.mark.parametrize(("action", "gesture"), HELP_GESTURES)
def test_the_gestures_common_buttons_send_for_help_call_for_help(action: str, gesture: str) -> None:
    body = json.dumps({"action": action, "linkquality": 87}).encode()
    assert zigbee().read("zigbee2mqtt/help button", body, False) == [Press("help_button", Gesture("help", gesture))]


def test_a_somrig_press_is_ok_once_and_its_other_steps_say_nothing(caplog) -> None:
    z = zigbee()
    with caplog.at_level(logging.WARNING, logger="sentinel.agent.zigbee"):
        # A short press: initial_press, then short_release; a hold: initial_press, long_press, long_release.
        steps = ["1_initial_press", "1_short_release", "2_initial_press", "2_long_press", "2_long_release"]
        said = [z.read("zigbee2mqtt/help button", json.dumps({"action": a}).encode(), False) for a in steps]
        releases = ["brightness_up_release", "arrow_right_release"]
        assert [z.read("zigbee2mqtt/help button", json.dumps({"action": a}).encode(), False) for a in releases] == [
            [],
            [],
        ]
    ok, long = Gesture("ok", "short press"), Gesture("help", "long press")
    assert said == [[], [Press("help_button", ok)], [], [Press("help_button", long)], []]
    assert caplog.records == []  # nothing here is a gesture sentinel does not know


def test_made_up_actions_fill_neither_the_memory_nor_the_log_and_a_press_still_counts(caplog) -> None:
    z = zigbee()
    long = Press("help_button", Gesture("help", "long press"))
    with caplog.at_level(logging.WARNING, logger="sentinel.agent.zigbee"):
        for i in range(5000):  # a broken converter, or a hostile publisher, inventing a new action each time
            z.read("zigbee2mqtt/help button", json.dumps({"action": f"made_up_{i}" * 50}).encode(), False)
        assert z.read("zigbee2mqtt/help button", b'{"action": "hold"}', False) == [long]
    assert len(z.unknown) == 20 and len(caplog.records) == 20  # told once each, for so many: a button has a handful
    assert all(len(r.getMessage()) < 300 for r in caplog.records)


def _bridge_offline(tmp_path: Path, port: int, outside: Recorder) -> Home:
    """Mary's home with a wired PIR and door and a Zigbee PIR, started, and its Zigbee bridge offline."""
    h = Home(tmp_path, port, clock=ManualClock(T0))
    h.config = parse_config(
        "home: {id: zbridge, name: Mary}\ngpio: {pin_factory: mock}\n"
        f"mqtt: {{host: 127.0.0.1, port: {port}}}\n"
        'detection:\n  door_open_at_night: {enabled: true, after: 10m, start: "08:00", end: "10:00"}\n'
        "sensors:\n  - {name: hall_pir, kind: motion, pin: 17, room: hall}\n"
        "  - {name: front_door, kind: door, pin: 27, room: hall}\n"
        "  - {name: lounge_pir, kind: motion, zigbee: lounge motion, room: lounge}\n"
    )
    h.agent = type(h.agent)(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    h.start(threaded=False)
    outside.client.publish("zigbee2mqtt/bridge/state", b'{"state":"offline"}', qos=1).wait_for_publish(5)
    h.pump_until(lambda: h.agent.kit.bridge_down, "the agent to hear the bridge is offline")
    return h


def test_with_the_bridge_offline_a_wired_door_is_watched_and_quiet_past_the_ceiling_still_alerts(
    tmp_path: Path, broker: Mosquitto
) -> None:
    outside = Recorder(broker.port, ["zigbee2mqtt/bridge/request/#"])  # only to publish as zigbee2mqtt would
    h = _bridge_offline(tmp_path, broker.port, outside)
    try:

        def kinds() -> list[str]:
            return [a.kind for a in h.store.open_alerts("zbridge")]

        h.pin(27).drive_low()  # shut (the mock pin starts high: open)
        h.wait(1)
        h.pin(27).drive_high()  # opened at 09:00, and left open
        h.wait(601)
        assert kinds() == ["door_open"]  # a wired door still reports: it is watched as ever
        h.pin(27).drive_low()
        h.pin(17).drive_high()  # Mary is seen by the wired PIR at 09:10, then nothing at all
        h.wait(1)
        h.pin(17).drive_low()
        quiet_from = h.clock.now()
        for _ in range(15 * 4):
            h.wait(900)
        assert kinds() == ["door_open"]  # 15 h: the Zigbee PIR's silence says nothing, the warm-up line waits
        while len(kinds()) < 2 and h.clock.now() - quiet_from < timedelta(hours=17):
            h.wait(900)
        (quiet,) = [a for a in h.store.open_alerts("zbridge") if a.kind != "door_open"]
        assert timedelta(hours=16) <= quiet.raised_at - quiet_from <= timedelta(hours=16, minutes=15)
        assert quiet.facts["bridge_offline"] is True
        assert quiet.reason.endswith(
            "The Zigbee bridge is offline, so the Zigbee sensors cannot report and their silence says nothing;"
            " sentinel waited for the longest wait set for this home, 16 h 00 min, and alerted then."
        )
        # Ann rang: all is well. With the bridge still offline the quiet is told again only past the ceiling,
        # counted from her all clear, not a learned line after it.
        said = json.dumps({"who": "Ann", "what": "resolve", "source": "notifier", "alert_id": quiet.alert_id})
        outside.client.publish(h.topics.ack(quiet.alert_id), said, qos=1).wait_for_publish(5)
        h.pump_until(lambda: kinds() == ["door_open"], "the all clear")
        for _ in range(15 * 4):
            h.wait(900)
        assert kinds() == ["door_open"]
    finally:
        outside.close()
        h.stop()


def test_with_the_bridge_offline_the_ceiling_is_timed_on_the_clock_that_never_jumps(
    tmp_path: Path, broker: Mosquitto
) -> None:
    # NTP sets back a wall clock that ran ahead: the quiet past the ceiling is still told on time, not 3 h late.
    outside = Recorder(broker.port, ["zigbee2mqtt/bridge/request/#"])  # only to publish as zigbee2mqtt would
    h = _bridge_offline(tmp_path, broker.port, outside)
    try:
        h.pin(17).drive_high()  # Mary is seen by the wired PIR, then nothing at all
        h.wait(1)
        h.pin(17).drive_low()
        quiet_from = h.clock.monotonic()
        h.clock.jump(-3 * 3600)
        while not h.store.open_alerts("zbridge") and h.clock.monotonic() - quiet_from < 17 * 3600:
            h.wait(900)
        (quiet,) = h.store.open_alerts("zbridge")
        assert 16 * 3600 <= h.clock.monotonic() - quiet_from <= 16 * 3600 + 900
        assert quiet.facts["bridge_offline"] is True and quiet.facts["quiet_min"] == 16 * 60
    finally:
        outside.close()
        h.stop()


def test_a_fault_told_before_a_restart_is_not_told_again_and_one_that_ended_meanwhile_is_told_ended(
    tmp_path: Path, broker: Mosquitto, recorder
) -> None:
    base = "zkeep2mqtt"  # its own zigbee2mqtt: the retained states below stay out of the other tests
    text = config_text(broker.port, "zkeep") + f"zigbee: {{base_topic: {base}}}\n"
    outside = Recorder(broker.port, [f"{base}/bridge/request/#"])  # only to publish as zigbee2mqtt would
    clock = ManualClock(T0)
    states = [f"{base}/bridge/state", f"{base}/hall motion/availability", f"{base}/help button/availability"]

    def started() -> Home:
        """The agent on the same SQLite file, started afresh, as after a restart."""
        h = Home(tmp_path, broker.port, clock=clock)
        h.config = parse_config(text)
        h.agent = type(h.agent)(h.config, h.store, clock=h.clock, pin_factory=h.factory)
        h.topics = h.agent.topics
        return h

    def said(topic: str, payload: bytes) -> None:
        """As zigbee2mqtt says it: the bridge's and the devices' availability retained, a device's state not."""
        full = f"{base}/{topic}"
        outside.client.publish(full, payload, qos=1, retain=full in states).wait_for_publish(5)

    h = started()
    rec = recorder([h.topics.notice])

    def told(count: int) -> list[tuple[str, str]]:
        """The notices the keepers are told, once each (the notifier drops a notice id it has seen)."""

        def notices() -> dict[str, tuple[str, str]]:
            return {n["notice_id"]: (n["kind"], n["text"].split(" ")[1]) for n in rec.on(h.topics.notice)}

        h.pump_until(lambda: len(notices()) >= count, f"{count} notices")
        return list(notices().values())

    try:
        h.start(threaded=False)
        said("bridge/state", b'{"state":"offline"}')
        said("front door", b'{"battery":12,"contact":true}')
        said("hall motion/availability", b'{"state":"offline"}')
        assert told(1) == [("battery_low", "battery")]  # at once; an outage once it has lasted
        h.pump_until(lambda: {"bridge", "device:hall_pir"} <= h.agent.kit.down, "the agent to hear both")
        clock.advance(OFFLINE_GRACE_S)
        assert told(3)[1:] == [("bridge_offline", "Zigbee"), ("device_offline", "hall")]
        h.stop()

        clock.advance(3600)
        h = started()
        assert h.agent.kit.bridge_down  # known from the store before anything is heard
        h.start(threaded=False)  # hears the bridge and the hall sensor are still offline (retained)
        said("front door", b'{"battery":11,"contact":true}')  # and the battery still low
        said("help button/availability", b'{"state":"offline"}')  # news: heard after all the rest
        h.pump_until(lambda: "device:help_button" in h.agent.kit.down, "the agent to hear it")
        clock.advance(OFFLINE_GRACE_S)
        assert told(4)[3:] == [("device_offline", "lounge")]  # nothing told twice before it
        h.stop()

        said("bridge/state", b'{"state":"online"}')  # while the agent is down, both come back
        said("hall motion/availability", b'{"state":"online"}')
        clock.advance(3600)
        h = started()
        h.start(threaded=False)
        said("front door", b'{"battery":100,"contact":true}')  # its next report: a new battery
        assert sorted(told(7)[4:]) == [
            ("battery_low_ok", "battery"),
            ("bridge_offline_ok", "Zigbee"),
            ("device_offline_ok", "hall"),
        ]
        assert h.store.get_setting("kit_faults") == '["device:help_button"]'  # the one still told and not mended
    finally:
        for topic in states:
            outside.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        outside.close()
        h.stop()


ABSURD = "9" * 401  # a 401-digit integer: valid JSON, too large for a float


@pytest.mark.parametrize(
    "bad",
    [ABSURD, "-" + ABSURD, "1e400", "NaN", "-Infinity", "-5", "250", '"full"', "[100]", '{"percent": 90}'],
)
def test_a_bad_battery_is_ignored_and_the_rest_of_the_message_still_counts(bad: str, caplog) -> None:
    z = zigbee()
    help_press = Press("help_button", Gesture("help", "double press"))
    with caplog.at_level(logging.WARNING, logger="sentinel.agent.zigbee"):
        for _ in range(3):  # the same sensor keeps sending it: told once
            assert z.read("zigbee2mqtt/help button", f'{{"action":"double","battery":{bad}}}'.encode(), False) == [
                help_press
            ]
            body = f'{{"battery":{bad},"linkquality":{bad},"occupancy":true,"voltage":{bad}}}'.encode()
            assert z.read("zigbee2mqtt/hall motion", body, False) == [Level("hall_pir", True)]
            body = f'{{"battery":{bad},"contact":false,"power":{bad}}}'.encode()
            assert z.read("zigbee2mqtt/front door", body, False) == [Level("front_door", True)]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3, warned  # once for each sensor, not once for each message
    assert all("a battery that is not a percentage (0 to 100): ignored its battery (and will not" in w for w in warned)
    assert "the lounge help button (help_button)" in warned[0] and "the hall sensor (hall_pir)" in warned[1]
    # A battery of null (zigbee2mqtt before the device's first report) says nothing and is not an error.
    assert z.read("zigbee2mqtt/help button", b'{"action":"single","battery":null}', False) == [
        Press("help_button", Gesture("ok", "short press"))
    ]
    assert len(caplog.records) == 3


def test_a_plug_reporting_an_absurd_power_is_ignored_once_logged(caplog) -> None:
    z = zigbee()
    with caplog.at_level(logging.WARNING, logger="sentinel.agent.zigbee"):
        for watts in (ABSURD, "NaN", "1e400"):
            assert z.read("zigbee2mqtt/kitchen/kettle plug", f'{{"power":{watts}}}'.encode(), False) == []
    assert [r.getMessage() for r in caplog.records] == [
        "the kitchen sensor (kettle) sent a power that is not a number of watts: ignored its power"
        " (and will not say so again)"
    ]
    assert z.read("zigbee2mqtt/kitchen/kettle plug", b'{"power":1840}', False) == [Level("kettle", True)]


def test_a_help_press_with_an_absurd_battery_raises_the_help_alert(
    tmp_path: Path, broker: Mosquitto, recorder, caplog
) -> None:
    outside = Recorder(broker.port, ["zigbee2mqtt/bridge/request/#"])  # only to publish as zigbee2mqtt would
    h = Home(tmp_path, broker.port, clock=ManualClock(T0))
    h.config = parse_config(config_text(broker.port, "zabsurd"))
    h.agent = type(h.agent)(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    rec = recorder([h.topics.alert])
    h.start(threaded=False)
    try:
        with caplog.at_level(logging.WARNING):
            outside.client.publish("zigbee2mqtt/hall motion", f'{{"battery":{ABSURD},"occupancy":true}}', qos=1)
            h.pump_until(lambda: ("hall_pir", 1) in [(e.sensor, e.value) for e in h.stored()], "the movement")
            outside.client.publish("zigbee2mqtt/help button", f'{{"action":"double","battery":{ABSURD}}}', qos=1)
            h.pump_until(lambda: rec.on(h.topics.alert), "the help alert")
        (alert,) = rec.on(h.topics.alert)
        assert alert["kind"] == "help" and alert["facts"]["gesture"] == "double press"
        assert not [r for r in caplog.records if "dropped it" in r.getMessage()]
    finally:
        outside.close()
        h.stop()


def test_after_a_restart_zigbee2mqtt_repeating_a_door_left_open_is_not_a_sign_of_life(
    tmp_path: Path, broker: Mosquitto
) -> None:
    # zigbee2mqtt (cache_state, on by default) puts a device's whole last state into every message: an Aqara
    # door sensor's hourly battery report says again that the door is open, and so does zigbee2mqtt's start.
    base = "zcache2mqtt"
    text = config_text(broker.port, "zcache") + f"zigbee: {{base_topic: {base}}}\n"
    outside = Recorder(broker.port, [f"{base}/bridge/request/#"])
    clock = ManualClock(T0)

    def started() -> Home:
        h = Home(tmp_path, broker.port, clock=clock)
        h.config = parse_config(text)
        h.agent = type(h.agent)(h.config, h.store, clock=h.clock, pin_factory=h.factory)
        h.start(threaded=False)
        return h

    def said(h: Home, topic: str, payload: bytes, count: int) -> list[tuple[str, int]]:
        """What is stored once the agent has taken the message (``count`` events stored by then)."""
        outside.client.publish(f"{base}/{topic}", payload, qos=1).wait_for_publish(5)
        h.pump_until(lambda: len(h.stored()) >= count, f"{count} events stored")
        h.agent.pump()
        return [(e.sensor, e.value) for e in h.stored()]

    h = started()
    try:
        assert said(h, "front door", AQARA_DOOR_OPEN, 1) == [("front_door", 1)]
        said(h, "hall motion", b'{"occupancy":true}', 2)  # the agent stops while she moves
        said(h, "kitchen/kettle plug", b'{"power":1840}', 3)  # and while the kettle is on
        h.stop()
        clock.advance(3600)
        h = started()
        said(h, "front door", AQARA_DOOR_OPEN.replace(b"91", b"90"), 3)  # the hourly report: still open
        said(h, "kitchen/kettle plug", b'{"power":4}', 3)  # idling above half of power_on: still on, as before
        closed = b'{"battery":90,"contact":true}'
        assert said(h, "front door", closed, 4)[3:] == [("front_door", 0)]  # a change, stored
        # zigbee2mqtt cleared the occupancy meanwhile: the next movement is one (a motion sensor starts idle).
        said(h, "hall motion", b'{"occupancy":false}', 4)
        assert said(h, "hall motion", b'{"occupancy":true}', 5)[4:] == [("hall_pir", 1)]
    finally:
        outside.close()
        h.stop()


def test_a_misspelt_friendly_name_reaches_the_keepers_as_soon_as_the_agent_starts(
    tmp_path: Path, broker: Mosquitto, recorder
) -> None:
    base = "zname2mqtt"
    outside = Recorder(broker.port, [f"{base}/bridge/request/#"])
    devices = json.dumps([{"friendly_name": n} for n in ("hall motion", "front door", "kitchen/kettle plug")])
    # zigbee2mqtt keeps its list of devices retained: the agent reads it when it subscribes.
    outside.client.publish(f"{base}/bridge/devices", devices, qos=1, retain=True).wait_for_publish(5)
    h = Home(tmp_path, broker.port, clock=ManualClock(T0))
    h.config = parse_config(config_text(broker.port, "zname") + f"zigbee: {{base_topic: {base}}}\n")
    h.agent = type(h.agent)(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    rec = recorder([h.topics.notice])
    try:
        h.start(threaded=False)
        h.pump_until(lambda: rec.on(h.topics.notice), "the keepers' notice")
        notice = rec.on(h.topics.notice)[0]
        assert notice["kind"] == "zigbee_setup" and "no device named 'help button'" in notice["text"]
    finally:
        outside.client.publish(f"{base}/bridge/devices", b"", qos=1, retain=True).wait_for_publish(5)
        outside.close()
        h.stop()
