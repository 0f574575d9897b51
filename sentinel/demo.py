"""``sentinel demo``: a simulated morning at Mary's, seen by the home and by a neighbour.

An embedded broker (or the one given), the real agent on simulated pins, a
seeded resident who gets up, goes out, comes back, falls and calls for help,
then presses "I'm OK"; and a subscriber that shows what the circle would see.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from sentinel import logs
from sentinel.agent import Agent
from sentinel.clock import ScaledClock
from sentinel.config import Config, load_config, shipped_config
from sentinel.demo_circle import DemoCircle
from sentinel.events import Event
from sentinel.mqtt.embedded import EmbeddedBroker
from sentinel.mqtt.topics import Topics
from sentinel.sim import Resident as SimResident
from sentinel.store import Store


class Timeline:
    """Prints lines in simulated time: the home, what goes over the broker, and the circle's phones."""

    def __init__(self, clock: ScaledClock, out=sys.stdout) -> None:
        self.clock = clock
        self.out = out
        self._lock = threading.Lock()

    def home(self, text: str) -> None:
        self._line("home     ", text)

    def circle(self, text: str) -> None:
        self._line("broker", text)

    def phone(self, whose: str, text: str) -> None:
        self._line(whose, text)

    def _line(self, who: str, text: str) -> None:
        with self._lock:
            print(f"{self.clock.now():%H:%M:%S}  {who:<11s} | {text}", file=self.out, flush=True)


class Neighbour:
    """An MQTT subscriber that sees what the circle sees: availability, status, alerts."""

    def __init__(self, host: str, port: int, topics: Topics, timeline: Timeline) -> None:
        self.topics = topics
        self.timeline = timeline
        self.alerts: dict[str, dict[str, Any]] = {}
        self.acks: list[dict[str, Any]] = []
        self.states: list[str] = []
        self.resolved: list[dict[str, Any]] = []
        self.heartbeats = 0
        self._last_avail: str | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-neighbour", protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            [(topics.availability, 1), (topics.status, 1), (topics.alert, 1), (topics.acks, 1), (topics.heartbeat, 0)]
        )
        self.client.on_message = self._message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _message(self, client, userdata, msg) -> None:
        text = msg.payload.decode("utf-8", "replace")
        if msg.topic == self.topics.availability:
            if text != self._last_avail:
                self._last_avail = text
                self.timeline.circle(f"Mary's monitor is {text}")
            return
        if msg.topic == self.topics.heartbeat:
            self.heartbeats += 1
            return
        body = json.loads(text)
        if msg.topic == self.topics.status:
            if not self.states or self.states[-1] != body["state"]:
                self.states.append(body["state"])
                self.timeline.circle(f"status: {body['state'].upper()} ({body['reason']})")
        elif msg.topic == self.topics.alert:
            if body["alert_id"] not in self.alerts:  # de-duplicate by alert_id
                self.alerts[body["alert_id"]] = body
                self.timeline.circle(f"ALERT [{body['severity']}] {body['reason']}")
        elif self.topics.parse_ack(msg.topic):
            self.acks.append(body)
            if body.get("what") == "claim":
                self.timeline.circle(f"{body['who']} is going")
            else:
                self.timeline.circle(f"alert closed by {body['who']}: {body.get('note', '')}")

    def kinds(self, *kinds: str) -> list[dict[str, Any]]:
        """Alerts seen of these kinds."""
        return [a for a in list(self.alerts.values()) if a["kind"] in kinds]


