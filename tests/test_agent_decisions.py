"""The agent's decisions as values: what a command asks for, and which kit faults the keepers hear of (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sentinel.agent import inbox
from sentinel.agent.kit import Kit
from sentinel.agent.zigbee import Fault
from sentinel.config.model import HomeConfig

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
    first = kit.fault(down, AT)
    assert first is not None and first.kind == "bridge_offline" and kit.bridge_down
    assert first.notice_id == "mary-bridge_offline-bridge-20260302T093000"
    assert kit.fault(down, AT) is None  # told already
    back = kit.fault(Fault("bridge", "bridge_offline", "The Zigbee bridge is back.", ok=True), AT)
    assert back is not None and back.kind == "bridge_offline_ok" and not kit.bridge_down
    assert kit.fault(Fault("bridge", "bridge_offline", "back", ok=True), AT) is None  # nothing was wrong
    odd = kit.fault(Fault("kitchen door/../#", "device_offline", "offline"), AT)
    assert odd is not None and "#" not in odd.notice_id and "/" not in odd.notice_id
