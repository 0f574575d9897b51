"""The notifier against a real Mosquitto and a recording ntfy stand-in, with an injected clock."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from conftest import Mosquitto, Recorder, wait_for
from ntfy_fake import FakeNtfy
from sentinel.clock import ManualClock
from sentinel.config import parse_circle_config
from sentinel.notify.ntfy import Ntfy
from sentinel.notify.service import Notifier
from sentinel.notify.store import NotifierStore

SECRET = "a-test-secret-of-enough-length"
TUESDAY_10 = datetime(2026, 3, 3, 10, 0).astimezone()
TOPICS = {"ann": "mary-ann-topic-0001", "bob": "mary-bob-topic-0002", "carol": "mary-carol-topic-03"}


def circle_yaml(port: int, ntfy_url: str, state: Path, base: str, extra_members: str = "", home_extra: str = "") -> str:
    return f"""\
ntfy:
  server: {ntfy_url}
  ack_topic: sentinel-acks-test-0001
  timeout: 1s
  poll: 1s
members:
  - id: ann
    name: Ann
    topic: {TOPICS["ann"]}
    quiet_hours: {{start: "22:00", end: "07:00"}}
  - id: bob
    name: Bob
    topic: {TOPICS["bob"]}
    on_call: [{{days: [sat, sun], start: "00:00", end: "24:00"}}]
  - id: carol
    name: Carol Ødegård
    topic: {TOPICS["carol"]}
{extra_members}homes:
  - id: mary
    name: Mary
    tiers: [[ann, bob], [carol]]
    step: 5m
    rounds: 1
    kit: [carol]
    grace: 2m
{home_extra}mqtt: {{host: 127.0.0.1, port: {port}, client_id: notifier-{uuid.uuid4().hex[:8]}, base_topic: {base}}}
state_dir: {state}
"""


class Circle:
    """A notifier pumped by hand, its fake ntfy server, and a way to publish as the agent."""

    def __init__(
        self,
        tmp_path: Path,
        port: int,
        start: datetime = TUESDAY_10,
        top: str = "",
        like: Circle | None = None,
        edit: Callable[[str], str] = str,
        **yaml: str,
    ) -> None:
        # Its own topic tree (no retained messages from other tests) and ntfy, unless it joins ``like``.
        self.ntfy_server = like.ntfy_server if like else FakeNtfy()
        self.base = like.base if like else f"t{uuid.uuid4().hex[:8]}"
        self._owns_ntfy = like is None
        text = edit(circle_yaml(port, self.ntfy_server.url, tmp_path, self.base, **yaml) + top)
        self.config = parse_circle_config(text)
        self.clock = ManualClock(start)
        self.store = NotifierStore(tmp_path / "notifier.db")
        self.notifier = Notifier(self.config, self.store, Ntfy(self.config.ntfy), self.clock)
        self.notifier.start(threaded=False)
        self.agent = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.agent.connect("127.0.0.1", port)
        self.agent.loop_start()
        wait_for(lambda: self.notifier.client.is_connected(), 10, "the notifier to connect")
        time.sleep(0.2)  # let its subscriptions settle

    def publish(self, topic: str, body: Any, qos: int = 1) -> None:
        payload = body if isinstance(body, bytes | str) else json.dumps(body)
        self.agent.publish(f"{self.base}/mary/{topic}", payload, qos=qos).wait_for_publish(5)
        if topic == "alert" and isinstance(body, dict) and isinstance(body.get("alert_id"), str):
            # Alerts are stored the moment they arrive: wait for that, so the clock cannot run ahead of them.
            wait_for(lambda: self.store.incident(body["alert_id"]) is not None, 5, "the alert to arrive")

    def pump(self, rounds: int = 3) -> None:
        for _ in range(rounds):
            time.sleep(0.05)
            self.notifier.step()
            self.notifier.deliver_due()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pump()

    def alerts_to(self, member: str) -> list[dict[str, Any]]:
        return [n for n in self.ntfy_server.to(TOPICS[member]) if n.get("actions")]

    def infos_to(self, member: str) -> list[dict[str, Any]]:
        return [n for n in self.ntfy_server.to(TOPICS[member]) if not n.get("actions")]

    def press(self, member: str, label: str, index: int = -1) -> None:
        self.ntfy_server.press(self.alerts_to(member)[index], label)
        self.clock.advance(self.config.ntfy.poll)
        self.pump()

    def close(self) -> None:
        self.agent.loop_stop()
        self.agent.disconnect()
        self.notifier.close()
        self.store.close()
        if self._owns_ntfy:
            self.ntfy_server.close()


def alert(alert_id: str = "mary-inactivity-1", kind: str = "inactivity", severity: str = "high") -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "home": "mary",
        "kind": kind,
        "severity": severity,
        "raised_at": TUESDAY_10.isoformat(),
        "reason": "No sign of activity since 08:10 (1 h 50 min).",
        "facts": {},
    }


@pytest.fixture
def circle(tmp_path: Path, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    made: list[Circle] = []

    def make(**kwargs: Any) -> Circle:
        made.append(Circle(tmp_path / f"c{len(made)}", broker.port, **kwargs))
        return made[-1]

    yield make
    for c in reversed(made):
        c.close()


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
    assert [a["label"] for a in note["actions"]] == ["I'm going", "I called, all OK"]

    c.advance(299)
    assert c.alerts_to("carol") == []
    c.advance(1)
    assert len(c.alerts_to("carol")) == 1  # the next tier, exactly one step later

    c.press("carol", "I'm going")
    assert c.infos_to("ann")[-1]["title"] == "Mary: Carol Ødegård is going"
    claim = agent_acks.wait(f"{c.base}/mary/alert/mary-inactivity-1/ack")
    assert claim["what"] == "claim" and claim["who"] == "Carol Ødegård" and claim["source"] == "notifier"
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
    c.ntfy_server.store("sentinel-acks-test-0001", json.dumps(forged), {})
    c.advance(1)
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
    c.ntfy_server.press(later, "I called, all OK")
    c.advance(1)
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


def test_malformed_messages_do_not_stop_the_notifier(circle, caplog) -> None:
    c = circle()
    c.publish("alert", b"{oops")
    c.publish("alert", {"alert_id": 5})
    c.publish("alert/x/ack", b"\xff")
    c.ntfy_server.store("sentinel-acks-test-0001", "not json", {})
    c.advance(1)
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
    c.pump()
    back = c.infos_to("carol")[-1]
    assert back["title"] == "Mary's monitor is back" and "after 12 min offline" in back["message"]


def test_silence_without_a_last_will_counts_too(circle) -> None:
    c = circle()
    c.publish("heartbeat", {"seq": 1})
    wait_for(lambda: "mary" in c.notifier.silence.last_seen, 5, "the heartbeat")
    c.advance(121)
    assert [n["title"] for n in c.infos_to("carol")] == ["Mary's monitor is offline"]


def test_two_notifiers_share_the_alerts_and_notify_each_once(circle) -> None:
    first = circle(top="shared_group: street\n")
    second = circle(top="shared_group: street\n", like=first)
    time.sleep(0.3)
    for i in range(20):  # straight to the broker: either notifier may take each one
        first.agent.publish(f"{first.base}/mary/alert", json.dumps(alert(f"mary-inactivity-{i}")), qos=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(first.alerts_to("ann")) < 20:
        first.pump(1)
        second.pump(1)
    time.sleep(0.5)
    first.pump(1)
    second.pump(1)
    ids = sorted(json.loads(n["actions"][0]["body"])["alert_id"] for n in first.alerts_to("ann"))
    assert ids == sorted(f"mary-inactivity-{i}" for i in range(20))  # each exactly once
    assert first.store.incidents() and second.store.incidents()  # both took a share


def test_nobody_available_is_recorded_and_logged(circle, caplog) -> None:
    c = circle(edit=lambda text: text.replace("    topic:", '    away_until: "2099-01-01"\n    topic:'))
    assert all(m.away_until for m in c.config.members)  # everyone on holiday
    c.publish("alert", alert())
    c.pump()
    assert all(c.alerts_to(m) == [] for m in TOPICS)
    assert [what for _, what, _, _ in c.store.steps("mary-inactivity-1")][-1] == "nobody available"
    assert any("nobody in Mary's circle is available" in r.message for r in caplog.records)