class Resident:
    """Mary, on simulated pins, with a little seeded randomness in her timing."""

    def __init__(
        self, agent: Agent, factory: MockFactory, clock: ScaledClock, timeline: Timeline, seed: int, speed: float
    ) -> None:
        self.config = agent.config
        self.factory = factory
        self.clock = clock
        self.timeline = timeline
        self.rng = random.Random(seed)
        self.speed = speed

    def _pin(self, sensor: str):
        return self.factory.pin(self.config.sensor(sensor).pin)

    def at(self, hh: int, mm: int, jitter_min: float = 0) -> None:
        base = self.clock.now().replace(hour=hh, minute=mm, second=0, microsecond=0)
        self.clock.sleep_until(base + timedelta(minutes=self.rng.uniform(0, jitter_min)))

    def until(self, condition: Callable[[], object], seconds: float) -> None:
        """Wait (in simulated time) until ``condition`` holds, at most ``seconds``."""
        limit = self.clock.now() + timedelta(seconds=seconds)
        while not condition() and self.clock.now() < limit:
            time.sleep(0.01)

    def wait(self, seconds: float) -> None:
        self.clock.sleep_until(self.clock.now() + timedelta(seconds=seconds))

    def move(self, sensor: str, what: str) -> None:
        self.timeline.home(what)
        pin = self._pin(sensor)
        pin.drive_high()
        self.wait(self.rng.uniform(5, 20))
        pin.drive_low()

    def door(self, is_open: bool) -> None:
        pin = self._pin("front_door")
        # Reed contact chatters for a few milliseconds before it settles.
        for _ in range(3):
            (pin.drive_low if is_open else pin.drive_high)()
            (pin.drive_high if is_open else pin.drive_low)()
        self.wait(1)

    def press(self, seconds: float) -> None:
        pin = self._pin("help_button")
        pin.drive_low()
        self.wait(seconds)
        pin.drive_high()

    def morning(self, neighbour: Neighbour, circle: DemoCircle) -> None:
        self.door(False)  # the door is shut when the monitor starts
        self.at(7, 0, 15)
        self.move("bedroom_pir", "Mary gets up (bedroom motion)")
        self.wait(300)
        self.move("bathroom_pir", "bathroom")
        self.at(7, 30, 10)
        self.move("kitchen_pir", "breakfast (kitchen motion)")
        self.wait(900)
        self.move("living_pir", "reads the paper (living room)")
        self.at(9, 10, 10)
        self.timeline.home("Mary goes out (front door)")
        self.door(True)
        self.wait(5)
        self.door(False)
        self.at(10, 40, 10)
        self.timeline.home("Mary is back (front door)")
        self.door(True)
        self.wait(5)
        self.door(False)
        self.move("living_pir", "living room")
        self.at(11, 0, 5)
        self.timeline.home("Mary leans on the help button by mistake (holds it 3 s)")
        self.press(3)
        self.wait(120)
        self.timeline.home("Mary presses the button once: I'm OK")
        self.press(0.4)
        self.at(11, 30, 5)
        self.move("kitchen_pir", "makes lunch (kitchen motion)")
        self.wait(300)
        self.timeline.home("Mary falls in the kitchen and cannot get up (no more movement)")
        fell = self.clock.now()
        self.clock.set_speed(self.speed * 5)  # fast-forward through the quiet
        while not neighbour.kinds("inactivity", "not_up") and self.clock.now() - fell < timedelta(hours=17):
            time.sleep(0.02)
        self.clock.set_speed(self.speed)
        # Ann does not see it at first; five minutes later Bob is asked too, and then Ann answers.
        self.until(lambda: circle.alerts_for("bob", "quiet"), 3600)
        self.wait(60)
        self.timeline.home("Ann sees it and taps 'I'm going' on her phone")
        circle.press("ann", "I'm going", "quiet")
        self.wait(900)
        self.timeline.home("Ann, a neighbour, lets herself in and helps Mary up (living room motion)")
        self.move("living_pir", "living room")
        self.wait(120)


