"""The notifier against a real Mosquitto and a recording ntfy stand-in, with an injected clock."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from circle_driver import TOPICS, Circle, alert, circle_yaml
from conftest import Recorder, wait_for
from sentinel.cli import main


def test_the_full_escalation_with_claim_and_resolve(circle, recorder) -> None:
    c = circle()
    agent_acks: Recorder = recorder([f"{c.base}/mary/alert/+/ack"])
    c.publish("alert", alert())
    c.pump()
    # Tuesday: Ann is there, Bob is only on call at weekends.
    first = c.alerts_to("ann")
    assert len(first) == 1 and c.alerts_to("bob") == [] and c.alerts_to("carol") == []
    note = first[0]
    assert note["title"] == "Mary: unusually quiet" and note["priority"] == 4 and note["tags"] == ["warning"]
    assert note["message"] == "No sign of activity since 08:10 (1 h 50 min)."
    assert [a["label"] for a in note["actions"]] == ["I'm going", "I called, all OK", "I can't go"]

    c.advance(299)
    assert c.alerts_to("carol") == []
    c.advance(1)
    assert len(c.alerts_to("carol")) == 1  # the next tier, exactly one step later

    c.press("carol", "I'm going")
    assert c.infos_to("ann")[-1]["title"] == "Mary: Carol Ødegård is going"
    acks = f"{c.base}/mary/alert/mary-inactivity-1/ack"
    received = agent_acks.wait(acks)  # first: the notifier has it (the agent sends it again until then)
    assert (received["what"], received["source"]) == ("received", "notifier")
    claim = agent_acks.wait(acks, lambda m: m["what"] == "claim")
    assert claim["who"] == "Carol Ødegård" and claim["source"] == "notifier"
    c.advance(3600)
    assert len(c.alerts_to("ann")) == 1 and len(c.alerts_to("carol")) == 1  # the claim stopped the escalation

    c.press("carol", "I called, all OK")
    assert c.infos_to("ann")[-1]["title"] == "Mary: all clear"
    resolved = agent_acks.wait(f"{c.base}/mary/alert/mary-inactivity-1/ack", lambda b: b["what"] == "resolve")
    assert resolved["who"] == "Carol Ødegård"
    incident = c.store.incident("mary-inactivity-1")
    assert incident is not None and incident.closed_by == "Carol Ødegård"
    whats = [what for _, what, _, _ in c.store.steps("mary-inactivity-1")]
    assert whats[:3] == ["received", "step 1", "sent"]
    assert "claimed" in whats and whats[-1] in ("resolved", "sent")


def test_nobody_answers_then_the_final_call_to_everyone(circle) -> None:
    c = circle(start=datetime(2026, 3, 7, 23, 30).astimezone())  # a Saturday night
    c.publish("alert", alert())
    c.pump()
    # Ann is in quiet hours; Bob is on call at weekends.
    assert c.alerts_to("ann") == [] and len(c.alerts_to("bob")) == 1
    c.advance(300)
    assert len(c.alerts_to("carol")) == 1
    c.advance(300)
    finals = [n for n in c.alerts_to("ann") + c.alerts_to("bob") + c.alerts_to("carol") if n["priority"] == 5]
    assert len(finals) == 3  # the final call breaks quiet hours
    assert all(n["title"].startswith("URGENT, nobody is going yet.") for n in finals)
    c.advance(3600)
    assert sum(len(c.alerts_to(m)) for m in TOPICS) == 5  # and then it stays open, without repeating
    assert c.store.incident("mary-inactivity-1").closed_at is None  # type: ignore[union-attr]


def test_the_help_button_reaches_everyone_available_at_once(circle) -> None:
    c = circle(start=datetime(2026, 3, 3, 23, 0).astimezone())  # Tuesday night: Ann in quiet hours
    c.publish("alert", alert("mary-help-1", "help", "critical"))
    c.pump()
    assert len(c.alerts_to("ann")) == 1 and len(c.alerts_to("carol")) == 1  # urgent breaks quiet hours
    assert c.alerts_to("bob") == []  # not on call
    assert c.alerts_to("ann")[0]["priority"] == 5 and c.alerts_to("ann")[0]["tags"] == ["sos"]


def test_a_redelivered_alert_is_handled_once(circle) -> None:
    c = circle()
    c.publish("alert", alert())
    c.publish("alert", alert())
    c.pump()
    assert c.notifier.receive_alert("mary", alert()) is False
    c.pump()
    assert len(c.alerts_to("ann")) == 1


def test_ntfy_failures_are_retried_with_backoff_and_a_permanent_one_lets_escalation_go_on(circle) -> None:
    c = circle()
    c.ntfy_server.failures = [500, 429, -1.5]  # two errors, then a hang past the 1 s timeout
    c.publish("alert", alert())
    c.pump()
    assert c.alerts_to("ann") == []
    for wait in (5, 10, 20):  # the backoff
        c.advance(wait)
    assert len(c.alerts_to("ann")) == 1
    whats = [(what, member) for _, what, member, _ in c.store.steps("mary-inactivity-1")]
    assert whats.count(("retry", "ann")) == 3 and ("sent", "ann") in whats

    c.ntfy_server.failures = [403]
    c.advance(300 - 35)  # the next tier, five minutes after the first: Carol's notification is refused for good
    assert ("failed", "carol") in [(w, m) for _, w, m, _ in c.store.steps("mary-inactivity-1")]
    c.advance(300)
    assert any(n["priority"] == 5 for n in c.alerts_to("ann"))  # the final call still went out


def test_forged_replayed_and_expired_acks_are_refused(circle, caplog) -> None:
    c = circle()
    c.publish("alert", alert())
    c.pump()
    note = c.alerts_to("ann")[0]
    claim = next(a for a in note["actions"] if a["label"] == "I'm going")
    body = json.loads(claim["body"])

    forged = {**body, "member": "carol"}  # Ann's token, claimed as Carol's
    c.handled(c.ntfy_server.store("sentinel-acks-test-0001", json.dumps(forged), {})["id"])
    assert c.store.incident("mary-inactivity-1").claimed_by is None  # type: ignore[union-attr]
    assert any("forged token" in r.message for r in caplog.records)

    c.press("ann", "I'm going")
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]
    c.press("ann", "I'm going")  # the same body again
    assert any("replayed token" in r.message for r in caplog.records)

    c.publish("alert", alert("mary-inactivity-2"))
    c.pump()
    later = c.alerts_to("ann")[-1]
    c.clock.advance(49 * 3600)
    c.handled(c.ntfy_server.press(later, "I called, all OK")["id"])
    assert any("expired token" in r.message for r in caplog.records)
    refused = [(what, detail) for _, what, _, detail in c.store.steps("mary-inactivity-2") if what == "refused"]
    assert refused == [("refused", "resolve: expired token")]


def test_the_resident_closing_it_tells_the_circle(circle) -> None:
    c = circle()
    c.publish("alert", alert("mary-help-2", "help", "critical"))
    c.pump()
    c.publish("alert/mary-help-2/ack", {"who": "resident", "what": "cancel", "note": "Mary pressed 'I'm OK'."})
    wait_for(lambda: (c.pump(1), c.store.incident("mary-help-2").closed_at)[1], 5, "the incident to close")  # type: ignore[union-attr]
    c.pump()
    assert c.infos_to("ann")[-1]["message"] == "Mary pressed 'I'm OK'."
    assert c.store.incident("mary-help-2").closed_by == "resident"  # type: ignore[union-attr]


def test_a_quiet_alert_closed_by_her_call_for_help_is_told_as_that_not_as_all_clear(circle) -> None:
    c = circle()
    c.publish("alert", alert("mary-inactivity-3"))
    c.pump()
    assert c.alerts_to("ann")
    c.publish("alert", alert("mary-help-3", "help", "critical"))
    note = "Mary pressed the help button at 10:02: see the call for help."
    c.publish("alert/mary-inactivity-3/ack", {"who": "resident", "what": "help", "note": note})
    wait_for(lambda: (c.pump(1), c.store.incident("mary-inactivity-3").closed_at)[1], 5, "the quiet alert to close")  # type: ignore[union-attr]
    c.pump()
    told = c.infos_to("ann")[-1]
    assert (told["title"], told["message"]) == ("Mary: called for help", note)
    assert all(i["title"] != "Mary: all clear" for i in c.infos_to("ann"))
    assert c.store.incident("mary-help-3").closed_at is None  # type: ignore[union-attr]


def test_malformed_messages_do_not_stop_the_notifier(circle, caplog) -> None:
    c = circle()
    c.publish("alert", b"{oops")
    c.publish("alert", {"alert_id": 5})
    c.publish("alert/x/ack", b"\xff")
    c.handled(c.ntfy_server.store("sentinel-acks-test-0001", "not json", {})["id"])
    c.publish("alert", alert())
    c.pump()
    assert len(c.alerts_to("ann")) == 1
    assert sum("ignored" in r.message for r in caplog.records) >= 4


def said(c: Circle, text: str) -> None:
    """Wait until the notifier has taken in the home's availability (it is stamped on arrival)."""
    wait_for(lambda: (c.pump(1), c.notifier.silence.availability.get("mary", ("",))[0] == text)[1], 5, text)


