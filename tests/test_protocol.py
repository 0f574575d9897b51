"""docs/mqtt.md against sentinel/core/protocol.py: every field, kind, state and verb a subscriber meets is described."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sentinel.core import protocol
from sentinel.core.alerts import help_alert

DOC = (Path(__file__).resolve().parent.parent / "docs" / "mqtt.md").read_text()
TABLE_ROWS = {"heartbeat": "/heartbeat`", "sensor": "/sensor/<name>`", "reply": "/reply`"}


def section(name: str) -> str:
    """The text under ``## name`` (up to the next heading of that level), or the topic table's row for it."""
    if name in TABLE_ROWS:
        return next(line for line in DOC.splitlines() if TABLE_ROWS[name] in line)
    found = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    assert found, f"docs/mqtt.md has no section '## {name}'"
    return found.group(1)


@pytest.mark.parametrize("name", sorted(protocol.DOCUMENTED))
def test_every_field_of_every_message_is_described(name: str) -> None:
    text = section(name)
    missing = [f for f in protocol.DOCUMENTED[name] if f'"{f}"' not in text and f"`{f}`" not in text]
    assert not missing, f"docs/mqtt.md, {name}: {missing} not described"


def test_every_alert_kind_is_in_the_table_with_its_severity() -> None:
    text = section("alert")
    for kind, severity in protocol.ALERT_KINDS.items():
        assert re.search(rf"\| `{kind}` \| `{severity}` \|", text), f"alert kind {kind} ({severity})"


def test_every_notice_kind_state_and_command_is_named() -> None:
    assert all(f"`{k}`" in section("notices") for k in protocol.NOTICE_KINDS)
    assert all(f"`{s}`" in section("status") for s in protocol.STATES)
    assert all(f"`{v}`" in section("commands") for v in protocol.COMMANDS)
    acks = section("alert acknowledgements")
    said = [f'"who": "{who}", "what": "{what}"' for who, words in protocol.ACK_WORDS.items() for what in words]
    assert all(words in acks for words in said)
    assert all(f'`"what": "{what}"`' in acks for what in protocol.NOTIFIER_ACK_WORDS)


def test_an_alert_has_exactly_the_documented_fields() -> None:
    alert = help_alert("mary", "Mary", "long press", "help_button", "hall", datetime(2026, 1, 1, tzinfo=UTC), "ab12")
    assert tuple(alert.payload()) == protocol.ALERT_FIELDS
    assert protocol.ALERT_ID.match(alert.alert_id)


def test_optional_fields_are_left_out_only_when_empty() -> None:
    claim = protocol.AckMessage("Ann", "claim", "2026-01-01T10:00:00+00:00", "a1", source="notifier")
    assert claim.body() == {
        "who": "Ann",
        "what": "claim",
        "at": "2026-01-01T10:00:00+00:00",
        "alert_id": "a1",
        "source": "notifier",
    }
    status = protocol.Status("ok", None, "", "home", None, None, [], "mary", "Mary", "1", "ok")
    assert status.body()["last_checkin"] is None  # a status always has every field, null when not known
    assert not {"up", "out"} & set(status.body())  # but the resident's day only when they agreed to share it
    day = {"up": "2026-01-01T07:40:00+00:00", "out": [["2026-01-01T10:00:00+00:00", None]]}
    assert protocol.Status("ok", None, "", "home", None, None, [], "mary", "Mary", "1", "ok", **day).body() == {
        **status.body(),
        **day,
    }
    assert protocol.Reply("ok").body() == {"status": "ok"}
