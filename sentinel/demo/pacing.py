"""The story's virtual time: its clock moves only when the story moves it, and waits for what each step sends."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sentinel.agent.app import Agent
from sentinel.clock import ManualClock
from sentinel.demo.circle import DemoCircle
from sentinel.errors import SentinelError

STEP = timedelta(seconds=30)  # the story never jumps further than this: the notifier's timers are minutes long
SETTLE_S = 30.0  # real seconds a message may take before the demo gives up on it


class Stuck(SentinelError, RuntimeError):
    """Something the story waits for did not happen."""


class Story:
    """Moves the story's clock and steps the agent and the notifier; waits for what each step sends."""

    def __init__(self, clock: ManualClock, agent: Agent, circle: DemoCircle, speed: float) -> None:
        self.clock = clock
        self.agent = agent
        self.circle = circle
        self.speed = speed
        self.running = True  # the monitor is on
        self._pace_from = (time.monotonic(), clock.now())

    def switch_off(self) -> None:
        self.agent.close()
        self.running = False

    def settle(self, condition: Callable[[], object], what: str) -> None:
        """Wait in real time, the story's clock standing still, until ``condition`` holds; Stuck if it never does."""
        deadline = time.monotonic() + SETTLE_S
        while not condition():
            if time.monotonic() > deadline:
                raise Stuck(f"waited {SETTLE_S:g} s for {what}")
            time.sleep(0.005)
            if self.running:
                self.agent.pump()
            self.circle.step()
        self.circle.step()  # and what the notifier does about it happens now, not at the next step

    def _taken(self, alert_id: str) -> bool:
        """Whether the notifier has opened an incident for the alert."""
        return self.circle.store.incident(alert_id) is not None

    def tick(self) -> None:
        """Everything due at the story's current time, and the heartbeat it sends, taken in."""
        if not self.running:
            self.circle.step()
            return
        beats, raised = self.agent.heartbeats, self._open_alerts()
        self.agent.pump()
        for new in self._open_alerts() - raised:  # the circle hears of an alert the moment it is raised
            self.settle(functools.partial(self._taken, new), f"the notifier to take {new}")
        self.circle.step()
        if self.agent.heartbeats != beats and self.agent.link.connected:
            # The notifier stamps a heartbeat when it arrives: let it arrive before the clock moves on.
            home = self.agent.config.home.id
            self.settle(lambda: self.circle.notifier.silence.last_seen.get(home) == self.clock.now(), "a heartbeat")

    def _open_alerts(self) -> set[str]:
        return {a.alert_id for a in self.agent.store.open_alerts(self.agent.config.home.id)}

    def run(self, until: datetime | None = None, done: Callable[[], object] | None = None, most: float = 0) -> None:
        """Move the clock to ``until``, or until ``done`` holds (at most ``most`` s), stopping at every deadline."""
        limit = until or self.clock.now() + timedelta(seconds=most)
        self.tick()
        while self.clock.now() < limit and not (done and done()):
            now = self.clock.now()
            due = min(limit, self.circle.store.next_step_at() or limit)
            if self.running:
                agent_due = now + timedelta(seconds=max(0.0, self.agent.next_deadline() - self.clock.monotonic()))
                due = min(due, agent_due)
            self.clock.advance_to(min(limit, now + STEP, max(due, now + timedelta(milliseconds=1))))
            self.tick()
            self._pace()
        if done and not done():
            raise Stuck(f"nothing happened by {limit:%H:%M}")

    def wait(self, seconds: float) -> None:
        self.run(self.clock.now() + timedelta(seconds=seconds))

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        self._pace_from = (time.monotonic(), self.clock.now())

    def _pace(self) -> None:
        """Keep the story readable: no faster than ``speed`` times real time."""
        real0, story0 = self._pace_from
        ahead = (self.clock.now() - story0).total_seconds() / self.speed - (time.monotonic() - real0)
        if ahead > 0:
            time.sleep(ahead)