def test_a_silent_monitor_is_reported_to_the_kit_and_its_return_too(circle) -> None:
    c = circle()
    c.publish("availability", "online")
    c.publish("heartbeat", {"seq": 1})
    said(c, "online")
    c.publish("availability", "offline")  # the agent's last will
    said(c, "offline")
    c.advance(119)
    assert c.infos_to("carol") == []
    c.advance(1)
    notice = c.infos_to("carol")
    assert len(notice) == 1 and notice[0]["title"] == "Mary's monitor is offline"
    assert c.infos_to("ann") == []  # only the kit's keepers
    c.advance(600)
    assert len(c.infos_to("carol")) == 1  # not repeated while it stays offline
    c.publish("availability", "online")
    said(c, "online")
    c.advance(59)
    assert c.store.home_state("mary")[0] == "offline"  # type: ignore[index]  # back for a minute first
    c.advance(1)
    back = c.infos_to("carol")[-1]
    assert back["title"] == "Mary's monitor is back" and "after 12 min offline" in back["message"]


def test_silence_without_a_last_will_counts_too(circle) -> None:
    c = circle()
    c.publish("heartbeat", {"seq": 1})
    wait_for(lambda: (c.pump(1), "mary" in c.notifier.silence.last_seen)[1], 5, "the heartbeat")
    c.advance(121)
    assert [n["title"] for n in c.infos_to("carol")] == ["Mary's monitor is offline"]