def history(config: Config, days: int, today: datetime, seed: int) -> list[Event]:
    """The simulated week before the demo, as the agent would have stored it."""
    start = (today - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    known = {s.name for s in config.sensors}
    rows = [r for r in SimResident(seed=seed).days(start, days) if r.sensor in known]
    return [Event(r.sensor, r.kind, r.value, r.room, r.at.astimezone(), 0.0) for r in rows]


def run_demo(speed: float = 720.0, seed: int = 7, broker: str | None = None) -> int:
    """Run the simulated morning; 0 when the neighbour saw the alert and its cancellation."""
    logs.setup("error")  # the timeline tells the story; errors still show
    config: Config = load_config(shipped_config("demo.yaml"))
    start = datetime.now().astimezone().replace(hour=6, minute=55, second=0, microsecond=0)
    clock = ScaledClock(start, speed)
    embedded = None
    if broker:
        host, _, port = broker.rpartition(":")
        host, port_no = host or "127.0.0.1", int(port)
    else:
        embedded = EmbeddedBroker()
        embedded.start()
        host, port_no = embedded.host, embedded.port
    config = dataclasses.replace(config, mqtt=dataclasses.replace(config.mqtt, host=host, port=port_no))
    timeline = Timeline(clock)
    print(f"sentinel demo: a morning at Mary's at {speed:g}x speed; broker {host}:{port_no}\n")
    with tempfile.TemporaryDirectory(prefix="sentinel-demo-") as state:
        store = Store(Path(state) / "agent.db")
        for event in history(config, 7, start, seed):
            store.add_event(event)
        timeline.home("a week of Mary's life is already recorded: the monitor has learned her routine")
        factory = MockFactory()
        agent = Agent(config, store, clock=clock, pin_factory=factory)
        neighbour = Neighbour(host, port_no, agent.topics, timeline)
        circle = DemoCircle(host, port_no, Path(state), clock, timeline)
        circle.start()
        stop = threading.Event()
        agent.start()
        loop = threading.Thread(target=agent.loop, args=(stop,), name="agent")
        loop.start()
        resident = Resident(agent, factory, clock, timeline, seed, speed)
        try:
            resident.morning(neighbour, circle)
        finally:
            stop.set()
            loop.join(5)
            timeline.home("the demo switches the monitor off")
            agent.close()
            resident.until(lambda: any("offline" in n["title"] for n in circle.infos()), 600)
            time.sleep(0.3)
            neighbour.close()
            infos = circle.infos()
            circle.close()
            events = sum(1 for _ in store.events())
            store.close()
            if embedded:
                embedded.stop()
    ok = _summary(neighbour, events, infos)
    return 0 if ok else 1


def _summary(neighbour: Neighbour, events: int, infos: list[dict[str, Any]]) -> bool:
    closed = {a["alert_id"]: a for a in neighbour.acks if a.get("what") in ("cancel", "resolve")}
    help_alerts, quiet = neighbour.kinds("help"), neighbour.kinds("inactivity", "not_up")
    titles = [n["title"] for n in infos]
    ok = (
        len(help_alerts) == 1
        and closed.get(help_alerts[0]["alert_id"], {}).get("who") == "resident"
        and len(quiet) == 1
        and closed.get(quiet[0]["alert_id"], {}).get("who") == "sensors"
        and "checking" in neighbour.states
        and neighbour.states[-1:] == ["ok"]
        and "Mary: Ann (next door) is going" in titles
        and titles.count("Mary: all clear") >= 2
        and "Mary's monitor is offline" in titles
    )
    print()
    print(f"The agent recorded {events} sensor events; they stayed in the home's database.")
    print(
        f"Over the broker: {len(neighbour.alerts)} alerts ({len(help_alerts)} help, {len(quiet)} unusual quiet), "
        f"{len(closed)} closed, {neighbour.heartbeats} heartbeats; status {' -> '.join(neighbour.states)}."
    )
    print(f"On the circle's phones: {len(infos)} notices besides the alerts: {', '.join(dict.fromkeys(titles))}.")
    print("demo OK" if ok else "demo FAILED: the story did not reach the circle as it should")
    return ok
