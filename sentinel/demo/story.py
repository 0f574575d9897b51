"""``sentinel demo``: a day and a morning on a street of two homes, seen by the homes and by the circle.

An embedded broker (or the one given), the real agent at Mary's (on simulated
pins, with a seeded resident who gets up, goes out, comes back, leans on the
help button, then falls) and at Ann's next door (a help button only), the real
notifier with a local ntfy stand-in, and a subscriber that shows what goes over
the broker from Mary's. Around the alerts, the circle's rhythm: joining, the
resident's phone, who else can help, the test notice, away and back, the
keepers' and the daily notes, and the morning after.

The story runs in virtual time: the clock moves only when the story moves it,
to the next thing due, and waits (in real time) for the messages each step
sends before it goes on. A busy machine or a slow Pi makes it slower, never
different: a 0.4 s press is 0.4 s on the agent's clock however long it takes.
Virtual time is kept by ``pacing.py``; what is printed, and the listening
neighbour, by ``timeline.py``; the first day in ``morning.py``, the rhythm
around it in ``street.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import tempfile
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
from sentinel.demo.morning import Morning, Person
from sentinel.demo.overheard import Unheard
from sentinel.demo.pacing import SETTLE_S, Story, Stuck
from sentinel.demo.resident import Resident
from sentinel.demo.street import Street
from sentinel.demo.timeline import Neighbour, Timeline
from sentinel.errors import SentinelError
from sentinel.notifier import lastresort
from sentinel.notifier.health import gather
from sentinel.notifier.health import render as render_health
from sentinel.notifier.story import render
from sentinel.store import Store


def history(config: Config, days: int, today: datetime, seed: int) -> list[Event]:
    """The simulated week before the demo, as the agent would have stored it."""
    start = (today - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    known = {s.name for s in config.sensors}
    rows = [r for r in Resident(seed=seed).days(start, days) if r.sensor in known]
    return [Event(r.sensor, r.kind, r.value, r.room, r.at.astimezone(), 0.0) for r in rows]


def _on(config: Config, host: str, port: int) -> Config:
    return dataclasses.replace(config, mqtt=dataclasses.replace(config.mqtt, host=host, port=port))


def _reachable(host: str, port: int) -> None:
    """SentinelError, saying why, when nothing answers at the broker's address (before any part of the story starts)."""
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        raise SentinelError(f"cannot reach the broker at {host}:{port} ({exc}): is it running, on this port?") from None


def run_demo(speed: float = 720.0, seed: int = 7, broker: str | None = None) -> int:
    """Run the simulated day; 0 when the circle saw the alerts, the claims and its rhythm as it should."""
    logs.setup("error")  # the timeline tells the story; errors still show
    # Except the one the story means: nobody going to Mary's in the night is told by the timeline (the e-mail).
    logging.getLogger(lastresort.__name__).setLevel(logging.CRITICAL)
    # A fixed day: the story is the same whenever it runs (the clock is the story's own).
    start = datetime(2026, 3, 3, 6, 55).astimezone()
    clock = ManualClock(start)
    embedded = None
    if broker:
        host, _, port = broker.rpartition(":")
        host, port_no = host, int(port)
        _reachable(host, port_no)
    else:
        from sentinel.demo.broker import EmbeddedBroker

        embedded = EmbeddedBroker()
        embedded.start()
        host, port_no = embedded.host, embedded.port
    config = _on(load_config(shipped_config("demo.yaml")), host, port_no)
    ann_config = _on(load_config(shipped_config("demo-ann.yaml")), host, port_no)
    timeline = Timeline(clock)
    print(f"sentinel demo: a day on Mary's street, {speed:g}x real time; broker {host}:{port_no}\n")
    failure = ""
    with tempfile.TemporaryDirectory(prefix="sentinel-demo-") as state:
        store = Store(Path(state) / "agent.db")
        for event in history(config, 7, start, seed):
            store.add_event(event)
        timeline.phone("Mary's home", "a week of Mary's life is already recorded: the monitor has learned her routine")
        factory, ann_factory = MockFactory(), MockFactory()
        agent = Agent(config, store, clock=clock, pin_factory=factory)
        ann_store = Store(Path(state) / "ann.db")
        ann_agent = Agent(ann_config, ann_store, clock=clock, pin_factory=ann_factory)
        neighbour = Neighbour(host, port_no, agent.topics, timeline)
        circle = DemoCircle(host, port_no, Path(state), clock, timeline)
        # Every line from the broker is printed before the next phone's, and before the clock moves on.
        for client in (agent.link.client, circle.notifier.client):
            neighbour.overheard.watch(client)
        circle.before_delivery = neighbour.overheard.wait
        story = Story(clock, [agent, ann_agent], circle, speed)
        mary = Person(story, agent, factory, timeline, seed)
        ann = Person(story, ann_agent, ann_factory, timeline, seed + 1)
        morning = Morning(story, mary, ann, neighbour, timeline)
        street = Street(story, morning, timeline, seed)
        try:
            circle.start()
            # The neighbour hears the monitor from its first word (what it has not heard, the story waits for).
            if not neighbour.subscribed.wait(SETTLE_S):
                raise Stuck("the neighbour could not subscribe")
            agent.start()
            ann_agent.start()
            # The agents' loops, not only their links, have taken in the connection: their heartbeats then keep
            # time from the story's start, whatever the load (else one more or less may fit into the story).
            story.settle(lambda: agent.connections > 0 and ann_agent.connections > 0, "the broker", False)
            story.settle(lambda: agent.routine_ready, "the routine to be learned", False)
            story.settle(lambda: neighbour.states[-1:] == ["ok"], "the status to say the routine is learned", False)
            story.settle(circle.notifier.subscribed.is_set, "the notifier to subscribe", False)
            story.tick()
            street.joining()
            morning.run()
            street.evening()
            street.next_morning()
            mary.say("the demo switches the monitor off")
            story.switch_off()
            # Its "offline" reaches the neighbour and the notifier before the story's clock moves on, so both stamp
            # it when it was said (the notifier's "no sign since" and the time it tells would move with the load).
            said = circle.notifier.silence.availability
            story.settle(
                lambda: neighbour.availability[-1:] == ["offline"]
                and said.get(agent.config.home.id, ("",))[0] == "offline",
                "the monitor's offline",
            )
            story.run(done=lambda: any("offline" in n["title"] for n in circle.infos()), most=3600)
        except (Stuck, Unheard) as exc:
            failure = str(exc)
        finally:
            for each in story.on:
                each.close()
            neighbour.close()
            infos = circle.infos()
            fall = _incident(circle, neighbour.kinds("inactivity", "not_up"))
            health = render_health(circle.cfg, gather(circle.cfg, circle.store), clock.now()).splitlines()
            seen = _circle_saw(circle, neighbour)
            circle.close()
            events = sum(1 for _ in store.events())
            store.close()
            ann_store.close()
            if embedded:
                embedded.stop()
    if fall:
        print("\nWhat `sentinel incidents` tells of Mary's fall, from the notifier's records:")
        print("\n".join(fall))
    print("\nWhat `sentinel circle-health` tells whoever set up the circle, from the same records:")
    print("\n".join(f"  {line}" if line else "" for line in health))
    ok = _summary(neighbour, events, infos, seen and bool(fall), failure)
    return 0 if ok else 1