def test_two_notifiers_share_the_alerts_and_notify_each_once(circle) -> None:
    first = circle(top="shared_group: street\n")
    second = circle(top="shared_group: street\n", like=first)
    for i in range(20):  # straight to the broker: either notifier may take each one
        first.agent.publish(f"{first.base}/mary/alert", json.dumps(alert(f"mary-inactivity-{i}")), qos=1)

    def taken() -> tuple[set[str], set[str]]:
        return {i.alert_id for i in first.store.incidents()}, {i.alert_id for i in second.store.incidents()}

    wait_for(lambda: sum(map(len, taken())) == 20, 10, "all 20 alerts to be taken")
    mine, yours = taken()
    assert not mine & yours and mine and yours  # each taken by exactly one notifier, and both took a share
    wait_for(lambda: (first.pump(1), second.pump(1), len(first.alerts_to("ann")) == 20)[2], 10, "20 notifications")
    ids = sorted(json.loads(n["actions"][0]["body"])["alert_id"] for n in first.alerts_to("ann"))
    assert ids == sorted(f"mary-inactivity-{i}" for i in range(20))  # each exactly once


def test_with_everyone_away_the_final_call_goes_to_them_all_the_same_and_says_so(circle, caplog) -> None:
    c = circle(edit=lambda text: text.replace("    topic:", '    away_until: "2099-01-01"\n    topic:'))
    assert all(m.away_until for m in c.config.members)  # everyone on holiday
    c.publish("alert", alert())
    c.pump()
    # Before: nobody was told; only the log and the incident's record said so.
    assert all(len(c.alerts_to(m)) == 1 for m in ("ann", "bob"))  # the tiers (Carol is only a keeper here)
    final = [(what, detail) for _, what, _, detail in c.store.steps("mary-inactivity-1") if what == "final call"]
    assert final == [("final call", "ann, bob, carol (ann, bob, carol: away, told as nobody else can be asked)")]
    assert any("everyone in Mary's circle is away" in r.message for r in caplog.records)


