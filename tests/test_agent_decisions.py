"""The agent's decisions as values (no broker): commands, kit faults, and what "I'm OK" and movement mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sentinel.agent import inbox, meaning
from sentinel.agent.journal import Journal
from sentinel.agent.kit import OFFLINE_GRACE_S, Kit
from sentinel.agent.zigbee import Fault
from sentinel.config.model import HomeConfig
from sentinel.store import Store

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("verb", "body", "expected"),
    [
        ("away", {"who": "Ann"}, inbox.SetMode("away", "set to away by Ann")),
        ("pause", {}, inbox.SetMode("paused", "set to paused by someone")),
        ("resume", {"who": "Carol\u202e"}, inbox.SetMode("home", "set to home by Carol")),  # no bidi override
        ("status", {}, inbox.SayStatus()),
        ("ok", {"who": "Home Assistant"}, inbox.ResidentOk("from Home Assistant")),
        ("ok", {"who": 7}, inbox.ResidentOk("from an app")),
    ],
)
def test_a_command_becomes_a_decision(verb: str, body: dict, expected: inbox.Decision) -> None:
    assert inbox.decide(verb, body) == (expected, None)


def test_an_unknown_command_is_an_error_with_its_verb_shown_safely() -> None:
    decision, error = inbox.decide("reboot\n" + "x" * 500, {})
    assert decision is None and error is not None
    assert error.startswith("unknown command 'reboot x") and len(error) < 120


def test_a_fault_is_told_once_and_its_end_once() -> None:
    kit = Kit(HomeConfig(id="mary", name="Mary"))
    down = Fault("bridge", "bridge_offline", "The Zigbee bridge is offline.")
    assert kit.fault(down, AT) is None and kit.bridge_down  # the watch knows at once; the keepers if it lasts
    assert kit.due(AT + timedelta(seconds=OFFLINE_GRACE_S - 1)) == []
    (first,) = kit.due(AT + timedelta(seconds=OFFLINE_GRACE_S))
    assert first.kind == "bridge_offline" and kit.bridge_down
    assert first.notice_id == "mary-bridge_offline-bridge-20260302T093000"  # since when: the same after a restart
    assert kit.fault(down, AT) is None and kit.due(AT + timedelta(hours=1)) == []  # told already
    back = kit.fault(Fault("bridge", "bridge_offline", "The Zigbee bridge is back.", ok=True), AT)
    assert back is not None and back.kind == "bridge_offline_ok" and not kit.bridge_down
    assert kit.fault(Fault("bridge", "bridge_offline", "back", ok=True), AT) is None  # nothing was wrong
    kit.fault(Fault("kitchen door/../#", "device_offline", "offline"), AT)
    (odd,) = kit.due(AT + timedelta(hours=1))
    assert "#" not in odd.notice_id and "/" not in odd.notice_id


def test_zigbee2mqtt_restarting_is_not_news_for_the_keepers() -> None:
    # An update restarts zigbee2mqtt: offline, and back 30 s later. Before, the keepers got two notices each time.
    kit = Kit(HomeConfig(id="mary", name="Mary"))
    assert kit.fault(Fault("bridge", "bridge_offline", "offline"), AT) is None and kit.bridge_down
    back = kit.fault(Fault("bridge", "bridge_offline", "back", ok=True), AT + timedelta(seconds=30))
    assert back is None and not kit.bridge_down and kit.due(AT + timedelta(hours=1)) == []
    low = kit.fault(Fault("battery:hall_pir", "battery_low", "low"), AT)  # a battery is told at once
    assert low is not None and low.kind == "battery_low"


def test_the_faults_told_are_kept_in_the_store_for_the_kit_as_it_is_set_up_after_a_restart(tmp_path: Path) -> None:
    def journal() -> Journal:
        made = Journal(Store(tmp_path / "agent.db"), "mary")
        made.load()
        return made

    first = journal()
    kit = Kit(HomeConfig(id="mary", name="Mary"), first, ["hall_pir", "old_pir"])
    for key in ("bridge", "device:hall_pir", "battery:old_pir", "battery:hall_pir"):
        assert kit.fault(Fault(key, "battery_low", "low"), AT) is not None
        kit.keep_faults()
    assert kit.fault(Fault("battery:hall_pir", "battery_low", "fine again", ok=True), AT) is not None
    kit.keep_faults()
    first.store.close()
    again = journal()
    kept = Kit(HomeConfig(id="mary", name="Mary"), again, ["hall_pir"])  # old_pir was taken out meanwhile
    assert kept.faults == {"bridge", "device:hall_pir"} and kept.bridge_down
    assert kept.fault(Fault("bridge", "bridge_offline", "offline"), AT) is None  # told before the restart
    assert Kit(HomeConfig(id="mary", name="Mary"), again, []).faults == set()  # no Zigbee now: nothing could end
    again.store.set_setting("kit_faults", "{not json")
    assert Kit(HomeConfig(id="mary", name="Mary"), journal(), ["hall_pir"]).faults == set()  # unreadable: as new


# What "I'm OK" and movement mean for the alerts

PLACE = "the kitchen"
MOVED = "Movement again: the kitchen at 09:30."
ASKED = "Movement again (the kitchen) while asking: all seems well."


def test_im_ok_answers_a_check_else_closes_every_open_alert_else_is_a_check_in() -> None:
    assert meaning.of_ok("Mary", "short press", True, ("mary-help-1",)) == meaning.CheckAnswered(
        "Mary pressed the button when asked: all is well."
    )
    assert meaning.of_ok("Mary", "from an app", False, ("mary-help-1", "mary-inactivity-2")) == meaning.Close(
        ("mary-help-1", "mary-inactivity-2"), "resident", "cancel", "Mary pressed 'I'm OK' (from an app)."
    )
    assert meaning.of_ok("Mary", "short press", False, ()) == meaning.CheckedIn()


@pytest.mark.parametrize(
    ("ended", "button", "resolve", "going", "expected"),
    [
        ("checking", False, True, None, meaning.CheckAnswered(ASKED)),
        ("checking", True, True, None, meaning.CheckAnswered("Mary pressed the button when asked.")),
        ("alerted", False, True, None, meaning.Close(("a-1",), "sensors", "resolve", MOVED)),
        # Someone is going: the movement may be theirs, so only they (or the button) can say all is well.
        ("alerted", False, True, "ann", meaning.TellGoing("a-1", "ann", MOVED)),
        ("alerted", False, False, None, None),  # resolve_on_activity: false, the circle closes it
        # Her press: what it means ("I'm OK" or a call for help) is known only once it is over (``of_ok``, ``of_help``).
        ("alerted", True, True, None, None),
        ("alerted", True, True, "ann", None),
        ("watching", False, True, None, None),  # nothing was pending
    ],
)
def test_movement_answers_a_check_or_resolves_an_alert_unless_someone_is_going(
    ended: str, button: bool, resolve: bool, going: str | None, expected: meaning.Meaning
) -> None:
    got = meaning.of_movement(
        "Mary", ended, PLACE, AT, by_button=button, open_alert="a-1", resolve_on_activity=resolve, going=going
    )
    assert got == expected


def test_movement_without_an_open_alert_closes_nothing() -> None:
    got = meaning.of_movement(
        "Mary", "alerted", "the hall", AT, by_button=False, open_alert=None, resolve_on_activity=True, going=None
    )
    assert got is None


def test_a_call_for_help_takes_over_a_quiet_alert_unless_someone_is_going_to_it() -> None:
    took = meaning.Close(("a-1",), "resident", "help", "Mary pressed the help button at 09:30: see the call for help.")
    assert meaning.of_help("Mary", AT, "a-1", None) == took
    assert meaning.of_help("Mary", AT, "a-1", "ann") is None  # it stays open beside the call, Ann still going
    assert meaning.of_help("Mary", AT, None, None) is None


def test_a_long_home_id_and_sensor_name_still_make_a_notice_id_the_notifier_takes() -> None:
    from sentinel.core.protocol import ALERT_ID

    kit = Kit(HomeConfig(id="h" * 40, name="Mary"))
    key = "name:" + "a_very_long_sensor_name_for_the_back_bedroom_window_" * 2
    told = kit.fault(Fault(key, "zigbee_setup", "unknown"), AT)
    back = kit.fault(Fault(key, "zigbee_setup", "known again", ok=True), AT)
    assert told is not None and back is not None
    assert ALERT_ID.match(told.notice_id) and ALERT_ID.match(back.notice_id)  # before: over 100, dropped
