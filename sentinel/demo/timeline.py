"""What the demo shows: lines printed at the story's time, and a neighbour who listens on the broker."""

from __future__ import annotations

import json
import sys
import threading
from datetime import date, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from sentinel.clock import ManualClock
from sentinel.demo.overheard import Overheard
from sentinel.mqtt.topics import Topics


class Timeline:
    """Prints lines at the story's time: the home, what goes over the broker, and the circle's phones."""

    def __init__(self, clock: ManualClock, out=sys.stdout) -> None:
        self.clock = clock
        self.out = out
        self._lock = threading.Lock()
        self._day: date | None = None

    def home(self, text: str) -> None:
        self._line("home", text)

    def broker(self, text: str, at: datetime | None = None) -> None:
        self._line("broker", text, at)

    def phone(self, whose: str, text: str) -> None:
        self._line(whose, text)

    def _line(self, who: str, text: str, at: datetime | None = None) -> None:
        when = at or self.clock.now()
        with self._lock:
            if when.date() != self._day:  # the story runs into the next day: say which day it is
                if self._day is not None:
                    print(file=self.out)
                print(f"{when:%A %d %B %Y}", file=self.out)
                self._day = when.date()
            print(f"{when:%H:%M:%S}  {who:<12s} | {text}", file=self.out, flush=True)


def _at(body: dict[str, Any], key: str) -> datetime | None:
    """A message's own time: lines about it are stamped with when it happened, not when it arrived."""
    try:
        return datetime.fromisoformat(str(body[key]))
    except (KeyError, ValueError):
        return None


class Neighbour:
    """An MQTT subscriber that sees what goes over the broker: availability, status, alerts, acks."""

    def __init__(self, host: str, port: int, topics: Topics, timeline: Timeline) -> None:
        self.topics = topics
        self.follows = [topics.availability, topics.status, topics.alert, topics.acks, topics.heartbeat]
        self.overheard = Overheard(self.follows)
        self.timeline = timeline
        self.alerts: dict[str, dict[str, Any]] = {}
        self.acks: list[dict[str, Any]] = []
        self.states: list[str] = []
        self.availability: list[str] = []
        self.heartbeats = 0
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-neighbour", protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in self.follows])
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _message(self, client, userdata, msg) -> None:
        try:
            self._read(msg)
        finally:
            self.overheard.heard(msg.topic, bytes(msg.payload))

    def _read(self, msg) -> None:
        text = msg.payload.decode("utf-8", "replace")
        if msg.topic == self.topics.availability:
            if not self.availability or self.availability[-1] != text:
                self.timeline.broker(f"Mary's monitor is {text}")
            self.availability.append(text)
            return
        if msg.topic == self.topics.heartbeat:
            self.heartbeats += 1
            return
        body = json.loads(text)
        if msg.topic == self.topics.status:
            if not self.states or self.states[-1] != body["state"]:
                self.timeline.broker(f"status: {body['state'].upper()} ({body['reason']})", _at(body, "since"))
                self.states.append(body["state"])
        elif msg.topic == self.topics.alert:
            if body["alert_id"] not in self.alerts:  # de-duplicate by alert_id
                self.timeline.broker(f"ALERT [{body['severity']}] {body['reason']}", _at(body, "raised_at"))
                self.alerts[body["alert_id"]] = body
        elif self.topics.parse_ack(msg.topic):
            what, at = body.get("what"), _at(body, "at")
            if what == "received":
                return  # the notifier has the alert (the agent stops sending it again): nobody did anything
            if what == "claim":
                self.timeline.broker(f"{body['who']} is going", at)
            elif what == "release":
                self.timeline.broker(f"{body['who']} cannot go after all: the alert stays open", at)
            elif what == "activity":
                self.timeline.broker(f"{body.get('note', '')} Someone is going: the alert stays open.", at)
            else:
                self.timeline.broker(f"alert closed by {body['who']}: {body.get('note', '')}", at)
            self.acks.append(body)

    def kinds(self, *kinds: str) -> list[dict[str, Any]]:
        """Alerts seen of these kinds."""
        return [a for a in list(self.alerts.values()) if a["kind"] in kinds]