def test_incidents_shows_the_record_without_the_secrets(circle, tmp_path: Path, capsys, monkeypatch) -> None:
    c = circle()
    c.publish("alert", alert())
    c.pump()
    config = tmp_path / "circle.yaml"
    config.write_text(c.text)
    monkeypatch.delenv("SENTINEL_ACK_SECRET")  # a carer reading records holds neither key nor token
    assert main(["incidents", "-c", str(config)]) == 0
    assert "mary-inactivity-1" in capsys.readouterr().out
    assert main(["incidents", "-c", str(config), "mary-inactivity-1"]) == 0
    story = capsys.readouterr().out
    assert "step 1: ann" in story and "sent ann: Mary: unusually quiet" in story


def test_incidents_without_a_database_says_where_it_looked_and_creates_nothing(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "state"
    empty.mkdir()
    config = tmp_path / "circle.yaml"
    config.write_text(circle_yaml(1883, "https://ntfy.example.org", empty, "sentinel"))
    assert main(["incidents", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "no notifier.db to read" in err and str(empty) in err
    assert list(empty.iterdir()) == []


def test_movement_after_a_claim_asks_the_one_going_and_only_they_close_it(circle) -> None:
    c = circle()
    c.publish("alert", alert("mary-help-1", "help", "critical"))  # Ann and Carol at once
    c.pump()
    c.press("ann", "I'm going")
    assert c.infos_to("carol")[-1]["title"] == "Mary: Ann is going"
    # Ann walks in: the agent sees movement (it may be Ann's own) and says so.
    c.publish("alert/mary-help-1/ack", {"who": "sensors", "what": "activity", "note": "Movement again: hall at 10:20."})
    asked = wait_for(
        lambda: (c.pump(1), [n for n in c.alerts_to("ann") if n["title"] == "Mary: movement at home"])[1], 5, "Ann"
    )
    assert asked[0]["message"].startswith("Movement again: hall at 10:20. That may be you.")
    assert [a["label"] for a in asked[0]["actions"]] == ["All OK"]
    # An agent that had not heard of the claim yet closes it "by sensors": that is not enough either.
    c.publish("alert/mary-help-1/ack", {"who": "sensors", "what": "resolve", "note": "Movement again."})
    wait_for(lambda: (c.pump(1), len(c.alerts_to("ann")) == 3)[1], 5, "Ann asked again")
    assert not c.store.is_closed("mary-help-1")
    assert [n["title"] for n in c.infos_to("carol")] == ["Mary: Ann is going"]  # no all-clear yet

    c.press("ann", "All OK")
    assert c.store.incident("mary-help-1").closed_by == "Ann"  # type: ignore[union-attr]
    assert c.infos_to("carol")[-1]["title"] == "Mary: all clear"


def test_an_unreachable_broker_is_said_and_retried(tmp_path: Path, monkeypatch, caplog) -> None:
    from circle_driver import SECRET
    from conftest import free_port
    from ntfy_fake import FakeNtfy
    from sentinel.config import parse_circle_config
    from sentinel.notifier.ntfy import Ntfy
    from sentinel.notifier.service import Notifier
    from sentinel.notifier.store import NotifierStore

    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    ntfy = FakeNtfy()
    cfg = parse_circle_config(circle_yaml(free_port(), ntfy.url, tmp_path, "sentinel"))
    store = NotifierStore(tmp_path / "notifier.db")
    notifier = Notifier(cfg, store, Ntfy(cfg.ntfy))
    notifier.start(threaded=False)
    try:
        wait_for(
            lambda: any("cannot connect to the broker" in r.getMessage() for r in caplog.records), 20, "a warning"
        )
        warning = next(r for r in caplog.records if "cannot connect to the broker" in r.getMessage())
        assert "connection refused" in warning.getMessage() and warning.levelname == "WARNING"
    finally:
        notifier.close()
        store.close()
        ntfy.close()


def test_a_kit_notice_reaches_the_keepers_once(circle) -> None:
    c = circle()
    notice = {
        "notice_id": "mary-silent-bathroom_pir-20260303T0800",
        "home": "mary",
        "kind": "sensor_silent",
        "sensor": "bathroom_pir",
        "text": "The bathroom sensor (bathroom_pir) has sent nothing since Tue 08:00 (2 h 00 min).",
    }
    c.publish("notice", notice)
    wait_for(lambda: (c.pump(1), c.infos_to("carol"))[1], 5, "the notice")
    c.publish("notice", notice)  # the broker delivers it again
    c.publish("notice", {"notice_id": "a/+", "text": "x"})
    c.publish("notice", {**notice, "notice_id": "mary-silent-kitchen_pir-20260303T0900"})
    wait_for(lambda: (c.pump(1), len(c.infos_to("carol")) == 2)[1], 5, "the second notice")
    titles = [n["title"] for n in c.infos_to("carol")]
    assert titles == ["Mary's monitor: a sensor is silent"] * 2  # the first once, the second once
    assert c.infos_to("ann") == []  # the kit's keepers only


def test_test_notify_sends_each_member_a_test_and_says_which_did_not_go(tmp_path: Path, capsys, monkeypatch) -> None:
    from ntfy_fake import FakeNtfy
    from sentinel.demo.ntfy_rules import Access

    # A server that denies by default, whose token may write every topic but Carol's (a grant left out).
    grants = [("sentinel", TOPICS["carol"], "deny"), ("sentinel", "*", "read-write")]
    access = Access("deny-all", {"tk_test": "sentinel"}, grants)
    ntfy = FakeNtfy(access=access)
    monkeypatch.setenv("NTFY_TOKEN", "tk_test")  # as the service has them (notify.env)
    monkeypatch.setenv("SENTINEL_ACK_SECRET", "0123456789abcdef-secret")
    config = tmp_path / "circle.yaml"
    text = circle_yaml(1883, ntfy.url, tmp_path, "t")
    config.write_text(text.replace("  timeout: 1s\n", "  timeout: 5s\n  token_env: NTFY_TOKEN\n"))
    try:
        assert main(["test-notify", "-c", str(config), "ann", "carol"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("ann: sent (ntfy message ") and out[0].endswith("ask Ann whether it arrived")
        assert out[1].startswith("carol: NOT sent: ") and "403" in out[1]
        (test,) = ntfy.to(TOPICS["ann"])
        assert test["title"] == "sentinel: a test notification" and "if you read this, Ann" in test["message"]
        assert ntfy.to(TOPICS["bob"]) == []  # only those named
        assert main(["test-notify", "-c", str(config), "dora"]) == 2
        assert "no such member: dora (members: ann, bob, carol)" in capsys.readouterr().err
    finally:
        ntfy.close()
