"""Every phone still hears: consent, drills, circle-health and the keepers' weekly note.

End to end against the real broker and the ntfy stand-in, on an injected clock: the buttons are pressed
through ntfy as a phone would, and their forgeries and replays are refused and recorded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from circle_driver import TOPICS, TUESDAY_10, Circle, alert, circle_yaml
from conftest import agent_yaml, wait_for
from sentinel.agent.app import Agent
from sentinel.cli import main
from sentinel.clock import ManualClock
from sentinel.config import parse_circle_config, parse_config
from sentinel.errors import ConfigError
from sentinel.notifier.commands import not_agreed
from sentinel.notifier.escalation import Progress, walk
from sentinel.notifier.store import MIGRATIONS, NotifierStore
from sentinel.sqlite import open_db
from sentinel.store import Store

ACK_TOPIC = "sentinel-acks-test-0001"
REQUIRED = "consent: required\nwatch_silence: false\n"
DAY = 86400


def titled(c: Circle, member: str, start: str) -> list[dict[str, Any]]:
    return [n for n in c.ntfy_server.to(TOPICS[member]) if n["title"].startswith(start)]


def asks(c: Circle, member: str) -> list[dict[str, Any]]:
    return titled(c, member, "Will you look out for Mary?")


def body_of(note: dict[str, Any], label: str) -> dict[str, Any]:
    return json.loads(next(a for a in note["actions"] if a["label"] == label)["body"])


def post(c: Circle, body: dict[str, Any]) -> None:
    """Post to the ack topic as anyone who can read a notification could."""
    c.handled(c.ntfy_server.store(ACK_TOPIC, json.dumps(body), {})["id"])


def press(c: Circle, note: dict[str, Any], label: str) -> None:
    c.handled(c.ntfy_server.press(note, label)["id"])


def log_of(c: Circle, member: str, what: str) -> list[str]:
    return [detail for _, _, w, detail in c.store.member_log(member) if w == what]


# consent


def test_a_new_member_is_asked_and_counted_on_once_they_agree(circle) -> None:
    c = circle(top=REQUIRED)
    c.pump()
    for member in TOPICS:
        (ask,) = asks(c, member)
        assert [a["label"] for a in ask["actions"]] == ["I agree"]
        assert "Mary has asked you to look out for them" in ask["message"]
        assert len(ask["actions"]) <= 3 and len(json.dumps(ask)) < 4096  # what ntfy carries
    assert c.store.agreed("mary") == set()

    # Nobody has agreed yet: an alert walks the circle as it always did, a step apart.
    c.publish("alert", alert("mary-inactivity-1"))
    c.pump()
    assert len(c.alerts_to("ann")) == 1 and not titled(c, "carol", "Mary: unusually quiet")
    c.advance(300)
    assert titled(c, "carol", "Mary: unusually quiet")
    c.press("carol", "I called, all OK")

    # Carol agrees. Ann (tier one) has not: she is still told, but the circle no longer waits for her.
    press(c, asks(c, "carol")[0], "I agree")
    assert c.store.agreed("mary") == {"carol"}
    assert titled(c, "carol", "Mary: thank you")[-1]["message"].startswith("You are in Mary's circle.")
    c.publish("alert", alert("mary-inactivity-2"))
    c.pump()
    assert len(titled(c, "ann", "Mary: unusually quiet")) == 2
    assert len(titled(c, "carol", "Mary: unusually quiet")) == 2  # at once, not five minutes later
    steps = [(what, detail) for _, what, _, detail in c.store.steps("mary-inactivity-2") if what.startswith("step")]
    assert steps == [("step 1", "ann (ann: not agreed yet, not waited for)"), ("step 2", "carol")]
    c.press("carol", "I called, all OK")

    # Once Ann agrees, the circle waits for her again.
    press(c, asks(c, "ann")[0], "I agree")
    c.publish("alert", alert("mary-inactivity-3"))
    c.pump()
    assert len(titled(c, "ann", "Mary: unusually quiet")) == 3
    assert len(titled(c, "carol", "Mary: unusually quiet")) == 2
    c.advance(300)
    assert len(titled(c, "carol", "Mary: unusually quiet")) == 3
    assert log_of(c, "ann", "pressed") == ["agree join-mary"]


def test_a_forged_or_replayed_agreement_is_refused_and_recorded(circle, caplog) -> None:
    c = circle(top=REQUIRED)
    c.pump()
    ann = body_of(asks(c, "ann")[0], "I agree")
    post(c, {**ann, "member": "bob"})  # Ann's token, passed off as Bob's
    post(c, {**ann, "home": "elsewhere"})
    post(c, {**ann, "token": "A" * 24})
    assert c.store.agreed("mary") == set()
    assert log_of(c, "bob", "refused") == ["agree join-mary: forged token"]
    assert log_of(c, "ann", "refused") == ["agree join-mary: forged token"] * 2

    press(c, asks(c, "ann")[0], "I agree")
    press(c, asks(c, "ann")[0], "I agree")  # the same press again, as anyone reading the ack topic could
    assert c.store.agreed("mary") == {"ann"}
    assert log_of(c, "ann", "refused")[-1] == "agree join-mary: replayed token"
    assert len(titled(c, "ann", "Mary: thank you")) == 1
    assert any("replayed token" in r.getMessage() for r in caplog.records)

    # A genuine token for a drill that never was, and one past its two days.
    c.clock.advance(2 * DAY + 60)
    press(c, asks(c, "bob")[0], "I agree")
    assert log_of(c, "bob", "refused")[-1] == "agree join-mary: expired token"
    assert c.store.agreed("mary") == {"ann"}
    # Bob wants to agree: his old button brings him a fresh one at once, not after the weekly reminder.
    c.pump()
    assert len(asks(c, "bob")) == 2 and asks(c, "bob")[-1]["message"].startswith("Reminder:")
    press(c, asks(c, "bob")[0], "I agree")  # the old one again: refused, and no third request within the hour
    c.pump()
    assert len(asks(c, "bob")) == 2
    press(c, asks(c, "bob")[-1], "I agree")
    assert c.store.agreed("mary") == {"ann", "bob"}


def test_who_has_not_agreed_is_reminded_weekly_and_the_keepers_told_once(circle, tmp_path: Path, capsys) -> None:
    c = circle(top=REQUIRED)
    c.pump()
    press(c, asks(c, "carol")[0], "I agree")
    c.advance(DAY - 60)
    assert not titled(c, "carol", "Mary's circle:")
    c.advance(60)
    (told,) = titled(c, "carol", "Mary's circle:")  # Carol keeps the kit
    assert told["title"] == "Mary's circle: Ann and Bob have not agreed yet"
    assert "not tapped 'I agree' on the request sent on Tue 03 Mar" in told["message"]
    rows = c.store.consent_rows()
    assert rows[("mary", "ann")].keepers_told_at is not None and rows[("mary", "carol")].keepers_told_at is None

    c.advance(DAY * 5)  # not again, and nobody is asked again before a week is up
    assert len(titled(c, "carol", "Mary's circle:")) == 1 and len(asks(c, "ann")) == 1
    c.advance(DAY)  # a week after the first ask
    assert len(asks(c, "ann")) == 2 and len(asks(c, "bob")) == 2 and len(asks(c, "carol")) == 1
    assert asks(c, "ann")[-1]["message"].startswith("Reminder: you have not tapped 'I agree' yet.")
    assert [w for _, _, w, _ in c.store.member_log("ann")] == ["met", "asked", "reminded"]
    assert len(titled(c, "carol", "Mary's circle:")) == 1

    # The reminder's fresh button works where the first, long expired, would not.
    press(c, asks(c, "ann")[-1], "I agree")
    assert c.store.agreed("mary") == {"ann", "carol"}

    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    assert main(["check-circle", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Not agreed yet, so not counted on in a tier: Bob (Mary)." in out


def test_members_of_a_circle_from_before_consent_are_not_excluded(circle, broker, tmp_path: Path) -> None:
    # A notifier database as the previous version left it, having notified the circle.
    state = tmp_path / "old"
    db = open_db(state / "notifier.db", MIGRATIONS[:2])
    db.execute(
        "INSERT INTO deliveries (alert_id, home, member, body, status, next_try) VALUES (?, ?, ?, ?, 'sent', ?)",
        ("mary-inactivity-0", "mary", "ann", json.dumps({"title": "Mary: unusually quiet"}), TUESDAY_10.isoformat()),
    )
    db.close()
    first = Circle(state, broker.port, top=REQUIRED)
    try:
        first.pump()
        assert first.store.agreed("mary") == {"ann", "bob", "carol"}
        assert all(asks(first, m) == [] for m in TOPICS)
        assert first.store.consent_rows()[("mary", "bob")].how == "in the circle before members were asked"
    finally:
        first.close()
    # Dave joins later: he, and only he, is asked.
    dave = "  - id: dave\n    name: Dave\n    topic: mary-dave-topic-04\n"
    later = Circle(
        state,
        broker.port,
        top=REQUIRED,
        extra_members=dave,
        edit=lambda text: text.replace("tiers: [[ann, bob], [carol]]", "tiers: [[ann, bob], [carol, dave]]"),
    )
    try:
        later.pump()
        assert [n["title"] for n in later.ntfy_server.to("mary-dave-topic-04")] == ["Will you look out for Mary?"]
        assert all(asks(later, m) == [] for m in TOPICS)
        assert later.store.agreed("mary") == {"ann", "bob", "carol"}
    finally:
        later.close()


def test_consent_assumed_asks_nobody_and_counts_everyone(circle) -> None:
    c = circle(top="watch_silence: false\n")  # the default: a circle as before consent was asked
    c.pump()
    assert all(asks(c, m) == [] for m in TOPICS)
    c.publish("alert", alert())
    c.pump()
    assert titled(c, "ann", "Mary: unusually quiet") and not titled(c, "carol", "Mary: unusually quiet")
    assert set(c.store.consent_rows()) == {("mary", "ann"), ("mary", "bob"), ("mary", "carol")}


def test_the_empty_tier_rule() -> None:
    """Pure: who is waited for when some have agreed, and when those who did cannot be asked now."""
    cfg = parse_circle_config(circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/x"), "t"), check_secrets=False)
    home = cfg.homes[0]

    def first(agreed: set[str] | None, at: datetime = TUESDAY_10) -> tuple[tuple[str, ...], float]:
        counted = None if agreed is None else frozenset(agreed)
        taken = walk(cfg, home, "high", Progress(0, at), at, counted)
        return taken.audience, (taken.progress.next_at - at).total_seconds()

    assert first(None) == (("ann",), 300)  # consent assumed
    assert first(set()) == (("ann",), 300)  # nobody agreed: everyone counts, as before
    assert first({"carol"}) == (("ann",), 0)  # Ann is told, but the circle goes on to Carol at once
    assert first({"ann"}) == (("ann",), 300)
    night = datetime(2026, 3, 3, 23, 0).astimezone()  # Ann in quiet hours, Bob off call: Carol's step comes first
    assert first({"ann"}, night) == (("carol",), 300)  # Carol has not agreed, but the only one who did sleeps


# drills


DRILL = REQUIRED.replace("consent: required\n", "") + "drill: {every: 30d, answer_within: 1d, at: '11:00'}\n"


def drills(c: Circle, member: str) -> list[dict[str, Any]]:
    return titled(c, member, "sentinel test: please tap Received")


def test_a_drill_reaches_every_phone_and_the_silent_are_named_to_the_keepers(circle) -> None:
    away = '    away_until: "2026-03-05"\n'
    c = circle(top=DRILL, edit=lambda t: t.replace("    topic: mary-bob", away + "    topic: mary-bob"))
    c.advance(3600 - 60)
    assert drills(c, "ann") == []
    c.advance(60)  # Tuesday 11:00
    (ann_drill,) = drills(c, "ann")
    assert [a["label"] for a in ann_drill["actions"]] == ["Received"]
    assert "nothing is wrong" in ann_drill["message"] and "Wed 11:00" in ann_drill["message"]
    assert len(drills(c, "carol")) == 1 and drills(c, "bob") == []  # Bob is away until Thursday
    assert log_of(c, "bob", "drill skipped") == ["away until 2026-03-05"]

    press(c, ann_drill, "Received")
    press(c, ann_drill, "Received")  # replayed
    post(c, {**body_of(ann_drill, "Received"), "member": "carol"})  # forged as Carol's
    assert log_of(c, "ann", "refused") == ["received drill-20260303T1100: replayed token"]
    assert log_of(c, "carol", "refused") == ["received drill-20260303T1100: forged token"]
    assert c.store.last_drill("ann").answered_at is not None  # type: ignore[union-attr]
    assert c.store.last_drill("carol").answered_at is None  # type: ignore[union-attr]

    c.advance(DAY - 60)
    assert titled(c, "carol", "Mary's circle:") == []
    c.advance(60)
    (missed,) = titled(c, "carol", "Mary's circle:")  # Carol keeps the kit, and did not answer either
    assert missed["title"] == "Mary's circle: Carol Ødegård did not answer the test"
    assert "test notice of Tue 03 Mar 11:00" in missed["message"] and missed["priority"] == 4
    assert c.store.last_drill("carol").missed_at is not None  # type: ignore[union-attr]
    c.advance(DAY)
    assert len(titled(c, "carol", "Mary's circle:")) == 1  # named once

    # The next drill, thirty days after the first, at 11:00 on the clock again: in a zone whose clocks went
    # forward meanwhile, that is an hour less than thirty days of elapsed time.
    c.advance((datetime(2026, 4, 2, 11, 0).astimezone() - c.clock.now()).total_seconds() - 3600)
    assert len(drills(c, "ann")) == 1
    c.advance(3600)
    assert len(drills(c, "ann")) == 2 and len(drills(c, "bob")) == 1
    # Named by the clock as the notifier reads it (here in the offset the test's clock started with).
    assert c.store.last_drill("bob").drill_id == f"drill-{c.clock.now():%Y%m%dT%H%M}"  # type: ignore[union-attr]


def test_a_drill_waits_out_a_members_quiet_hours_and_so_does_their_day_to_answer(circle) -> None:
    c = circle(top=DRILL.replace("'11:00'", "'23:00'"))  # Ann's quiet hours: 22:00-07:00
    c.pump()  # the schedule is set: the first drill tonight
    c.advance(13 * 3600)  # Tuesday 23:00
    assert len(drills(c, "carol")) == len(drills(c, "bob")) == 1 and drills(c, "ann") == []
    assert log_of(c, "ann", "drill sent") == ["drill-20260303T2300 at 07:00, after their quiet hours"]
    c.advance(8 * 3600 - 60)
    assert drills(c, "ann") == []
    c.advance(60)  # Wednesday 07:00
    (ann_drill,) = drills(c, "ann")
    assert "Thu 07:00" in ann_drill["message"]  # a whole day to answer from when it reached her
    c.advance(16 * 3600)  # Wednesday 23:00: Carol's day is over, Ann's is not
    (missed,) = titled(c, "carol", "Mary's circle:")
    assert missed["title"] == "Mary's circle: Bob and Carol Ødegård did not answer the test"  # not Ann
    assert c.store.last_drill("ann").missed_at is None  # type: ignore[union-attr]
    c.advance(8 * 3600)  # Thursday 07:00
    assert c.store.last_drill("ann").missed_at is not None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("quiet", "reaches"), [("08:00-24:00", "at 00:00, after their quiet hours"), ("00:00-24:00", "")]
)
def test_a_drill_reaches_a_member_whose_quiet_hours_end_at_24_00(circle, quiet: str, reaches: str) -> None:
    # Before: working out when such quiet hours end failed ("hour must be in 0..23") and nobody got the drill.
    start, end = quiet.split("-")
    c = circle(
        top=DRILL,
        edit=lambda t: t.replace(
            'quiet_hours: {start: "22:00", end: "07:00"}', f'quiet_hours: {{start: "{start}", end: "{end}"}}'
        ),
    )
    c.pump()
    c.advance(3600)  # Tuesday 11:00: the drill
    assert len(drills(c, "carol")) == len(drills(c, "bob")) == 1
    if reaches:  # a night worker: it waits for her quiet hours to end at midnight
        assert drills(c, "ann") == []
        assert log_of(c, "ann", "drill sent") == [f"drill-20260303T1100 {reaches}"]
        c.advance(13 * 3600)  # Wednesday 00:00
    # Quiet at every hour (only the help button, she said): the drill goes as planned, as there is no end to wait
    # for, and it tests the phone a help call would ring.
    assert len(drills(c, "ann")) == 1


def test_circle_health_prints_each_member(circle, tmp_path: Path, capsys) -> None:
    c = circle(top=REQUIRED + DRILL.replace("watch_silence: false\n", ""))
    c.pump()
    press(c, asks(c, "ann")[0], "I agree")
    c.advance(3600)  # the drill at 11:00
    press(c, drills(c, "ann")[0], "Received")
    press(c, drills(c, "ann")[0], "Received")  # replayed: shown to the organiser
    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    assert main(["circle-health", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    ann = out[out.index("Ann (ann)") : out.index("Bob (bob)")]
    assert "Mary's circle: agreed 2026-03-03 10:00 (tapped 'I agree')" in ann
    assert 'last notice delivered: 2026-03-03 11:00 "sentinel test: please tap Received"' in ann
    assert "last button pressed: 2026-03-03 11:00 Received" in ann
    assert "last drill: sent 2026-03-03 11:00, answered 2026-03-03 11:00" in ann
    assert "last press refused in their name: 2026-03-03 11:00 received drill-20260303T1100: replayed token" in ann
    bob = out[out.index("Bob (bob)") : out.index("Carol")]
    assert "NOT AGREED YET (asked 2026-03-03 10:00)" in bob and "last button pressed: none yet" in bob
    assert "waiting for an answer until 2026-03-04 11:00" in bob and "away: no" in bob
    assert "unusually quiet" not in out


def test_the_keepers_weekly_note_is_words_about_the_circle_only(circle) -> None:
    top = REQUIRED + "health_report: {every: 7d, at: '18:00'}\n"
    c = circle(
        top=top, edit=lambda t: t.replace("    topic: mary-bob", '    away_until: "2026-03-20"\n    topic: mary-bob')
    )
    c.pump()
    press(c, asks(c, "carol")[0], "I agree")
    c.publish("alert", alert())
    c.pump()
    c.advance(8 * 3600 - 60)
    assert titled(c, "carol", "Mary's circle this week") == []
    c.advance(60)
    (note,) = titled(c, "carol", "Mary's circle this week")
    text = note["message"]
    assert text.startswith("How Mary's circle stands on Tue 03 Mar. Agreed to be asked: Carol Ødegård.")
    assert "Not agreed yet: Ann (asked 03 Mar) and Bob (asked 03 Mar); the circle does not wait for them." in text
    assert "Away: Bob until 2026-03-20." in text and "Test notices are off" in text
    assert "Last button pressed: Ann never, Bob never and Carol Ødegård 03 Mar." in text
    assert "quiet" not in text and "08:10" not in text  # nothing of the resident's day or alerts
    assert not note.get("actions") and titled(c, "ann", "Mary's circle this week") == []  # the keepers only
    c.advance(7 * DAY)
    assert len(titled(c, "carol", "Mary's circle this week")) == 2


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("drill:\n  answer_within: 3d\n", "circle.yaml:{n}: drill.answer_within: 3d is out of range (10m-2d)"),
        ("drill:\n  every: 1d\n", "circle.yaml:{n}: drill.every: 1d is out of range (7d-365d)"),
        ("health_report:\n  at: '6pm'\n", "circle.yaml:{n}: health_report.at: '6pm' is not a time of day like '07:30'"),
        ("consent: maybe\n", "circle.yaml:{n}: consent: 'maybe' is not one of 'required', 'assumed'"),
    ],
)
def test_rhythm_mistakes_name_file_line_and_key(lines: str, expected: str) -> None:
    text = circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/x"), "t")
    n = len(text.splitlines()) + len(lines.splitlines())
    with pytest.raises(ConfigError) as info:
        parse_circle_config(text + lines, "circle.yaml", check_secrets=False)
    assert info.value.issues == [expected.format(n=n)]


def test_the_notifier_reference_is_up_to_date() -> None:
    from conftest import ROOT
    from sentinel.config.reference import render_circle

    assert (ROOT / "docs" / "config-circle.md").read_text() == render_circle(), (
        "run: python -m sentinel.config.reference circle > docs/config-circle.md"
    )


# releasing a claim


def urgent(c: Circle, member: str) -> list[dict[str, Any]]:
    return titled(c, member, "URGENT, nobody is going yet.")


def test_a_claim_can_be_released_and_the_walk_goes_on_where_it_was(circle, recorder) -> None:
    c = circle(top="watch_silence: false\n")
    agent_acks = recorder([f"{c.base}/mary/alert/+/ack"])
    c.publish("alert", alert())
    c.pump()
    c.advance(300)  # Carol's tier; the final call would be five minutes later
    c.advance(60)
    c.press("carol", "I'm going")
    (going,) = titled(c, "carol", "Mary: you are going")
    assert [a["label"] for a in going["actions"]] == ["I'm there", "With Mary", "I can't go after all"]
    assert c.infos_to("ann")[-1]["title"] == "Mary: Carol Ødegård is going"
    c.advance(600)
    assert urgent(c, "ann") == []  # the claim holds the walk

    release = body_of(going, "I can't go after all")
    post(c, {**release, "member": "ann"})  # Carol's button, passed off as Ann's
    assert c.store.incident("mary-inactivity-1").claimed_by == "carol"  # type: ignore[union-attr]
    press(c, going, "I can't go after all")
    assert c.store.incident("mary-inactivity-1").claimed_by is None  # type: ignore[union-attr]
    (told,) = titled(c, "ann", "Mary: Carol Ødegård cannot go after all")
    assert told["message"].startswith("Nobody is going to Mary now. Can you? (unusually quiet: No sign")
    assert [a["label"] for a in told["actions"]] == ["I'm going", "I called, all OK", "I can't go"]
    assert titled(c, "carol", "Mary: Carol Ødegård cannot go after all") == []
    # Where it was: the final call was due while Carol was going, so it goes out now.
    assert len(urgent(c, "ann")) == 1 and len(urgent(c, "carol")) == 1
    assert agent_acks.wait(f"{c.base}/mary/alert/mary-inactivity-1/ack", lambda b: b["what"] == "release")["who"] == (
        "Carol Ødegård"
    )

    press(c, going, "I can't go after all")  # again
    refused = [d for _, what, _, d in c.store.steps("mary-inactivity-1") if what == "refused"]
    assert refused == ["release: forged token", "release: replayed token"]
    press(c, told, "I'm going")  # Ann's fresh button
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]
    carol = [w for _, w, m, _ in c.store.steps("mary-inactivity-1") if m == "carol"]
    assert [w for w in carol if w in ("claimed", "released")] == ["claimed", "released"]


def test_the_one_going_who_sends_no_word_is_asked_then_the_others_are_asked_again(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.publish("alert", alert())
    c.pump()
    c.advance(300)  # 10:05: Carol's tier
    c.press("carol", "I'm going")
    c.advance(29 * 60)
    assert titled(c, "carol", "Mary: are you there yet?") == [] and urgent(c, "ann") == []
    c.advance(60)  # 10:35, arrive_within (30 min) after "I'm going": Carol is asked, on her own buttons
    (ask,) = titled(c, "carol", "Mary: are you there yet?")
    assert [a["label"] for a in ask["actions"]] == ["I'm there", "With Mary", "I can't go after all"]
    assert ask["priority"] == 4 and "You said at 10:05 that you were going to Mary" in ask["message"]
    assert "If nobody hears from you by 10:40, the others are asked again" in ask["message"]
    assert c.store.incident("mary-inactivity-1").claimed_by == "carol"  # type: ignore[union-attr]
    assert titled(c, "ann", "Mary: no word from") == []

    c.advance(300)  # 10:40: no answer a step later. The claim is let go and the walk goes on where it was.
    assert c.store.incident("mary-inactivity-1").claimed_by is None  # type: ignore[union-attr]
    (told,) = titled(c, "ann", "Mary: no word from Carol Ødegård")
    assert told["message"].startswith(
        "Carol Ødegård said at 10:05 they were going to Mary but has not said they are there, nor answered."
        " Nobody is known to be going now. Can you? (unusually quiet: No sign"
    )
    assert [a["label"] for a in told["actions"]] == ["I'm going", "I called, all OK", "I can't go"]
    assert len(urgent(c, "ann")) == 1  # the final call, due at 10:10 while Carol was going
    released = [(m, d) for _, what, m, d in c.store.steps("mary-inactivity-1") if what == "released"]
    assert released == [("carol", "no word since 'I'm going'")]
    assert [m for _, what, m, _ in c.store.steps("mary-inactivity-1") if what == "arrival asked"] == ["carol"]

    # Carol was on her way all along, her phone silent: her "I'm there" still counts, and the others hear it.
    press(c, ask, "I'm there")
    assert c.store.incident("mary-inactivity-1").claimed_by == "carol"  # type: ignore[union-attr]
    assert c.infos_to("ann")[-1]["title"] == "Mary: Carol Ødegård is there"
    c.advance(2 * 3600)
    assert len(titled(c, "carol", "Mary: are you there yet?")) == 1  # she is there: nobody asks again


def test_the_wait_for_i_am_there_follows_the_journey_the_record_and_what_the_sensors_see(circle) -> None:
    far = "    topic: mary-carol-topic-03\n"
    c = circle(top="watch_silence: false\n", edit=lambda t: t.replace(far, far + "    minutes_away: 45\n"))
    c.publish("alert", alert())
    c.pump()
    c.advance(300)
    c.press("carol", "I'm going")  # 10:05, from 45 minutes away: not asked before twice that
    c.advance(600)
    c.clock.jump(-7200)  # NTP sets the clock back two hours: the waits keep their real length
    c.advance(79 * 60)
    assert titled(c, "carol", "Mary: are you there yet?") == []
    c.advance(60)  # 90 minutes after "I'm going": asked once, though the clock now says it is before she went
    (ask,) = titled(c, "carol", "Mary: are you there yet?")
    # 10:05 on the clock as it was is 08:05 on the clock as it is now, the face "by 09:40" is told on.
    assert "You said at 08:05 that you were going" in ask["message"] and "from you by 09:40" in ask["message"]
    for _ in range(3):
        c.advance(150)
    assert len(titled(c, "carol", "Mary: are you there yet?")) == 1
    assert c.store.incident("mary-inactivity-1").claimed_by is None  # type: ignore[union-attr]
    # The monitor takes movement for the visitor's: with nobody known to be going now, the circle hears of it.
    before = len(c.infos_to("ann"))
    c.publish("alert/mary-inactivity-1/ack", {"who": "sensors", "what": "activity", "note": "Movement again: hall."})
    wait_for(lambda: (c.pump(1), len(c.infos_to("ann")) > before)[1], 10, "the movement told")
    moved = c.infos_to("ann")[-1]
    assert moved["title"] == "Mary: movement at home"
    assert moved["message"] == (
        "Movement again: hall. It may be Carol Ødegård, who said they were going. Only someone there, or Mary,"
        " can say all is well."
    )
    assert not c.store.is_closed("mary-inactivity-1")


def test_no_word_from_the_one_going_waits_for_quiet_hours_and_the_final_call_does_not(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.advance(11 * 3600 + 55 * 60)  # 21:55: Ann's quiet hours begin at 22:00
    c.publish("alert", alert())
    c.pump()
    c.advance(300)  # 22:00: Carol's tier
    c.press("carol", "I'm going")
    c.advance(30 * 60)
    c.advance(300)  # 22:35: no word from Carol
    assert c.store.incident("mary-inactivity-1").claimed_by is None  # type: ignore[union-attr]
    assert titled(c, "ann", "Mary: no word") == []  # asleep: not for a note
    assert len(urgent(c, "ann")) == 1  # but the final call, due while Carol was going, reaches everyone


def test_no_word_reaches_an_off_call_member_told_before_and_movement_spares_who_could_not_go(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.advance(5 * 86400 + 13 * 3600 + 50 * 60)  # Sunday 23:50: Bob is on call (weekends), Ann asleep
    c.publish("alert", alert())
    c.pump()
    assert len(c.alerts_to("bob")) == 1 and c.alerts_to("ann") == []
    c.advance(300)  # 23:55: Carol's tier
    c.press("carol", "I'm going")
    c.advance(30 * 60)
    c.advance(300)  # Monday 00:30: Bob is off call now, but was told, and must hear that nobody is going
    assert len(titled(c, "bob", "Mary: no word from Carol Ødegård")) == 1
    c.press("bob", "I'm going")
    (going,) = titled(c, "bob", "Mary: you are going")
    press(c, going, "I can't go after all")  # Bob cannot after all: movement now is not him, and he is spared it
    before = len(c.infos_to("bob"))
    c.publish("alert/mary-inactivity-1/ack", {"who": "sensors", "what": "activity", "note": "Movement again: hall."})
    wait_for(lambda: (c.pump(1), titled(c, "carol", "Mary: movement at home"))[1], 10, "the movement told")
    (moved,) = titled(c, "carol", "Mary: movement at home")
    assert "It may be Mary, or someone there." in moved["message"]
    assert len(c.infos_to("bob")) == before


def test_claims_that_cannot_be_read_at_start_do_not_keep_the_notifier_from_alerting(
    circle, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    def unreadable(self: object) -> list[object]:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(NotifierStore, "unarmed_claims", unreadable)
    c = circle(top="watch_silence: false\n")
    assert "could not time the claims made before" in caplog.text
    c.publish("alert", alert())
    c.pump()
    assert len(c.alerts_to("ann")) == 1


def test_someone_going_before_the_upgrade_is_asked_whether_they_are_there(circle, broker, tmp_path: Path) -> None:
    state = tmp_path / "old"
    db = open_db(state / "notifier.db", MIGRATIONS[:-1])  # as the version before left it: Ann going since 09:00
    going = (("ann", 9, "mary-inactivity-0", ""), ("carol", 9, "mary-inactivity-9", "on scene"))
    for claimed, hour, alert_id, what in (*going, ("bob", 1, "mary-inactivity-8", "")):  # Bob's: 9 h ago
        at = TUESDAY_10.replace(hour=hour).isoformat()
        db.execute(
            "INSERT INTO incidents (alert_id, home, kind, severity, reason, raised_at, received_at, next_index,"
            " next_at, claimed_by, claimed_at) VALUES (?, 'mary', 'inactivity', 'high', 'quiet', ?, ?, 1, ?, ?, ?)",
            (alert_id, at, at, at, claimed, at),
        )
        step = "INSERT INTO steps (alert_id, at, what, member) VALUES (?, ?, ?, ?)"
        for said in ("claimed", what) if what else ("claimed",):
            db.execute(step, (alert_id, at, said, claimed))
    db.close()
    c = Circle(state, broker.port, top="watch_silence: false\n")
    try:
        c.pump()
        (ask,) = titled(c, "ann", "Mary: are you there yet?")
        assert "You said at 09:00 that you were going to Mary" in ask["message"]
        assert titled(c, "carol", "Mary: are you there yet?") == []  # she is there already
        c.advance(3600)
        assert titled(c, "bob", "Mary: are you there yet?") == []  # too long ago to ask now
    finally:
        c.close()


def test_a_release_after_everyone_was_called_calls_them_again(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.publish("alert", alert("mary-help-1", "help", "critical"))
    c.pump()
    c.advance(300)  # the help button reached Ann and Carol at once; the final call follows a step later
    assert len(urgent(c, "carol")) == 1
    c.advance(3600)
    c.press("ann", "I'm going")
    press(c, titled(c, "ann", "Mary: you are going")[0], "I can't go after all")
    assert len(urgent(c, "carol")) == 2 and len(urgent(c, "ann")) == 2  # nobody is left thinking someone goes
    c.advance(3600)
    assert len(urgent(c, "carol")) == 2


# the daily note, with the day a home shares (share_day on the agent)

HALL, DOOR = 17, 27  # conftest's agent_yaml


@pytest.fixture
def day_agents(broker, tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    """Real agents on mock pins (no routine: the day needs none), on the circle's clock and topic tree."""
    made: list[Agent] = []

    def make(base: str, home: str, share: bool, clock: ManualClock) -> Agent:
        text = agent_yaml(broker.port, home, extra_mqtt=f"  base_topic: {base}\n") + "detection: {enabled: false}\n"
        if share:
            text = text.replace("  name: Mary\n", "  name: Mary\n  share_day: true\n", 1)
        made.append(Agent(parse_config(text), Store(tmp_path / f"{home}.db"), clock, MockFactory()))
        made[-1].start()
        wait_for(lambda: (made[-1].pump(), made[-1].connections)[1], 10, "the agent to connect")
        return made[-1]

    yield make
    for agent in made:
        agent.close()
        agent.store.close()


