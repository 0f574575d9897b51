"""Hostile or broken input against the notifier: each message is parked, mended or refused; the next alert rings.

Real Mosquitto, real SQLite, the ntfy stand-in; the notifier is pumped by hand on an injected clock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from circle_driver import SECRET, TOPICS, TUESDAY_10, Circle, alert
from conftest import Mosquitto, wait_for
from ntfy_fake import FakeNtfy
from sentinel.cli import main
from sentinel.notifier.intake import MAX_PACKET, MAX_PAYLOAD
from sentinel.notifier.ntfy import MESSAGE_LIMIT
from sentinel.notifier.tokens import TOKEN_LIFETIME_S, sign

JOHN = "  - id: john\n    name: John\n    tiers: [[ann]]\n"
UNREADABLE = "sentinel could not read a message from Mary's monitor"
NESTED = '{"a":' * 1000 + "1" + "}" * 1000  # json.loads raises RecursionError


def publish_for_john(c: Circle, alert_id: str) -> None:
    """An alert from a second home, published as its agent would, and stored."""
    body = {**alert(alert_id), "home": "john"}
    c.agent.publish(f"{c.base}/john/alert", json.dumps(body), qos=1).wait_for_publish(5)
    wait_for(lambda: c.store.incident(alert_id) is not None, 5, "John's alert to be taken")


def test_a_lone_surrogate_is_mended_and_a_later_alert_for_another_home_still_rings(circle) -> None:
    c = circle(home_extra=JOHN)
    # "\ud800" is valid JSON but no text: SQLite cannot store it. Before, it left a transaction open
    # and every later alert, for any home, failed to be recorded.
    raw = json.dumps(alert("mary-help-1", "help", "critical")).replace("No sign", "\\ud800 No sign")
    assert "\\ud800" in raw
    c.publish("alert", raw)
    publish_for_john(c, "john-inactivity-1")
    c.pump()
    mary = c.store.incident("mary-help-1")
    assert mary is not None and mary.reason.startswith("\ufffd No sign")  # taken, the character replaced
    notes = [detail for _, what, _, detail in c.store.steps("mary-help-1") if what == "note"]
    assert notes == ["unreadable characters were replaced by \ufffd"]
    ids = [json.loads(n["actions"][0]["body"])["alert_id"] for n in c.alerts_to("ann")]
    assert sorted(ids) == ["john-inactivity-1", "mary-help-1"]
    assert c.store.dead_letters() == []


def test_a_message_that_cannot_be_read_is_parked_and_the_keepers_told_once(circle, tmp_path: Path, capsys) -> None:
    c = circle(home_extra=JOHN)
    too_large = json.dumps({**alert("mary-big-1"), "facts": {"pad": "x" * MAX_PAYLOAD}})
    c.publish("alert", NESTED)
    c.publish("alert", NESTED)  # the same again, as a broker re-delivers it
    c.publish("alert", too_large)
    c.publish("alert/mary-help-1/ack", b"\xff\xfe")
    wait_for(lambda: sum(d.count for d in c.store.dead_letters()) == 4, 5, "four messages to be parked")
    publish_for_john(c, "john-inactivity-1")  # and the notifier still hears everything else
    c.pump()
    letters = {d.error.split(" (")[0].split(":")[0]: d for d in c.store.dead_letters()}
    assert set(letters) == {"nested too deeply", "too large", "not UTF-8"}
    assert letters["nested too deeply"].count == 2 and letters["too large"].count == 1
    big = letters["too large"]
    assert big.size == len(too_large) and len(big.payload) <= 1000  # kept bounded
    assert all(d.home == "mary" for d in letters.values())
    told = [n for n in c.infos_to("carol") if n["title"] == UNREADABLE]  # Carol looks after Mary's kit
    assert len(told) == 1  # once an hour at most, not once per message nor per delivery of it
    assert "It may have been an alert: check on Mary." in told[0]["message"]
    assert c.store.incident("mary-big-1") is None  # too large: never parsed
    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    assert main(["incidents", "-c", str(config)]) == 0
    listed = capsys.readouterr().out
    assert "3 messages could not be read (parked, not retried):" in listed and "nested too deeply" in listed
    assert [json.loads(n["actions"][0]["body"])["alert_id"] for n in c.alerts_to("ann")] == ["john-inactivity-1"]


def test_a_parked_message_is_not_handed_over_again_after_a_restart(away: Away) -> None:
    start, first, agent = away.start, away.first, away.agent
    # While no notifier runs, the poison and an alert wait in its session.
    agent.publish(f"{first.base}/mary/alert", NESTED, qos=1).wait_for_publish(5)
    agent.publish(f"{first.base}/mary/alert", json.dumps(alert()), qos=1).wait_for_publish(5)
    second = start(like=first)
    wait_for(lambda: second.store.incident("mary-inactivity-1") is not None, 10, "the waiting alert")
    assert [d.count for d in second.store.dead_letters()] == [1]
    second.pump()
    assert len(second.alerts_to("ann")) == 1
    second.close()
    third = start(like=first)
    try:
        # Anything still waiting would come before this one: the session keeps the order.
        agent.publish(f"{first.base}/mary/alert", json.dumps(alert("mary-inactivity-2")), qos=1).wait_for_publish(5)
        wait_for(lambda: third.store.incident("mary-inactivity-2") is not None, 10, "the new alert")
        assert [d.count for d in third.store.dead_letters()] == [1]  # parked once, never handed over again
        third.pump()
        assert len([n for n in third.infos_to("carol") if n["title"] == UNREADABLE]) == 1
    finally:
        third.close()


@dataclass(frozen=True)
class Away:
    """A notifier that ran once and stopped (its persistent session kept by the broker), how to start it again on
    the same database and session, and an agent's client to publish while it is away."""

    start: Callable[..., Circle]
    first: Circle
    agent: mqtt.Client