def _circle_saw(circle: DemoCircle, neighbour: Neighbour) -> bool:
    """Whether the circle's phones and records show the parts the story tells, beyond the alerts themselves."""
    helps = neighbour.kinds("help")
    steps = [circle.record(a["alert_id"], "step 1") for a in helps]
    refused = [d for a in neighbour.alerts for d in circle.record(a, "refused")]
    checks = {
        # While her own alarm (then her own follow-up) was open, Ann was not asked to go to Mary's help button.
        "Ann spared": len(steps) == 3
        and all("ann: needs help at home, not asked" in s[0] for s in (steps[0], steps[2])),
        "Ann asked to confirm": bool(circle.with_buttons("ann", "movement")),
        "the final call says whom to ring": any("call 112" in n["message"] for n in circle.to("sue", "URGENT")),
        "Tom e-mailed": [e["to"] for e in circle.ntfy.emails] == ["tom@example.org"],
        "a call asked for": any(n.get("actions") for n in circle.to("bob", "asks for a call")),
        "help asked for": bool(circle.with_buttons("sue", "needs some help")),
        "released": bool(circle.with_buttons("sue", "cannot go after all")),
        "forged and replayed refused": refused == ["resolve: forged token", "claim: replayed token"],
        "the test waits for quiet hours": any(
            "after their quiet hours" in d for *_, d in circle.store.member_log("sue", "drill sent")
        ),
    }
    failed = [what for what, ok in checks.items() if not ok]
    if failed:
        print(f"not seen: {', '.join(failed)}")
    return not failed


def _incident(circle: DemoCircle, alerts: list[dict[str, Any]]) -> list[str]:
    """The summary ``sentinel incidents ALERT_ID`` prints of the first of these alerts (not its id, which is random)."""
    incident = circle.store.incident(alerts[0]["alert_id"]) if alerts else None
    if incident is None:
        return []
    lines = list(render(circle.store, incident))
    return lines[2 : lines.index("  Record:")]


def _summary(neighbour: Neighbour, events: int, infos: list[dict[str, Any]], seen: bool, failure: str) -> bool:
    """Print what happened; whether the circle saw all it should (``seen``: the parts around the alerts)."""
    closed = {a["alert_id"]: a for a in neighbour.acks if a.get("what") in ("cancel", "resolve")}
    help_alerts, quiet = neighbour.kinds("help"), neighbour.kinds("inactivity", "not_up")
    titles = [n["title"] for n in infos]
    closers = [closed.get(a["alert_id"], {}).get("who") for a in help_alerts]
    ok = (
        not failure
        and closers == ["resident", "resident", "Sue (over the road)"]
        and len(quiet) == 1
        and closed.get(quiet[0]["alert_id"], {}).get("who") == "Ann (next door)"  # not the sensors: Ann said so
        and seen
        and "checking" in neighbour.states
        and neighbour.states[-1:] == ["ok"]
        and {"Mary: Ann (next door) is going", "Mary: Sue (over the road) is going"} <= set(titles)
        and titles.count("Mary: all clear") >= 4
        and "Mary's monitor is offline" in titles
        and {"Mary: Ann (next door) is there", "Mary: Ann (next door) is with them"} <= set(titles)
        and {"Mary's circle this week", "Your circle today", "How Ann is today"} <= set(titles)
        and "Mary's circle: Ann (next door) did not answer the test" in titles
        and "Mary: nobody is going, please check on them" in titles
    )
    print()
    print(f"Mary's monitor recorded {events} sensor events; they stayed in her home's database.")
    print(
        f"Over the broker from Mary's: {len(neighbour.alerts)} alerts ({len(help_alerts)} help, {len(quiet)} unusual"
        f" quiet), {len(closed)} closed, {neighbour.heartbeats} heartbeats; status {' -> '.join(neighbour.states)}."
    )
    print(f"On the circle's phones: {len(infos)} notices besides the alerts: {', '.join(dict.fromkeys(titles))}.")
    if failure:
        print(f"demo FAILED: {failure}")
    else:
        print("demo OK" if ok else "demo FAILED: the story did not reach the circle as it should")
    return ok
