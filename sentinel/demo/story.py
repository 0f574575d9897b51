"""``sentinel demo``: a simulated morning at Mary's, seen by the home and by the circle.

An embedded broker (or the one given), the real agent on simulated pins, the
real notifier with a local ntfy stand-in, a seeded resident who gets up, goes
out, comes back, leans on the help button, then falls; and a subscriber that
shows what goes over the broker.

The story runs in virtual time: the clock moves only when the story moves it,
to the next thing due, and waits (in real time) for the messages each step
sends before it goes on. A busy machine or a slow Pi makes it slower, never
different: a 0.4 s press is 0.4 s on the agent's clock however long it takes.
Virtual time is kept by ``pacing.py``; what is printed, and the listening
neighbour, by ``timeline.py``.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from sentinel import logs
from sentinel.agent.app import Agent
from sentinel.clock import ManualClock
from sentinel.config import Config, load_config, shipped_config
from sentinel.core.events import Event
from sentinel.demo.circle import DemoCircle
from sentinel.demo.pacing import Story, Stuck
from sentinel.demo.resident import Resident
from sentinel.demo.timeline import Neighbour, Timeline
from sentinel.store import Store


class Mary:
    """Mary, on simulated pins, with a little seeded randomness in her timing."""

    def __init__(self, story: Story, factory: MockFactory, timeline: Timeline, seed: int) -> None:
        self.story = story
        self.config = story.agent.config
        self.factory = factory
        self.timeline = timeline
        self.rng = random.Random(seed)

    def _pin(self, sensor: str):
        return self.factory.pin(self.config.sensor(sensor).pin)

    def at(self, hh: int, mm: int, jitter_min: float = 0) -> None:
        base = self.story.clock.now().replace(hour=hh, minute=mm, second=0, microsecond=0)
        self.story.run(base + timedelta(minutes=self.rng.uniform(0, jitter_min)))

    def move(self, sensor: str, what: str, seen: Callable[[], object] | None = None) -> None:
        """Movement for a few seconds; ``seen``: what must follow from it before the story goes on."""
        self.timeline.home(what)
        pin = self._pin(sensor)
        pin.drive_high()
        self.story.tick()
        if seen is not None:
            self.story.settle(seen, f"what follows {what}")
        self.story.wait(self.rng.uniform(5, 20))
        pin.drive_low()
        self.story.tick()

    def door(self, is_open: bool) -> None:
        pin = self._pin("front_door")
        # Reed contact chatters for a few milliseconds before it settles.
        for _ in range(3):
            (pin.drive_low if is_open else pin.drive_high)()
            (pin.drive_high if is_open else pin.drive_low)()
        self.story.tick()
        self.story.wait(1)

    def press(self, seconds: float) -> None:
        pin = self._pin("help_button")
        pin.drive_low()
        self.story.tick()
        self.story.wait(seconds)
        pin.drive_high()
        self.story.tick()


class Morning:
    """The story: what Mary does, and what the circle does about it."""

    def __init__(self, story: Story, mary: Mary, neighbour: Neighbour, timeline: Timeline) -> None:
        self.story = story
        self.mary = mary
        self.neighbour = neighbour
        self.timeline = timeline
        self.agent = story.agent
        self.circle = story.circle
        self.home = self.agent.config.home.id

    def open_alert(self, kind: str) -> str:
        """The id of the alert of this kind the agent has open."""
        found = [a.alert_id for a in self.agent.store.open_alerts(self.home) if a.kind == kind]
        return found[-1] if found else ""

    def cancelled(self, alert_id: str) -> None:
        """Go on until the resident's press has closed the alert (a single press is known once no second follows)."""
        self.story.run(done=lambda: not self.agent.store.open_alerts(self.home), most=60)
        self.story.settle(lambda: self.circle.store.is_closed(alert_id), "the circle to hear it is over")

    def resolved(self, alert_id: str) -> None:
        """Wait until the circle's all-clear has reached the monitor."""
        self.story.settle(lambda: self.circle.store.is_closed(alert_id), "the circle to close it")
        self.story.settle(lambda: not self.agent.store.open_alerts(self.home), "the monitor to hear it is over")

    def press(self, member: str, label: str, title_word: str) -> None:
        """A member presses a button on their phone; wait until the notifier has read it."""
        message_id = self.circle.press(member, label, title_word)
        if message_id is None:
            raise Stuck(f"{member} has no notification about {title_word!r}")
        self.story.settle(lambda: self.circle.store.get_meta("ack_since") == message_id, f"{member}'s press")

    def run(self) -> None:
        mary, story = self.mary, self.story
        mary.door(False)  # the door is shut when the monitor starts
        mary.at(7, 0, 15)
        mary.move("bedroom_pir", "Mary gets up (bedroom motion)")
        story.wait(300)
        mary.move("bathroom_pir", "bathroom")
        mary.at(7, 30, 10)
        mary.move("kitchen_pir", "breakfast (kitchen motion)")
        story.wait(900)
        mary.move("living_pir", "reads the paper (living room)")
        mary.at(9, 10, 10)
        self.timeline.home("Mary goes out (front door)")
        mary.door(True)
        story.wait(5)
        mary.door(False)
        mary.at(10, 40, 10)
        self.timeline.home("Mary is back (front door)")
        mary.door(True)
        story.wait(5)
        mary.door(False)
        mary.move("living_pir", "living room")
        mary.at(11, 0, 5)

        self.timeline.home("Mary leans on the help button by mistake (holds it 3 s)")
        mary.press(3)
        help_id = self.open_alert("help")
        story.wait(120)
        self.timeline.home("Mary presses the button once: I'm OK")
        mary.press(0.4)
        self.cancelled(help_id)

        mary.at(11, 30, 5)
        mary.move("kitchen_pir", "makes lunch (kitchen motion)")
        story.wait(300)
        self.timeline.home("Mary falls in the kitchen and cannot get up (no more movement)")
        story.set_speed(story.speed * 5)  # fast-forward through the quiet
        story.run(done=lambda: self.open_alert("inactivity") or self.open_alert("not_up"), most=17 * 3600)
        story.set_speed(story.speed / 5)
        quiet_id = self.open_alert("inactivity") or self.open_alert("not_up")

        # Ann does not see it at first; five minutes later Bob is asked too, and then Ann answers.
        story.run(done=lambda: self.circle.with_buttons("bob", "quiet"), most=3600)
        story.wait(60)
        self.timeline.home("Ann sees it and taps 'I'm going' on her phone")
        self.press("ann", "I'm going", "quiet")
        story.settle(lambda: self.agent.store.claimed_by(quiet_id), "the monitor to hear Ann is going")
        story.wait(900)
        walks_in = "Ann lets herself in (living room motion): the monitor cannot tell her from Mary"
        mary.move("living_pir", walks_in, seen=lambda: self.circle.with_buttons("ann", "movement"))
        story.wait(120)
        self.timeline.home("Ann helps Mary up, and taps 'All OK'")
        self.press("ann", "All OK", "movement")
        self.resolved(quiet_id)
        story.settle(lambda: self.neighbour.states[-1:] == ["ok"], "the status to say all is well")
        story.wait(120)