@pytest.fixture
def away(tmp_path: Path, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Away]:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    ntfy, client_id = FakeNtfy(), f"notifier-{uuid.uuid4().hex[:8]}"

    def start(like: Circle | None = None) -> Circle:
        c = Circle(tmp_path / "n", broker.port, like=like, ntfy=ntfy, edit=lambda t: fixed(t, client_id))
        c._owns_ntfy = False
        return c

    first = start()
    first.close()
    agent = mqtt.Client(CallbackAPIVersion.VERSION2)
    agent.connect("127.0.0.1", broker.port)
    agent.loop_start()
    try:
        yield Away(start, first, agent)
    finally:
        agent.disconnect()
        agent.loop_stop()
        ntfy.close()


def fixed(text: str, client_id: str) -> str:
    """The circle's config with a given MQTT client id."""
    start = text.index("client_id: ") + len("client_id: ")
    end = text.index(",", start)
    return text[:start] + client_id + text[end:]


def test_a_raised_at_that_is_no_time_is_replaced_by_the_time_it_arrived(circle) -> None:
    c = circle()
    c.publish("alert", {**alert("mary-inactivity-1"), "raised_at": "yesterday"})
    c.publish("alert", {**alert("mary-inactivity-2"), "raised_at": "2026-03-03T09:59:00"})  # no UTC offset
    c.pump()
    for alert_id in ("mary-inactivity-1", "mary-inactivity-2"):
        incident = c.store.incident(alert_id)
        assert incident is not None and incident.raised_at == TUESDAY_10  # when it arrived
        notes = [detail for _, what, _, detail in c.store.steps(alert_id) if what == "note"]
        assert len(notes) == 1 and "between 2000 and 2099; the time it arrived is used" in notes[0]
    assert len(c.alerts_to("ann")) == 2


