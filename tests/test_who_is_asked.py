"""Who is asked: not one who said "I can't go" before the final call; with first_tier: nearest, the best first."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from circle_driver import TOPICS, TUESDAY_10, Circle, alert, circle_yaml
from sentinel.config import parse_circle_config
from sentinel.notifier import messages
from sentinel.notifier.capabilities import nearest
from sentinel.notifier.escalation import Progress, walk

ALERT = "mary-inactivity-1"


def titled(c: Circle, member: str, start: str) -> list[dict[str, Any]]:
    return [n for n in c.ntfy_server.to(TOPICS[member]) if n["title"].startswith(start)]


def whats(c: Circle, member: str) -> list[str]:
    return [w for _, w, m, _ in c.store.steps(ALERT) if m == member]


def test_when_everyone_told_cannot_go_the_next_tier_is_asked_at_once_and_not_them_again(circle) -> None:
    c = circle(top="watch_silence: false\n", edit=lambda t: t.replace("rounds: 1", "rounds: 2"))
    c.publish("alert", alert())
    c.pump()
    (first,) = c.alerts_to("ann")  # Tuesday: Bob is only on call at weekends
    assert [a["label"] for a in first["actions"]] == ["I'm going", "I called, all OK", "I can't go"]
    c.press("ann", "I can't go")
    (thanks,) = titled(c, "ann", "Mary: thank you")
    assert thanks["message"] == "The others are being asked. Thank you for saying so."
    assert len(c.alerts_to("carol")) == 1  # at once, not five minutes later
    assert [w for w in whats(c, "ann") if w != "sent"] == ["declined"]

    c.advance(300)  # the second round: Ann said she cannot go, so only Carol is reminded
    assert len(c.alerts_to("ann")) == 1 and len(c.alerts_to("carol")) == 2
    c.advance(300)  # the final call reaches everyone, Ann too: by now she may be able to do something
    finals = [n for n in c.alerts_to("ann") + c.alerts_to("carol") if n["priority"] == 5]
    assert len(finals) == 2


def test_one_who_can_still_go_is_waited_for_and_a_press_after_the_all_clear_changes_nothing(circle) -> None:
    c = circle(top="watch_silence: false\n", start=datetime(2026, 3, 7, 12, 0).astimezone())  # a Saturday
    c.publish("alert", alert())
    c.pump()
    assert len(c.alerts_to("ann")) == len(c.alerts_to("bob")) == 1  # Saturday: Bob is on call
    c.press("ann", "I can't go")
    c.pump()
    assert c.alerts_to("carol") == []  # Bob may still go: his step is waited for
    c.advance(299)
    assert c.alerts_to("carol") == []
    c.press("bob", "I called, all OK")
    c.press("bob", "I can't go")
    assert whats(c, "bob")[-1] == "refused"
    refused = [d for _, w, m, d in c.store.steps(ALERT) if w == "refused"]
    assert refused == ["decline: already resolved"]


def test_the_one_going_who_presses_i_cant_go_on_the_alert_releases_it(circle) -> None:
    c = circle(top="watch_silence: false\n")
    c.publish("alert", alert())
    c.pump()
    c.press("ann", "I'm going")
    c.press("ann", "I can't go")
    incident = c.store.incident(ALERT)
    assert incident is not None and incident.claimed_by is None
    assert [w for w in whats(c, "ann") if w in ("claimed", "released", "declined")] == ["claimed", "released"]


def test_first_tier_nearest_asks_the_best_placed_member_alone_first(circle) -> None:
    carol = "    name: Carol Ødegård\n"
    c = circle(
        top="watch_silence: false\n",
        edit=lambda t: t.replace(carol, carol + "    key: true\n    minutes_away: 2\n").replace(
            "    rounds: 1\n", "    rounds: 1\n    first_tier: nearest\n"
        ),
    )
    c.publish("alert", alert())
    c.pump()
    assert len(c.alerts_to("carol")) == 1 and c.alerts_to("ann") == []  # the key holder nearby, alone
    c.advance(300)
    assert len(c.alerts_to("ann")) == 1 and len(c.alerts_to("carol")) == 1  # then the tiers, without her
    c.advance(300)
    finals = [n for n in c.alerts_to("ann") + c.alerts_to("carol") if n["priority"] == 5]
    assert len(finals) == 2


SATURDAY = datetime(2026, 3, 7, 12, 0).astimezone()  # Ann, Bob (on call at weekends) and Carol can all be asked


def walked(
    agreed: frozenset[str] | None, troubled: frozenset[str], declined: frozenset[str], index: int = 0
) -> tuple[tuple[str, ...], float]:
    text = circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/x"), "t")
    cfg = parse_circle_config(text.replace("[[ann, bob], [carol]]", "[[ann, bob]]"), check_secrets=False)
    home = cfg.homes[0]
    taken = walk(cfg, home, "high", Progress(index, SATURDAY), SATURDAY, agreed, troubled, declined)
    return taken.audience, (taken.progress.next_at - SATURDAY).total_seconds()


def test_one_whose_own_alarm_is_open_is_asked_when_the_only_other_said_they_cannot_go() -> None:
    assert walked(None, frozenset({"ann"}), frozenset()) == (("bob",), 300)  # Ann is passed over while Bob can go
    assert walked(None, frozenset({"ann"}), frozenset({"bob"})) == (("ann",), 300)  # never nobody


def test_one_who_said_they_cannot_go_is_not_counted_on_as_having_agreed() -> None:
    # Ann agreed and said she cannot go; Bob has not agreed: his step is waited for, not skipped in a second.
    assert walked(frozenset({"ann"}), frozenset(), frozenset({"ann"})) == (("bob",), 300)


def test_a_call_asked_for_by_someone_no_longer_in_the_circle_is_still_passed_on() -> None:
    home = parse_circle_config(circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/x"), "t"), check_secrets=False)
    note = messages.call_me_note(home.homes[0], None, "Dora", "Dora would like a call about how Mary is today.")
    assert note["title"] == "Mary: Dora asks for a call" and note["actions"] == []


def test_first_tier_nearest_without_a_key_or_a_distance_keeps_the_tiers_as_written() -> None:
    text = circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/x"), "t")
    nearest_first = text.replace("    rounds: 1\n", "    rounds: 1\n    first_tier: nearest\n")
    cfg = parse_circle_config(nearest_first, check_secrets=False)
    assert nearest(cfg, cfg.homes[0]) is None  # nothing says who is nearer: nobody is asked alone first


def final_call(edit=str, when: datetime = TUESDAY_10) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """Who is told, from the start of a help press's walk: the audience, who of it only as nobody else could be."""
    text = edit(circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/x"), "t"))
    cfg = parse_circle_config(text, check_secrets=False)
    taken = walk(cfg, cfg.homes[0], "high", Progress(2, when), when)  # steps 0 and 1 are the tiers; 2 the final
    assert taken.step is not None
    return taken.audience, taken.despite_away, taken.step.final


def test_the_final_call_reaches_those_off_call_too() -> None:
    # Tuesday: Bob is on call only at weekends. The final call is the loudest, to everyone who is not away.
    assert final_call() == (("ann", "bob", "carol"), (), True)


def test_with_everyone_away_a_call_for_help_still_reaches_the_circle() -> None:
    def away(text: str) -> str:
        return text.replace("    name: Ann\n", "    name: Ann\n    away_until: 2099-01-01\n").replace(
            "    name: Bob\n", "    name: Bob\n    away_until: 2099-01-01\n"
        )

    assert final_call(away) == (("carol",), (), True)  # Carol is not away: only she
    def everyone(text: str) -> str:
        carol = "    name: Carol Ødegård\n"
        return away(text).replace(carol, carol + "    away_until: 2099-01-01\n")

    # Before: nobody was told, and only the log and the incident's record said so.
    assert final_call(everyone) == (("ann", "bob", "carol"), ("ann", "bob", "carol"), True)
