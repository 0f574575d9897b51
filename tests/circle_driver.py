"""A notifier pumped by hand on an injected clock, against the real broker and the ntfy stand-in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from conftest import wait_for
from ntfy_fake import FakeNtfy
from sentinel.clock import ManualClock
from sentinel.config import parse_circle_config
from sentinel.notifier import broker
from sentinel.notifier.ntfy import Ntfy
from sentinel.notifier.service import Notifier
from sentinel.notifier.store import NotifierStore

SECRET = "a-test-secret-of-enough-length"
TUESDAY_10 = datetime(2026, 3, 3, 10, 0).astimezone()
TOPICS = {"ann": "mary-ann-topic-0001", "bob": "mary-bob-topic-0002", "carol": "mary-carol-topic-03"}


def circle_yaml(port: int, ntfy_url: str, state: Path, base: str, extra_members: str = "", home_extra: str = "") -> str:
    return f"""\
ntfy:
  server: {ntfy_url}
  ack_topic: sentinel-acks-test-0001
  timeout: 1s
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
        ntfy: FakeNtfy | None = None,
        base: str | None = None,
        clock: ManualClock | None = None,
        **yaml: str,
    ) -> None:
        # Its own topic tree (no retained messages from other tests) and ntfy, unless it joins ``like``.
        self.ntfy_server = like.ntfy_server if like else ntfy or FakeNtfy()
        self.base = like.base if like else base or f"t{uuid.uuid4().hex[:8]}"
        self._owns_ntfy = like is None
        text = edit(circle_yaml(port, self.ntfy_server.url, tmp_path, self.base, **yaml) + top)
        self.text = text
        self.config = parse_circle_config(text)
        self.clock = clock or ManualClock(start)  # an agent's clock, to run both on one
        self.store = NotifierStore(tmp_path / "notifier.db")
        self.notifier = Notifier(self.config, self.store, Ntfy(self.config.ntfy), self.clock)
        self.notifier.start(threaded=False)
        # What the notifier has taken from the broker (stored, queued or parked), in order: publish waits on it.
        self.heard: list[tuple[str, bytes]] = []
        take = self.notifier.client.on_message

        def taken(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
            take(client, userdata, message)
            self.heard.append((message.topic, bytes(message.payload)))

        self.notifier.client.on_message = taken
        topics = [t for t, _ in broker.subscriptions(self.config)]
        self.followed = [t.split("/", 2)[-1] if t.startswith("$share/") else t for t in topics]
        self.agent = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.agent.reconnect_delay_set(1, 2)  # back soon after a test restarts the broker, as the notifier is
        self.agent.connect("127.0.0.1", port)
        self.agent.loop_start()
        wait_for(self.notifier.subscribed.is_set, 10, "the notifier to subscribe")

    def publish(self, topic: str, body: Any, qos: int = 1) -> None:
        """Publish as the agent and wait until the notifier has taken it, so the clock cannot run ahead of it."""
        payload = body if isinstance(body, bytes | str) else json.dumps(body)
        full = f"{self.base}/mary/{topic}"
        mark = len(self.heard)
        # After a broker restart the notifier may be back before this client is: publish once it is too.
        wait_for(self.agent.is_connected, 30, "the agent's client to connect")
        self.agent.publish(full, payload, qos=qos).wait_for_publish(5)
        if any(mqtt.topic_matches_sub(sub, full) for sub in self.followed):
            sent = (full, payload.encode() if isinstance(payload, str) else payload)
            wait_for(lambda: sent in self.heard[mark:], 5, f"the notifier to take {topic}")

    def pump(self, rounds: int = 3) -> None:
        for _ in range(rounds):
            self.notifier.step()
            self.notifier.deliver_due()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pump()

    def alerts_to(self, member: str) -> list[dict[str, Any]]:
        """Notifications that can claim or resolve an alert (not a join request, a drill or 'you are going')."""
        return [n for n in self.ntfy_server.to(TOPICS[member]) if any(map(_about_an_alert, n.get("actions") or ()))]

    def infos_to(self, member: str) -> list[dict[str, Any]]:
        return [n for n in self.ntfy_server.to(TOPICS[member]) if not n.get("actions")]

    def press(self, member: str, label: str, index: int = -1) -> None:
        message = self.ntfy_server.press(self.alerts_to(member)[index], label)
        self.handled(message["id"])

    def handled(self, message_id: str) -> None:
        """Wait until the notifier has read and handled this message of the ack topic."""
        wait_for(lambda: (self.pump(1), self.store.get_meta("ack_since") == message_id)[1], 10, "the press")
        self.pump()

    def close(self) -> None:
        self.agent.disconnect()  # first: it wakes paho's loop, which loop_stop then joins at once
        self.agent.loop_stop()
        self.notifier.close()
        self.store.close()
        if self._owns_ntfy:
            self.ntfy_server.close()


def _about_an_alert(action: dict[str, Any]) -> bool:
    if action.get("action") != "http":
        return False
    return json.loads(action.get("body") or "{}").get("action") in ("claim", "resolve")


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


RESIDENT_TOPIC = "mary-own-phone-0004"


def to_resident(c: Circle, title: str = "") -> list[dict[str, Any]]:
    """What reached the resident's own phone (titles starting with ``title``)."""
    return [n for n in c.ntfy_server.to(RESIDENT_TOPIC) if n["title"].startswith(title)]