def history(config: Config, days: int, today: datetime, seed: int) -> list[Event]:
    """The simulated week before the demo, as the agent would have stored it."""
    start = (today - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    known = {s.name for s in config.sensors}
    rows = [r for r in Resident(seed=seed).days(start, days) if r.sensor in known]
    return [Event(r.sensor, r.kind, r.value, r.room, r.at.astimezone(), 0.0) for r in rows]


def run_demo(speed: float = 720.0, seed: int = 7, broker: str | None = None) -> int:
    """Run the simulated morning; 0 when the circle saw the alerts, the claim and the all-clear as it should."""
    logs.setup("error")  # the timeline tells the story; errors still show
    config: Config = load_config(shipped_config("demo.yaml"))
    # A fixed day: the story is the same whenever it runs (the clock is the story's own).
    start = datetime(2026, 3, 3, 6, 55).astimezone()
    clock = ManualClock(start)
    embedded = None
    if broker:
        host, _, port = broker.rpartition(":")
        host, port_no = host or "127.0.0.1", int(port)
    else:
        from sentinel.demo.broker import EmbeddedBroker

        embedded = EmbeddedBroker()
        embedded.start()
        host, port_no = embedded.host, embedded.port
    config = dataclasses.replace(config, mqtt=dataclasses.replace(config.mqtt, host=host, port=port_no))
    timeline = Timeline(clock)
    print(f"sentinel demo: a morning at Mary's, {speed:g}x real time; broker {host}:{port_no}\n")
    failure = ""
    with tempfile.TemporaryDirectory(prefix="sentinel-demo-") as state:
        store = Store(Path(state) / "agent.db")
        for event in history(config, 7, start, seed):
            store.add_event(event)
        timeline.home("a week of Mary's life is already recorded: the monitor has learned her routine")
        factory = MockFactory()
        agent = Agent(config, store, clock=clock, pin_factory=factory)
        neighbour = Neighbour(host, port_no, agent.topics, timeline)
        circle = DemoCircle(host, port_no, Path(state), clock, timeline)
        story = Story(clock, agent, circle, speed)
        morning = Morning(story, Mary(story, factory, timeline, seed), neighbour, timeline)
        try:
            circle.start()
            agent.start()
            # The agent's loop, not only its link, has taken in the connection: its heartbeats then keep time
            # from the story's start, whatever the load (else one more or less may fit into the story).
            story.settle(lambda: agent.connections > 0 and neighbour.subscribed.is_set(), "the broker")
            story.settle(lambda: agent.routine_ready, "the routine to be learned")
            story.settle(circle.notifier.subscribed.is_set, "the notifier to subscribe")
            story.tick()
            morning.run()
            timeline.home("the demo switches the monitor off")
            story.switch_off()
            # Its "offline" reaches the neighbour before the story's clock moves on, so it is stamped when it was said.
            story.settle(lambda: neighbour.availability[-1:] == ["offline"], "the monitor's offline")
            story.run(done=lambda: any("offline" in n["title"] for n in circle.infos()), most=3600)
        except Stuck as exc:
            failure = str(exc)
        finally:
            agent.close()
            neighbour.close()
            infos = circle.infos()
            confirm = circle.with_buttons("ann", "movement")
            circle.close()
            events = sum(1 for _ in store.events())
            store.close()
            if embedded:
                embedded.stop()
    ok = _summary(neighbour, events, infos, bool(confirm), failure)
    return 0 if ok else 1


def _summary(neighbour: Neighbour, events: int, infos: list[dict[str, Any]], asked: bool, failure: str) -> bool:
    closed = {a["alert_id"]: a for a in neighbour.acks if a.get("what") in ("cancel", "resolve")}
    help_alerts, quiet = neighbour.kinds("help"), neighbour.kinds("inactivity", "not_up")
    titles = [n["title"] for n in infos]
    ok = (
        not failure
        and len(help_alerts) == 1
        and closed.get(help_alerts[0]["alert_id"], {}).get("who") == "resident"
        and len(quiet) == 1
        and closed.get(quiet[0]["alert_id"], {}).get("who") == "Ann (next door)"  # not the sensors: Ann said so
        and asked
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
    if failure:
        print(f"demo FAILED: {failure}")
    else:
        print("demo OK" if ok else "demo FAILED: the story did not reach the circle as it should")
    return ok
