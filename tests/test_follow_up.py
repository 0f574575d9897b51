"""After and around an incident: following up, on scene, who can do what, the last resort, the whole story.

End to end against the real broker and the ntfy stand-in, on an injected clock: every button is pressed through
ntfy as a phone would, and forgeries and replays are refused and recorded on the incident.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from circle_driver import TOPICS, Circle, alert
from ntfy_fake import FakeNtfy
from sentinel.cli import main

ACK_TOPIC = "sentinel-acks-test-0001"
FOLLOW = 'follow_up: {at: "09:00"}\nwatch_silence: false\n'
HOUR = 3600


def titled(c: Circle, member: str, start: str) -> list[dict[str, Any]]:
    return [n for n in c.ntfy_server.to(TOPICS[member]) if n["title"].startswith(start)]


def press(c: Circle, note: dict[str, Any], label: str) -> None:
    c.handled(c.ntfy_server.press(note, label)["id"])


def post(c: Circle, body: dict[str, Any]) -> None:
    """Post to the ack topic as anyone who can read a notification could."""
    c.handled(c.ntfy_server.store(ACK_TOPIC, json.dumps(body), {})["id"])


def body_of(note: dict[str, Any], label: str) -> dict[str, Any]:
    return json.loads(next(a for a in note["actions"] if a["label"] == label)["body"])


def record(c: Circle, alert_id: str, what: str) -> list[tuple[str | None, str]]:
    return [(member, detail) for _, w, member, detail in c.store.steps(alert_id) if w == what]


def went_and_closed(c: Circle, alert_id: str = "mary-inactivity-1") -> None:
    """Ann is told at 10:00, Carol at 10:05; Ann goes, is there, is with Mary, and says all is well."""
    c.publish("alert", alert(alert_id))
    c.pump()
    c.advance(300)
    c.press("ann", "I'm going")
    (going,) = titled(c, "ann", "Mary: you are going")
    press(c, going, "I'm there")
    press(c, going, "With Mary")
    (with_mary,) = titled(c, "ann", "Mary: you are with them")
    press(c, with_mary, "All OK")


def test_the_one_who_went_says_there_and_with_mary_and_the_others_see_it(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.publish("alert", alert())
    c.pump()
    c.advance(300)
    c.press("ann", "I'm going")
    (going,) = titled(c, "ann", "Mary: you are going")
    assert [a["label"] for a in going["actions"]] == ["I'm there", "With Mary", "I can't go after all"]
    assert len(json.dumps(going)) < 4096

    # Someone reading the ack topic passes Ann's button off as Carol's, or replays it: refused, recorded.
    there = body_of(going, "I'm there")
    post(c, {**there, "member": "carol"})
    press(c, going, "I'm there")
    press(c, going, "I'm there")
    assert record(c, "mary-inactivity-1", "on scene") == [("ann", "")]
    assert record(c, "mary-inactivity-1", "refused") == [
        ("carol", "on_scene: forged token"),
        ("ann", "on_scene: replayed token"),
    ]
    assert [n["message"] for n in titled(c, "carol", "Mary: Ann is there")] == ["Ann has arrived at Mary's."]

    press(c, going, "With Mary")
    assert [n["message"] for n in titled(c, "carol", "Mary: Ann is with them")] == ["Ann is with Mary."]
    (with_mary,) = titled(c, "ann", "Mary: you are with them")
    assert [a["label"] for a in with_mary["actions"]] == ["All OK"]
    press(c, with_mary, "All OK")
    assert c.store.is_closed("mary-inactivity-1")
    assert titled(c, "carol", "Mary: all clear")[-1]["message"] == "Ann is with Mary: all is well."


def test_only_the_one_going_can_say_they_are_there(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.publish("alert", alert())
    c.pump()
    c.press("ann", "I'm going")
    (going,) = titled(c, "ann", "Mary: you are going")
    press(c, going, "I can't go after all")
    press(c, going, "I'm there")  # a genuine, unused button, but Ann is no longer going
    assert record(c, "mary-inactivity-1", "on scene") == []
    assert record(c, "mary-inactivity-1", "refused") == [("ann", "on_scene: not the one going")]


def test_the_one_who_went_is_asked_the_next_morning_and_the_circle_hears_the_answer(circle) -> None:
    c = circle(top=FOLLOW)
    went_and_closed(c)
    (planned,) = record(c, "mary-inactivity-1", "follow-up planned")
    assert planned == ("ann", "Wed 04 Mar 09:00")

    c.advance(22 * HOUR + 54 * 60)  # Wednesday 08:59
    assert not titled(c, "ann", "How is Mary today?")
    follow = c.store.follow_up_of("mary-inactivity-1")
    assert follow is not None and follow.asked_at is None
    c.advance(60)
    (ask,) = titled(c, "ann", "How is Mary today?")
    assert [a["label"] for a in ask["actions"]] == ["Fine", "Needs help", "Call me"]
    assert len(ask["actions"]) <= 3 and len(json.dumps(ask)) < 4096
    assert "After yesterday's alert (unusually quiet), how is Mary today?" in ask["message"]

    # Forgeries: Ann's 'Fine' as Carol's, or turned into 'Needs help'; then the genuine press, and its replay.
    fine = body_of(ask, "Fine")
    post(c, {**fine, "member": "carol"})
    post(c, {**fine, "action": "needs_help"})
    press(c, ask, "Fine")
    press(c, ask, "Fine")
    follow = c.store.follow_up_of("mary-inactivity-1")
    assert follow is not None and follow.answer == "fine"
    assert [d for _, d in record(c, "mary-inactivity-1", "refused")] == [
        "fine: forged token",
        "needs_help: forged token",
        "fine: replayed token",
    ]
    assert [n["message"] for n in titled(c, "carol", "How Mary is today")] == ["Mary is fine today, says Ann."]
    assert not titled(c, "ann", "How Mary is today")  # she said it
    # A second answer with a fresh button of the same question is refused too: one answer per incident.
    press(c, ask, "Call me")
    assert record(c, "mary-inactivity-1", "refused")[-1] == ("ann", "call_me: already answered")
    assert not titled(c, "carol", "Mary: Ann asks for a call")


def call_asked(c: Circle) -> dict[str, Any]:
    """Ann went, and the next morning taps 'Call me': what Carol, a keeper, gets."""
    went_and_closed(c)
    c.advance(23 * HOUR)
    (ask,) = titled(c, "ann", "How is Mary today?")
    press(c, ask, "Call me")
    (call,) = titled(c, "carol", "Mary: Ann asks for a call")
    return call


def test_call_me_asks_the_keepers_and_those_told_to_ring(circle) -> None:
    c = circle(top=FOLLOW)
    call = call_asked(c)
    assert call["message"] == "Ann would like a call about how Mary is today."
    assert not c.store.incident("mary-inactivity-1-follow-up")


def test_call_me_gives_the_number_to_dial_when_the_circle_has_it(circle) -> None:
    ann = "    topic: mary-ann-topic-0001\n"
    c = circle(top=FOLLOW, edit=lambda t: t.replace(ann, ann + "    phone: '+44 7700 900123'\n"))
    call = call_asked(c)
    assert call["message"] == "Ann would like a call about how Mary is today. Ann's number: +44 7700 900123."
    assert call["actions"] == [{"action": "view", "label": "Call Ann", "url": "tel:+447700900123"}]


def test_needs_help_opens_a_low_follow_up_that_waits_out_quiet_hours(circle) -> None:
    # Carol sleeps too: at night nobody can be asked, and the follow-up waits for the morning.
    quiet = '    quiet_hours: {start: "22:00", end: "07:00"}\n'
    carol = "    topic: mary-carol-topic-03\n"
    c = circle(top=FOLLOW, edit=lambda t: t.replace(carol, carol + quiet))
    went_and_closed(c)
    c.advance(23 * HOUR)  # Wednesday 09:05: asked
    (ask,) = titled(c, "ann", "How is Mary today?")
    c.advance(14 * HOUR)  # Wednesday 23:05
    press(c, ask, "Needs help")
    assert [n["message"] for n in titled(c, "carol", "How Mary is today")] == [
        "Ann says Mary needs some help today: can you help?"
    ]
    follow = c.store.incident("mary-inactivity-1-follow-up")
    assert follow is not None and (follow.kind, follow.severity) == ("follow_up", "low")
    assert record(c, "mary-inactivity-1", "follow-up opened") == [(None, "mary-inactivity-1-follow-up")]
    c.advance(7 * HOUR)  # Thursday 06:05: still night for both
    assert not titled(c, "carol", "Mary: needs some help today")
    assert not titled(c, "ann", "Mary: needs some help today")
    assert [what for _, what, _, _ in c.store.steps(follow.alert_id)][-1] == "waiting"
    c.advance(HOUR)  # 07:05: the morning
    (asked,) = titled(c, "ann", "Mary: needs some help today")
    assert asked["priority"] == 2 and "Ann says Mary needs some help today" in asked["message"]
    c.advance(300)
    (carol,) = titled(c, "carol", "Mary: needs some help today")
    press(c, carol, "I'm going")
    assert c.store.incident(follow.alert_id).claimed_by == "carol"  # type: ignore[union-attr]
    (going,) = titled(c, "carol", "Mary: you are going")
    c.advance(3 * HOUR)  # helping some time today is no race against the clock: nobody asks whether she is there
    assert not titled(c, "carol", "Mary: are you there yet?")
    assert c.store.incident(follow.alert_id).claimed_by == "carol"  # type: ignore[union-attr]
    press(c, going, "With Mary")
    press(c, titled(c, "carol", "Mary: you are with them")[0], "All OK")
    assert c.store.is_closed(follow.alert_id)
    assert c.store.follow_up_of(follow.alert_id) is None  # a follow-up is not followed up


def test_needs_help_asks_those_awake_at_once_and_passes_by_those_in_their_quiet_hours(circle) -> None:
    # Bob works nights: asleep 07:00-22:00, while Ann, in the same tier, is up.
    bob = '    on_call: [{days: [sat, sun], start: "00:00", end: "24:00"}]\n'
    c = circle(top=FOLLOW, edit=lambda t: t.replace(bob, '    quiet_hours: {start: "07:00", end: "22:00"}\n'))
    went_and_closed(c)
    c.advance(23 * HOUR)  # Wednesday 09:05
    (ask,) = titled(c, "ann", "How is Mary today?")
    c.advance(HOUR)  # 10:05
    press(c, ask, "Needs help")
    c.pump()
    assert len(titled(c, "ann", "Mary: needs some help today")) == 1  # at once: Bob's sleep holds nobody back
    for _ in range(12):  # the other steps and the final call go by, half an hour at a time
        c.advance(1800)
    assert len(titled(c, "carol", "Mary: needs some help today")) >= 1
    # Helping some time today is no reason to wake anyone: Bob is not asked while others can be (circle.md).
    assert not titled(c, "bob", "Mary: needs some help today")


def test_the_morning_question_waits_for_the_end_of_the_quiet_hours_of_the_one_asked(circle) -> None:
    c = circle(top=FOLLOW.replace("09:00", "06:30"))  # Ann's quiet hours end at 07:00
    went_and_closed(c)
    assert record(c, "mary-inactivity-1", "follow-up planned") == [("ann", "Wed 04 Mar 07:00")]
    c.advance(20 * HOUR + 50 * 60)  # Wednesday 06:55: asleep still
    assert not titled(c, "ann", "How is Mary today?")
    c.advance(10 * 60)  # 07:05
    assert len(titled(c, "ann", "How is Mary today?")) == 1


def test_follow_ups_are_off_unless_asked_for(circle) -> None:
    c = circle(top="watch_silence: false\n")
    went_and_closed(c)
    c.advance(2 * 24 * HOUR)
    assert c.store.follow_up_of("mary-inactivity-1") is None
    assert not titled(c, "ann", "How is Mary today?")


CAPABLE = {
    "    topic: mary-ann-topic-0001\n": "    topic: mary-ann-topic-0001\n    key: true\n    minutes_away: 2\n",
    "    topic: mary-carol-topic-03\n": "    topic: mary-carol-topic-03\n    first_aid: true\n    car: true\n",
}


def capable(text: str) -> str:
    for old, new in CAPABLE.items():
        text = text.replace(old, new)
    return text


def test_each_alert_says_who_else_holds_a_key_or_is_near(circle) -> None:
    c = circle(top="watch_silence: false\n", edit=capable)
    c.publish("alert", alert())
    c.pump()
    c.advance(300)
    (ann,) = c.alerts_to("ann")
    (carol,) = c.alerts_to("carol")
    assert carol["message"].endswith("\nAnn has a key and is 2 min away.")
    assert ann["message"].endswith("\nCarol Ødegård knows first aid and has a car.")
    assert "Bob" not in carol["message"]  # nothing said of him: nothing to say
    assert len(carol["message"].encode()) < 4096


LAST = '    last_resort: {email: [tom@example.org, sue@example.org], call: "999"}\n'


def test_nobody_going_after_the_final_call_e_mails_the_last_resort(circle) -> None:
    c = circle(top="watch_silence: false\n", home_extra=LAST)
    c.publish("alert", alert())
    c.pump()
    c.advance(300)
    c.advance(300)  # the final call, the loudest: it says what to do
    urgent = titled(c, "carol", "URGENT, nobody is going yet.")[-1]
    assert "If you cannot reach Mary, call 999." in urgent["message"] and urgent["priority"] == 5
    c.advance(299)
    assert c.ntfy_server.emails == []
    c.advance(1)
    assert [e["to"] for e in c.ntfy_server.emails] == ["tom@example.org", "sue@example.org"]
    assert "call 999" in c.ntfy_server.emails[0]["message"]
    assert record(c, "mary-inactivity-1", "last resort") == [
        (None, "nobody is going: e-mailing tom@example.org, sue@example.org")
    ]
    receipts = titled(c, "carol", "Mary: nobody is going, please check on them")  # Carol keeps the kit
    assert [r["email"] for r in receipts] == ["tom@example.org", "sue@example.org"]  # its copy, as a receipt
    c.advance(3 * HOUR)
    assert len(c.ntfy_server.emails) == 2  # once per incident

    # A claim after the final call stops the last resort.
    c.publish("alert", alert("mary-inactivity-2"))
    c.pump()
    c.advance(300)
    c.advance(300)
    c.press("carol", "I'm going")
    c.advance(3 * HOUR)
    assert len(c.ntfy_server.emails) == 2 and record(c, "mary-inactivity-2", "last resort") == []


def test_a_server_without_e_mail_refuses_it_and_the_record_says_so(circle) -> None:
    c = circle(top="watch_silence: false\n", home_extra=LAST, ntfy=FakeNtfy(smtp=False))  # closed with it
    c.publish("alert", alert())
    c.pump()
    for _ in range(3):
        c.advance(300)
    assert c.ntfy_server.emails == []
    failed = [(w, d) for _, w, _, d in c.store.steps("mary-inactivity-1") if w.startswith("failed")]
    assert len(failed) == 2 and all("e-mail notifications are not enabled" in d for _, d in failed), failed
    # The keeper's loud push goes all the same, without the e-mail, and says it was not sent.
    pushes = titled(c, "carol", "Mary: nobody is going, please check on them")
    assert [p["priority"] for p in pushes] == [5, 5] and not any("email" in p for p in pushes)
    assert [p["message"].rsplit(" 999. ", 1)[-1] for p in pushes] == [
        f"The e-mail to {who} was not sent (ntfy cannot send e-mail)." for who in ("tom@example.org", "sue@example.org")
    ]


def test_incidents_tells_the_whole_story(circle, tmp_path: Path, capsys, monkeypatch) -> None:
    c = circle(top=FOLLOW)
    went_and_closed(c)
    c.advance(23 * HOUR)
    press(c, titled(c, "ann", "How is Mary today?")[0], "Fine")
    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    monkeypatch.delenv("SENTINEL_ACK_SECRET")
    assert main(["incidents", "-c", str(config), "mary-inactivity-1"]) == 0
    out = capsys.readouterr().out
    assert "  Raised:      Tue 03 Mar 10:00 (received 10:00)" in out
    assert "  Told:        ann at 10:00; carol at 10:05" in out
    assert "  Going:       ann at 10:05" in out
    assert "  There:       ann on scene at 10:05, ann with at 10:05" in out
    assert "  Closed:      Tue 03 Mar 10:05 by Ann: Ann is with Mary: all is well." in out
    assert "  Follow-up:   ann answered Wed 09:05: Mary is fine today, says Ann." in out
    assert "  Record:" in out and "follow-up asked ann" in out


def test_quiet_hours_to_24_00_let_the_all_clear_close_the_incident(circle) -> None:
    # Ann wants only the help button, at any hour: quiet hours from 00:00 to 24:00, which the config takes.
    # Before: working out when they end failed ("hour must be in 0..23"), her all clear was skipped, the
    # incident stayed open and Carol was never told.
    c = circle(
        top=FOLLOW,
        edit=lambda t: t.replace(
            'quiet_hours: {start: "22:00", end: "07:00"}', 'quiet_hours: {start: "00:00", end: "24:00"}'
        ),
    )
    went_and_closed(c)
    assert record(c, "mary-inactivity-1", "resolved")
    incident = c.store.incident("mary-inactivity-1")
    assert incident is not None and incident.closed_at is not None
    assert titled(c, "carol", "Mary: all clear")
    # Quiet at every hour, she is asked the next morning as planned: her quiet hours never end to wait for.
    assert record(c, "mary-inactivity-1", "follow-up planned") == [("ann", "Wed 04 Mar 09:00")]