def test_a_home_that_shares_its_day_says_when_mary_got_up_and_was_out(circle, day_agents, recorder) -> None:
    clock = ManualClock(TUESDAY_10.replace(hour=7, minute=0))
    asks = '    name: Ann\n    daily: "19:00"\n'
    ann_asks = lambda t: t.replace("    name: Ann\n", asks, 1)  # noqa: E731
    c = circle(clock=clock, home_extra="    daily_note: true\n", edit=ann_asks, top="watch_silence: false\n")
    statuses = recorder([f"{c.base}/+/status"])
    mary = day_agents(c.base, "mary", True, clock)
    day_agents(c.base, "john", False, clock)  # John did not agree to share his day
    assert not {"up", "out"} & set(statuses.wait(f"{c.base}/john/status"))
    pins = mary.pin_factory
    assert isinstance(pins, MockFactory)
    seen = c.notifier.rhythm.checkins.latest

    def until(hhmm: str) -> None:
        h, m = map(int, hhmm.split(":"))
        clock.advance((clock.now().replace(hour=h, minute=m, second=0) - clock.now()).total_seconds())
        mary.pump()

    def pin(number: int, high: bool) -> None:
        (pins.pin(number).drive_high if high else pins.pin(number).drive_low)()
        mary.pump()
        clock.advance(5)
        mary.pump()

    def heard(check: Any) -> Any:
        """The notifier has taken Mary's status that passes ``check``."""
        return wait_for(lambda: (c.pump(1), "mary" in seen and check(seen["mary"]))[1], 10, "Mary's status")

    pin(DOOR, False)  # the mock pin starts open: shut
    until("07:05")
    pin(HALL, True)  # someone in (the door, then nothing indoors for half an hour, would be going out)
    pin(HALL, False)
    for hhmm in ("07:40", "07:50", "08:00", "08:10"):  # up and about
        until(hhmm)
        pin(HALL, True)
        pin(HALL, False)
    up = statuses.wait(f"{c.base}/mary/status", lambda s: "up" in s)
    assert up["up"].startswith("2026-03-03T07:40") and up["out"] == []
    heard(lambda s: s.up is not None)

    until("10:00")
    pin(DOOR, True)  # out
    pin(DOOR, False)
    until("11:30")
    pin(DOOR, True)  # back
    pin(DOOR, False)
    # While she was out, and until she is seen back in, the status says nothing of it: only the home knew.
    assert mary.status_payload()["out"] == []
    pin(HALL, True)
    back = statuses.wait(f"{c.base}/mary/status", lambda s: bool(s.get("out")))
    assert [[t[:19] for t in pair] for pair in back["out"]] == [["2026-03-03T10:00:05", "2026-03-03T11:30:00"]]
    heard(lambda s: len(s.out) == 1)
    until("19:00")
    c.pump()
    (note,) = [n for n in c.ntfy_server.to(TOPICS["ann"]) if n["title"] == "Mary today"]
    assert note["message"] == (
        "All well at Mary's today: up at 07:40, out 10:00\u201311:30, no alerts today, last movement reported at 11:30."
    )