def test_a_raised_at_no_time_zone_can_show_is_replaced_and_the_daily_note_still_goes(circle) -> None:
    # Year 9999 with an offset west of UTC cannot be shown east of it: the daily note stopped for good, every home's.
    ann_asks = lambda t: t.replace("    name: Ann\n", '    name: Ann\n    daily: "19:00"\n', 1)  # noqa: E731
    c = circle(home_extra="    daily_note: true\n", edit=ann_asks, top="watch_silence: false\n")
    c.publish("alert", {**alert("mary-inactivity-9"), "raised_at": "9999-12-31T23:59:59-14:00"})
    c.pump()
    incident = c.store.incident("mary-inactivity-9")
    assert incident is not None and incident.raised_at == TUESDAY_10  # when it arrived
    c.clock.advance(9 * 3600)
    c.pump()
    (note,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"]
    assert "10:00" in note["message"]


def test_a_raised_at_kept_before_it_was_checked_does_not_stop_the_daily_note(circle) -> None:
    ann_asks = lambda t: t.replace("    name: Ann\n", '    name: Ann\n    daily: "19:00"\n', 1)  # noqa: E731
    c = circle(home_extra="    daily_note: true\n", edit=ann_asks, top="watch_silence: false\n")
    c.publish("alert", alert())
    c.pump()
    with sqlite3.connect(c.store.path) as db:
        db.execute("UPDATE incidents SET raised_at = '9999-12-31T23:59:59-14:00'")
    c.clock.advance(9 * 3600)
    c.pump()
    (note,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"]
    assert "Mary" in note["message"]


def test_a_stored_time_that_cannot_be_read_does_not_stop_the_notifier(circle, tmp_path: Path, capsys) -> None:
    c = circle()
    c.publish("alert", alert())
    # A row written before times were checked at the door (the notifier then crashed at every start).
    with sqlite3.connect(c.store.path) as db:
        db.execute("UPDATE incidents SET raised_at = 'yesterday'")
    c.pump()
    assert len(c.alerts_to("ann")) == 1
    incident = c.store.incident("mary-inactivity-1")
    assert incident is not None and incident.raised_at == TUESDAY_10  # read as the time it was received
    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    assert main(["incidents", "-c", str(config)]) == 0
    assert "mary-inactivity-1" in capsys.readouterr().out


def test_a_day_in_a_status_that_cannot_be_believed_is_left_out_of_the_daily_note(circle, caplog) -> None:
    ann_asks = lambda t: t.replace("    name: Ann\n", '    name: Ann\n    daily: "19:00"\n', 1)  # noqa: E731
    c = circle(home_extra="    daily_note: true\n", edit=ann_asks, top="watch_silence: false\n")
    c.pump()
    seen = c.notifier.rhythm.checkins.latest
    today = "2026-03-03T{}:00" + TUESDAY_10.isoformat()[19:]  # Tuesday, at the notifier's UTC offset
    hostile = [
        {"up": 740, "out": "out all day"},
        {"up": "0001-01-01T00:00:00+14:00", "out": [[today.format("10:00")]]},  # overflows as UTC; not a pair
        {"up": "2026-03-03T07:40:00", "out": [[today.format("10:00"), None]] * 100},  # no offset; a flood
        {"up": "x" * 1000, "out": [[today.format("11:30"), today.format("10:00")]]},  # back before it left
        {"out": [[{"$gt": ""}, None]], "up": [today.format("07:40")]},
        # No monitor stamps these; shown in a zone east or west of UTC they would overflow.
        {"up": "9999-12-31T23:59:59+00:00", "out": [[today.format("10:00"), "9999-12-31T23:59:59+00:00"]]},
        {"up": "0001-01-01T00:00:00+00:00", "out": [[today.format("10:00"), None]]},  # still out: never told
    ]
    for body in hostile:
        c.publish("status", {"state": "ok", "since": None, **body})
        wait_for(lambda b=body: (c.pump(1), "mary" in seen and seen["mary"].at == c.clock.now())[1], 5, "the status")
        c.clock.advance(1)
    assert seen["mary"].state == "ok" and seen["mary"].up is None and seen["mary"].out == ()
    ignored = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ignored the")]
    assert len(ignored) == 2 * len(hostile)
    # Times that can be read but not believed for today (ahead of the note, from last week) are not told either.
    days = {"up": "2099-03-03T07:40:00+00:00", "out": [["2026-02-24T10:00:00+00:00", "2026-02-24T11:00:00+00:00"]]}
    c.publish("status", {"state": "ok", "since": None, **days})
    c.clock.advance(9 * 3600 - len(hostile))
    c.pump()
    (note,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"]
    assert note["message"] == "All well at Mary's today: no alerts today."


def test_a_status_time_no_monitor_could_stamp_is_not_believed_and_stops_no_daily_note(circle) -> None:
    ann_asks = lambda t: t.replace("    name: Ann\n", '    name: Ann\n    daily: "19:00"\n', 1)  # noqa: E731
    c = circle(home_extra="    daily_note: true\n", edit=ann_asks, top="watch_silence: false\n")
    seen = c.notifier.rhythm.checkins.latest
    # Shown in a time zone east of UTC, a time at the end of year 9999 overflows.
    far = "9999-12-31T23:59:59+00:00"
    c.publish("status", {"state": "ok", "since": far, "last_activity": far, "last_checkin": far})
    wait_for(lambda: (c.pump(1), "mary" in seen)[1], 5, "the status")
    assert (seen["mary"].since, seen["mary"].last_activity, seen["mary"].last_checkin) == (None, None, None)
    c.clock.advance(9 * 3600)
    c.pump()
    (note,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"]
    assert note["message"] == "All well at Mary's today: no alerts today."


def test_texts_that_reach_a_phone_are_cut_where_they_enter(circle) -> None:
    c = circle()
    long = {**alert(), "reason": "Quiet. " * 2000, "kind": "k" * 500}  # 14 kB: taken, but cut
    c.publish("alert", long)
    c.pump()
    incident = c.store.incident("mary-inactivity-1")
    assert incident is not None
    assert len(incident.reason.encode()) <= MESSAGE_LIMIT and incident.reason.endswith("…")
    assert len(incident.kind) <= 64
    note = c.alerts_to("ann")[0]
    assert len(note["message"].encode()) <= MESSAGE_LIMIT and len(note["title"].encode()) <= 200


def test_a_genuine_token_that_expires_years_ahead_is_refused_and_recorded(circle, caplog) -> None:
    c = circle()
    c.publish("alert", alert())
    c.pump()
    body = json.loads(next(a for a in c.alerts_to("ann")[0]["actions"] if a["label"] == "I'm going")["body"])
    assert body["expires"] == int(TUESDAY_10.timestamp()) + TOKEN_LIFETIME_S  # as every button is signed
    # A leaked key, or a bug, could sign a button that works for years: the notifier never makes one.
    expires = int(TUESDAY_10.timestamp()) + 5 * 365 * 86400
    token = sign(SECRET.encode(), "mary", body["alert_id"], "ann", "claim", expires)
    forever = {**body, "expires": expires, "token": token}
    c.handled(c.ntfy_server.store("sentinel-acks-test-0001", json.dumps(forever), {})["id"])
    assert c.store.incident("mary-inactivity-1").claimed_by is None  # type: ignore[union-attr]
    refused = [detail for _, what, _, detail in c.store.steps("mary-inactivity-1") if what == "refused"]
    assert refused == ["claim: expiry too far ahead"]
    assert any("expiry too far ahead" in r.getMessage() for r in caplog.records)
    c.press("ann", "I'm going")  # the real button still works
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]


def test_a_token_beyond_ascii_is_refused_as_forged_and_the_press_is_not_read_again(circle) -> None:
    c = circle()
    c.publish("alert", alert())
    c.pump()
    body = json.loads(next(a for a in c.alerts_to("ann")[0]["actions"] if a["label"] == "I'm going")["body"])
    c.handled(c.ntfy_server.store("sentinel-acks-test-0001", json.dumps({**body, "token": "é"}), {})["id"])
    refused = [detail for _, what, _, detail in c.store.steps("mary-inactivity-1") if what == "refused"]
    assert refused == ["claim: forged token"]  # before: a TypeError, nothing recorded, read again at each start
    c.press("ann", "I'm going")  # the real button still works
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]


def test_an_alert_id_ending_in_a_newline_is_not_an_alert_id(circle) -> None:
    c = circle()
    c.agent.publish(f"{c.base}/mary/alert", json.dumps(alert("mary-inactivity-7\n")), qos=1).wait_for_publish(5)
    c.publish("alert", alert("mary-inactivity-8"))
    c.pump()
    assert c.store.incident("mary-inactivity-7\n") is None and c.store.incident("mary-inactivity-7") is None
    assert [json.loads(n["actions"][0]["body"])["alert_id"] for n in c.alerts_to("ann")] == ["mary-inactivity-8"]


def test_over_mqtt_5_the_broker_keeps_a_huge_message_from_the_notifier(circle) -> None:
    c = circle()  # MQTT 5, as configured by default
    huge = json.dumps({**alert("mary-huge-1"), "reason": "x" * (2 * MAX_PACKET)})
    c.agent.publish(f"{c.base}/mary/alert", huge, qos=1).wait_for_publish(5)  # the broker drops it: never heard
    c.publish("alert", alert("mary-inactivity-2"))  # waits until it is stored: the huge one came before
    c.pump()
    assert c.store.incident("mary-huge-1") is None and c.store.dead_letters() == []  # never reached it
    assert len(c.alerts_to("ann")) == 1


def test_a_flood_of_junk_is_counted_not_kept_and_the_next_alert_still_rings(circle) -> None:
    c = circle(home_extra=JOHN)
    for i in range(300):  # each different: a hostile or broken client
        c.agent.publish(f"{c.base}/mary/alert", f"junk {i} {{".encode(), qos=1)
    c.publish("alert", alert("mary-help-2", "help", "critical"))  # stored when it arrives, after the junk
    c.pump()
    assert [json.loads(n["actions"][0]["body"])["alert_id"] for n in c.alerts_to("ann")] == ["mary-help-2"]
    assert len(c.store.dead_letters()) <= 21  # the first of the minute kept; the rest counted, not stored
    assert len([n for n in c.infos_to("carol") if n["title"] == UNREADABLE]) == 1  # the keepers told once


# Control characters, an escape sequence, bidirectional overrides, a quote, a backslash, characters beyond the BMP.
LONG_ID = "mary-inactivity-" + "2" * 40
NASTY = '\x00\x07\x1b[2J\r\u202e\u2066"\\\U0001f600\U0001f9d3'


def test_a_hostile_alert_still_reaches_the_circle_cleaned_and_within_ntfys_limits(circle) -> None:
    c = circle()
    controls = {
        **alert("mary-help-1", "help", "critical"),
        "home": NASTY * 20,
        "kind": "\x00" * 100 + "help" + "\x1b" * 100,
        "severity": "\x1b[31m" + "critical" + NASTY,
        "reason": "\x01" * 1400 + "Help" + NASTY * 60,  # grew past 8,192 bytes as JSON: refused, dropped
        "raised_at": NASTY * 5,
        "facts": {NASTY: NASTY * 20, "n": [NASTY] * 10},
    }
    # Only quotes and backslashes: 3,500 bytes of text and a 64-byte kind take 7,128 bytes as JSON; the buttons
    # (each names the alert), about 1,100 more.
    quotes = {**alert(LONG_ID), "kind": '"\\' * 32, "reason": '"\\' * 1750}
    for body in (controls, quotes):
        payload = json.dumps(body, ensure_ascii=False).encode()
        assert len(payload) < MAX_PAYLOAD  # taken, not parked
        c.publish("alert", payload)
    c.pump()
    assert c.ntfy_server.refused == [] and c.store.dead_letters() == []
    sent = {json.loads(n["actions"][0]["body"])["alert_id"]: n for n in c.alerts_to("ann")}
    assert set(sent) == {"mary-help-1", LONG_ID}  # both reached Ann
    for note in sent.values():
        assert len(json.dumps(note, ensure_ascii=False).encode()) < 8192
        text = note["title"] + note["message"]
        assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in text)
        assert not {"\u202e", "\u2066"} & set(text)
    help_note = sent["mary-help-1"]
    assert help_note["title"] == "Mary: pressed the help button"  # the kind read through the control characters
    assert help_note["message"].startswith('Help [2J "\\\U0001f600\U0001f9d3 [2J')
    incident = c.store.incident("mary-help-1")
    assert incident is not None and incident.kind == "help"
    assert incident.severity == "critical"  # garbled: a help press's own, so it goes to everyone at once
    assert any(n["title"] == "Mary: pressed the help button" for n in c.alerts_to("carol"))
    assert not any(unicodedata.category(ch) == "Cc" for ch in incident.reason)
    assert incident.raised_at == TUESDAY_10  # not a time: the time it arrived
    long_note = sent[LONG_ID]
    assert long_note["message"].startswith('"\\"\\') and long_note["message"].endswith("\u2026")
    for alert_id, note in sent.items():  # the buttons are whole, the cut one's too
        c.handled(c.ntfy_server.press(note, "I'm going")["id"])
        assert c.store.incident(alert_id).claimed_by == "ann"  # type: ignore[union-attr]


def test_an_alert_whose_kind_severity_or_reason_is_not_text_still_reaches_the_circle(circle) -> None:
    # Before: parked as "an alert without alert_id, kind, severity or reason": a call for help from an agent
    # that wrote its severity as a number was never told. Only an alert without a usable id cannot be taken.
    c = circle()
    c.publish("alert", {**alert("mary-help-3", "help"), "severity": 5})
    c.publish("alert", {**alert("mary-inactivity-4"), "reason": None, "kind": ["inactivity"]})
    c.publish("alert", {**alert(), "alert_id": 7})
    c.pump()
    help_call, quiet = c.store.incident("mary-help-3"), c.store.incident("mary-inactivity-4")
    assert help_call is not None and help_call.severity == "critical"  # a help press's own
    assert any(n["title"] == "Mary: pressed the help button" for n in c.alerts_to("carol"))  # everyone, at once
    assert quiet is not None and quiet.kind == "alert" and quiet.severity == "high"  # loud rather than quiet
    assert quiet.reason == "The monitor gave no reason that can be shown."
    assert [d.error for d in c.store.dead_letters()] == ["an alert without an alert_id"]


FORGED = "\n2026-11-28 04:00:00 CRITICAL a forged log line\x1b[2J\u202eexe.gnp"


def _outside_free(text: str) -> bool:
    """No line break, control character or direction override: what a log line or a phone cannot be fooled by."""
    return not any(unicodedata.category(ch) == "Cc" for ch in text) and not {"\u202e", "\u2066"} & set(text)


def test_texts_from_outside_are_cleaned_before_they_are_logged_or_stored(circle, caplog) -> None:
    c = circle()
    notice = {"notice_id": "mary-silent-bathroom_pir-20260303T0800", "home": "mary", "kind": "sensor_silent"}
    c.publish("notice", {**notice, "text": "The bathroom sensor has sent nothing since 08:00." + FORGED})
    wait_for(lambda: (c.pump(1), c.infos_to("carol"))[1], 5, "the notice")
    c.publish("alert", alert())
    c.publish("alert", alert("mary-help-2", "help", "critical"))
    c.pump()
    # A press whose note was added on its way (the token signs the rest, not the note), and one with a forged member.
    buttons = [json.loads(a["body"]) for n in c.alerts_to("ann") for a in n["actions"] if a["action"] == "http"]
    body = next(b for b in buttons if b["action"] == "resolve" and b["alert_id"] == "mary-inactivity-1")
    for press in ({**body, "member": "ann" + FORGED}, {**body, "note": "On my way" + FORGED}):
        c.handled(c.ntfy_server.store("sentinel-acks-test-0001", json.dumps(press), {})["id"])
    c.publish("alert/mary-help-2/ack", {"who": "resident", "what": "cancel", "note": "I'm OK" + FORGED})
    c.pump()
    for alert_id in ("mary-inactivity-1", "mary-help-2"):
        incident = c.store.incident(alert_id)
        assert incident is not None and incident.closed_at is not None
        details = [detail or "" for _, _, _, detail in c.store.steps(alert_id)]
        assert all(_outside_free(detail) for detail in details), details
        assert any("a forged log line" in detail for detail in details)  # kept, on one line
    stored_notice = [n for n in c.infos_to("carol") if n["title"] == "Mary's monitor: a sensor is silent"]
    assert len(stored_notice) == 1 and _outside_free(stored_notice[0]["message"])
    logged = [r.getMessage() for r in caplog.records]
    assert any("a forged log line" in line for line in logged)
    assert all(_outside_free(line) for line in logged), [line for line in logged if not _outside_free(line)]


def test_a_broker_stalled_by_oversized_messages_is_left_and_the_next_alert_still_rings(circle, monkeypatch) -> None:
    # Mosquitto 2.0 drops a QoS 1 message larger than a client asked for (MQTT 5 Maximum Packet Size) without
    # freeing its place among the client's 20 in flight. Before: after 20 such messages on a home's alert topic
    # nothing at QoS 1 reached the notifier again, though its connection stayed up: a call for help went unheard.
    from sentinel.mqtt import probe

    monkeypatch.setattr(probe, "EVERY_S", 0.2)  # the probe's own times are real ones (30 s each, in the field)
    monkeypatch.setattr(probe, "LATE_S", 1.0)
    c = circle()
    wait_for(lambda: (c.pump(1), c.notifier.listener.probe.works)[1], 10, "the first probe back")
    huge = json.dumps({**alert("mary-huge-1"), "reason": "x" * MAX_PACKET})
    for _ in range(21):
        c.agent.publish(f"{c.base}/mary/alert", huge, qos=1).wait_for_publish(5)
    c.agent.publish(f"{c.base}/mary/alert", json.dumps(alert("mary-help-2", "help", "critical")), qos=1)
    # A probe goes out and does not come back: the notifier leaves the connection, connects again, and its session
    # (and the call for help kept in it) follows.
    wait_for(lambda: (c.pump(1), c.store.incident("mary-help-2") is not None)[1], 15, "the call for help")
    assert [json.loads(n["actions"][0]["body"])["alert_id"] for n in c.alerts_to("ann")] == ["mary-help-2"]


def test_a_notifier_restarted_into_a_session_stalled_by_oversized_messages_connects_again(
    away: Away, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages too large for it, waiting in its session while it restarts (an upgrade, a reboot), stall it as soon
    # as it is back, before any probe came back. Before: only a probe after one had come back was judged, so this
    # notifier was never checked, and a call for help never arrived.
    from sentinel.mqtt import probe

    monkeypatch.setattr(probe, "EVERY_S", 0.2)  # the probe's own times are real ones (30 s each, in the field)
    monkeypatch.setattr(probe, "LATE_S", 1.0)
    huge = json.dumps({**alert("mary-huge-1"), "reason": "x" * MAX_PACKET})
    for _ in range(21):
        away.agent.publish(f"{away.first.base}/mary/alert", huge, qos=1).wait_for_publish(5)
    second = away.start(like=away.first)
    try:
        help_call = json.dumps(alert("mary-help-2", "help", "critical"))
        away.agent.publish(f"{away.first.base}/mary/alert", help_call, qos=1)
        wait_for(lambda: (second.pump(1), second.store.incident("mary-help-2") is not None)[1], 15, "the call")
        second.pump()
        assert [json.loads(n["actions"][0]["body"])["alert_id"] for n in second.alerts_to("ann")] == ["mary-help-2"]
    finally:
        second.close()


def test_a_flood_of_unusable_notices_is_logged_ten_times_a_minute(circle, caplog) -> None:
    # Before: one warning per message (10,000 notices without text: 10,000 lines in the journal).
    c = circle()
    with caplog.at_level(logging.WARNING, logger="sentinel.notifier.keepers"):
        for i in range(30):
            c.publish("notice", {"notice_id": f"n{i}"})
        c.pump()
    said = [r.getMessage() for r in caplog.records if r.name == "sentinel.notifier.keepers"]
    assert len(said) == 10 and all("without a usable notice_id or text" in m for m in said)
    c.publish("alert", alert("mary-help-9", "help", "critical"))  # and the next alert still rings
    c.pump()
    assert c.alerts_to("ann")
