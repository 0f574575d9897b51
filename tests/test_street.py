"""A street: one notifier, several homes, residents who watch each other (``lives_at``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from circle_driver import SECRET, TUESDAY_10, Circle, alert, circle_yaml
from conftest import wait_for
from sentinel.cli import main
from sentinel.config import parse_circle_config
from sentinel.config.circle import CircleConfig
from sentinel.errors import ConfigError
from sentinel.notifier import street
from sentinel.notifier.escalation import Progress, walk
from sentinel.notifier.store import NotifierStore

# Ann is watched (home 'ann', by Carol) and watches Mary (member 'ann', who lives at home 'ann').
ANN_HOME = """\
  - id: ann
    name: Ann
    tiers: [[carol]]
    step: 5m
    rounds: 1
"""


def lives_at_ann(text: str) -> str:
    return text.replace("    name: Ann\n", "    name: Ann\n    lives_at: ann\n", 1)


def street_config(edit: Any = lives_at_ann, home: str = ANN_HOME) -> CircleConfig:
    text = edit(circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/street"), "t", home_extra=home))
    return parse_circle_config(text, "circle.yaml", check_secrets=False)


def about(notes: list[dict[str, Any]], alert_id: str) -> list[dict[str, Any]]:
    """The notes with buttons about ``alert_id``."""
    return [
        n for n in notes if any(json.loads(a.get("body") or "{}").get("alert_id") == alert_id for a in n["actions"])
    ]


def ann_alert(alert_id: str = "ann-inactivity-1") -> dict[str, Any]:
    return {**alert(alert_id), "home": "ann", "reason": "No sign of activity at Ann's since 08:00."}


def test_mary_s_alert_skips_ann_while_ann_s_own_alarm_is_open(circle, tmp_path: Path, capsys, monkeypatch) -> None:
    c: Circle = circle(edit=lives_at_ann, home_extra=ANN_HOME, top="watch_silence: false\n")
    assert c.config.member("ann").lives_at == "ann"
    c.agent.publish(f"{c.base}/ann/alert", json.dumps(ann_alert()), qos=1).wait_for_publish(5)
    wait_for(lambda: c.store.incident("ann-inactivity-1") is not None, 5, "Ann's alert to arrive")
    c.pump()
    assert len(about(c.alerts_to("carol"), "ann-inactivity-1")) == 1  # Ann's own alert goes to her circle
    assert c.alerts_to("ann") == []  # and never to Ann as a helper

    c.publish("alert", alert("mary-inactivity-1"))
    c.pump()
    # Tuesday 10:00: Ann would be first (Bob is on call at weekends only), but her own alarm is open:
    # her tier is empty, so Carol's step comes at once.
    assert about(c.alerts_to("ann"), "mary-inactivity-1") == []
    assert len(about(c.alerts_to("carol"), "mary-inactivity-1")) == 1
    told = [(what, detail) for _, what, _, detail in c.store.steps("mary-inactivity-1") if what.startswith("step")]
    assert told == [("step 2", "carol (ann: needs help at home, not asked)")]
    c.advance(300)  # the final call passes over Ann too
    assert about(c.alerts_to("ann"), "mary-inactivity-1") == []
    assert any(n["priority"] == 5 for n in about(c.alerts_to("carol"), "mary-inactivity-1"))

    # `sentinel incidents` says why Ann was not asked.
    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    monkeypatch.delenv("SENTINEL_ACK_SECRET")
    assert main(["incidents", "-c", str(config), "mary-inactivity-1"]) == 0
    assert "ann: needs help at home, not asked" in capsys.readouterr().out
    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)

    # Ann's alarm closes (she pressed "I'm OK" at home): she is asked again for Mary's next alert.
    ack = {"who": "resident", "what": "cancel", "note": "Ann pressed I'm OK"}
    c.agent.publish(f"{c.base}/ann/alert/ann-inactivity-1/ack", json.dumps(ack), qos=1).wait_for_publish(5)
    wait_for(lambda: (c.pump(1), c.store.is_closed("ann-inactivity-1"))[1], 5, "Ann's alert to close")
    c.publish("alert", alert("mary-inactivity-2"))
    c.pump()
    assert len(about(c.alerts_to("ann"), "mary-inactivity-2")) == 1
    assert about(c.alerts_to("carol"), "mary-inactivity-2") == []  # Ann's step is waited for, as before
    told = [detail for _, what, _, detail in c.store.steps("mary-inactivity-2") if what == "step 1"]
    assert told == ["ann"]


def test_the_escalation_rule_passes_over_the_troubled() -> None:
    """Pure: a member in trouble at home is skipped like an away one, unless nobody else can be asked."""
    cfg = street_config()
    mary = cfg.homes[0]
    at = TUESDAY_10
    start = Progress(0, at)
    ann = frozenset({"ann"})

    assert walk(cfg, mary, "high", start, at).audience == ("ann",)  # nobody in trouble: as before
    taken = walk(cfg, mary, "high", start, at, None, ann)
    assert taken.step is not None and taken.step.index == 1 and taken.audience == ("carol",)
    assert taken.passed_over == ("ann",) and taken.leaned_on == ()
    assert taken.progress.next_index == 2
    assert (taken.progress.next_at - at).total_seconds() == 300  # Carol's step is waited for
    urgent = walk(cfg, mary, "critical", start, at, None, ann)  # the help button: everyone available but Ann
    assert urgent.audience == ("carol",) and urgent.passed_over == ("ann",)
    # Consent: Ann agreed, Carol has not. Ann in trouble is no reason to race past Carol's step.
    assert (walk(cfg, mary, "high", start, at, frozenset({"ann"}), ann).progress.next_at - at).total_seconds() == 300

    # Everyone who could be asked is in trouble at home: they are told as before, never nobody.
    both = frozenset({"ann", "carol"})
    leaned = walk(cfg, mary, "high", start, at, None, both)
    assert leaned.audience == ("ann",) and leaned.leaned_on == ("ann",) and leaned.passed_over == ()
    # Carol away and Ann in trouble: Ann is told (Bob is off call).
    carol_away = '    away_until: "2099-01-01"\n    name: Carol'
    away = street_config(lambda t: lives_at_ann(t).replace("    name: Carol", carol_away))
    assert walk(away, away.homes[0], "high", start, at, None, ann).audience == ("ann",)
    # Everyone away: the tiers' steps are skipped, and the final call goes to them all the same.
    gone = street_config(lambda t: t.replace("    topic:", '    away_until: "2099-01-01"\n    topic:'))
    final = walk(gone, gone.homes[0], "high", start, at, None, ann)
    assert final.step is not None and final.step.final and final.audience == final.despite_away != ()


def test_who_is_in_trouble_comes_from_the_open_incidents(tmp_path: Path) -> None:
    """Any open incident at the home counts, a low follow-up too; a closed one does not."""
    cfg = street_config()
    store = NotifierStore(tmp_path / "notifier.db")
    try:
        assert street.troubled(cfg, store) == frozenset()
        store.open_incident(alert("mary-inactivity-1"), "mary", TUESDAY_10)
        assert street.troubled(cfg, store) == frozenset()  # nobody lives at Mary's
        follow_up = {**alert("ann-inactivity-1-follow-up", "follow_up", "low"), "home": "ann"}
        store.open_incident(follow_up, "ann", TUESDAY_10)
        assert street.troubled(cfg, store) == frozenset({"ann"})
        store.close_incident("ann-inactivity-1-follow-up", "Carol", "fine", TUESDAY_10)
        assert street.troubled(cfg, store) == frozenset()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("    name: Ann\n", "    name: Ann\n    lives_at: anne\n", 1),
            "members[0].lives_at: 'anne' is not a home here (homes: mary, ann)",
        ),
        (
            lambda t: t.replace("    name: Carol Ødegård\n", "    name: Carol Ødegård\n    lives_at: ann\n", 1),
            "members[2].lives_at: 'carol' is in 'ann''s own tiers or kit: a resident is not their own helper",
        ),
    ],
)
def test_check_circle_names_a_wrong_lives_at_by_its_line(edit: Any, expected: str) -> None:
    text = circle_yaml(1883, "https://ntfy.example.org", Path("/tmp/street"), "t", home_extra=ANN_HOME)
    changed = edit(text)
    line = next(i for i, ln in enumerate(changed.splitlines(), 1) if ln.strip().startswith("lives_at:"))
    with pytest.raises(ConfigError) as info:
        parse_circle_config(changed, "circle.yaml", check_secrets=False)
    assert f"circle.yaml:{line}: {expected}" in "\n".join(info.value.issues)


def test_a_lone_home_needs_no_lives_at() -> None:
    assert all(m.lives_at is None for m in street_config(str, "").members)
    assert street_config().homes[1].tiers == [["carol"]]


def test_who_else_can_help_leaves_out_whoever_has_their_own_alarm_open() -> None:
    """The alert's 'who else can help' line never counts on a member whose own home has an alarm open."""
    from sentinel.notifier.capabilities import helpers_line

    key = '    key: true\n    minutes_away: 2\n    name: Ann'
    cfg = street_config(lambda t: lives_at_ann(t).replace("    name: Ann", key, 1))
    mary = cfg.homes[0]
    assert helpers_line(cfg, mary, "carol", TUESDAY_10).startswith("Ann ")  # she has a key and is near
    assert "Ann" not in helpers_line(cfg, mary, "carol", TUESDAY_10, frozenset({"ann"}))