def test_a_received_pressed_while_the_notifier_was_down_is_read_before_anyone_is_named_silent(
    tmp_path: Path, broker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from circle_driver import SECRET
    from ntfy_fake import FakeNtfy
    from sentinel.notifier.acks import SETTLE_S

    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    ntfy = FakeNtfy()
    first = Circle(tmp_path / "n", broker.port, top=DRILL, ntfy=ntfy)
    first._owns_ntfy = False
    second: Circle | None = None
    try:
        first.pump()  # 10:00: the first drill is planned for 11:00
        first.advance(3600)  # Tuesday 11:00: the drill, to be answered by Wednesday 11:00
        (ann_drill,) = drills(first, "ann")
        first.close()
        pressed = ntfy.press(ann_drill, "Received")  # Ann answers while no notifier runs
        first.clock.advance(DAY + 3600)  # it is back on Wednesday at noon, past her day to answer
        second = Circle(tmp_path / "n", broker.port, top=DRILL, like=first, clock=first.clock)
        second.pump()  # its first rounds, before the button reader has caught up
        assert titled(second, "carol", "Mary's circle:") == []  # nobody is named silent yet
        second.handled(pressed["id"])
        second.advance(SETTLE_S)
        (missed,) = titled(second, "carol", "Mary's circle:")
        assert missed["title"] == "Mary's circle: Bob and Carol Ødegård did not answer the test"  # not Ann: she did
        assert second.store.last_drill("ann").answered_at is not None  # type: ignore[union-attr]
    finally:
        if second is not None:
            second.close()
        ntfy.close()


def test_a_drill_is_judged_when_the_notifier_cannot_read_the_buttons_at_all(circle) -> None:
    from ntfy_fake import FakeNtfy
    from sentinel.demo.ntfy_rules import Access

    c = circle(top=DRILL, ntfy=FakeNtfy(access=Access(default="write-only")))  # a token that may not read
    c.pump()
    c.advance(3600)  # Tuesday 11:00: the drill goes out; the taps cannot come back
    c.advance(DAY - 60)
    assert titled(c, "carol", "Mary's circle:") == []
    c.advance(60)  # Wednesday 11:00, at its time: the buttons have been unreadable for far longer than an hour
    (missed,) = titled(c, "carol", "Mary's circle:")
    assert missed["title"] == "Mary's circle: Ann, Bob and Carol Ødegård did not answer the test"



def test_check_circle_by_a_user_who_cannot_read_the_records_does_not_say_the_notifier_never_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As an ordinary user, /var/lib/sentinel (0700) cannot be read: it said "The notifier has not run yet".
    state = tmp_path / "state"
    monkeypatch.setenv("SENTINEL_ACK_SECRET", "s" * 32)
    config = parse_circle_config(REQUIRED + circle_yaml(1883, "http://127.0.0.1:9", state, "sentinel"), "c.yaml")
    assert "has not run yet" in not_agreed(config, "c.yaml")  # truly none: so it says
    is_file = Path.is_file

    def closed(path: Path) -> bool:  # what an ordinary user meets there (root, as the tests run, reads anything)
        if path.parent == state:
            raise PermissionError(13, "Permission denied", str(path))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", closed)
    said = not_agreed(config, "c.yaml")
    assert "has not run yet" not in said
    assert "which this user cannot read: run check-circle as the service's user (sudo -u sentinel ...)" in said
