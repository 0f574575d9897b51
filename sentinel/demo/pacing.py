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
    """Moves the story's clock and steps the homes' agents and the notifier; waits for what each step sends.

    ``agents``: one per home, the story's main home (Mary's) first.
    """

    def __init__(self, clock: ManualClock, agents: list[Agent], circle: DemoCircle, speed: float) -> None:
        self.clock = clock
        self.agent = agents[0]
        self.on = list(agents)  # the monitors switched on
        self.circle = circle
        self.speed = speed
        self._learned = {id(a): 0 for a in agents}
        for agent in agents:
            self._count_learning(agent)
        self._pace_from = (time.monotonic(), clock.now())

    @property
    def running(self) -> bool:
        """Whether the main home's monitor is on."""
        return self.agent in self.on

    def switch_off(self, agent: Agent | None = None) -> None:
        agent = agent or self.agent
        agent.close()
        self.on.remove(agent)

    def _count_learning(self, agent: Agent) -> None:
        """Count the routines the learning process hands back, so the story can wait for each before going on.

        The agent relearns its routine once a day in a process of its own; taken in whenever it happens to
        finish, the new routine would start at a different moment of the story on a busy machine.
        """
        learner = agent.learner
        if learner is None:
            return
        deliver = learner.deliver

        def counted(item) -> None:
            deliver(item)
            self._learned[id(agent)] += 1

        learner.deliver = counted

    def settle(self, condition: Callable[[], object], what: str, circle: bool = True) -> None:
        """Wait in real time, the story's clock standing still, until ``condition`` holds; Stuck if it never does.

        ``circle``: step the notifier meanwhile (not while the homes start up: what it says then would be
        printed among the monitors' first words in whatever order they happened to come).
        """
        deadline = time.monotonic() + SETTLE_S
        while not condition():
            if time.monotonic() > deadline:
                raise Stuck(f"waited {SETTLE_S:g} s for {what}")
            if circle:
                self.circle.step(wait=0.002)  # back as soon as a message reaches the notifier
            else:
                time.sleep(0.002)
            for agent in self.on:
                agent.pump()
        if circle:
            self.circle.step()  # and what the notifier does about it happens now, not at the next step

    def _taken(self, alert_id: str) -> bool:
        """Whether the notifier has opened an incident for the alert."""
        return self.circle.store.incident(alert_id) is not None

    def _relearned(self, agent: Agent) -> bool:
        """Whether every routine the agent's learning process was asked for has been taken in."""
        learner = agent.learner
        return learner is None or (self._learned[id(agent)] >= learner.started and agent.queue.empty())

    def tick(self) -> None:
        """Everything due at the story's current time, and the heartbeats it sends, taken in."""
        if not self.on:
            self.circle.step()
            return
        beats, raised = [a.heartbeats for a in self.on], self._open_alerts()
        states = [(a.status, a.status_since) for a in self.on]
        for agent in self.on:
            agent.pump()
        for agent, state in zip(self.on, states, strict=True):
            if (agent.status, agent.status_since) != state and agent.link.connected:
                # The notifier asks the resident's phone when the status says "checking": as it arrives.
                self.settle(functools.partial(self._status_seen, agent), "the notifier to see the status")
        for new in self._open_alerts() - raised:  # the circle hears of an alert the moment it is raised
            self.settle(functools.partial(self._taken, new), f"the notifier to take {new}")
        for agent in self.on:
            if not self._relearned(agent):
                self.settle(functools.partial(self._relearned, agent), "the routine to be relearned")
        self.circle.step()
        for agent, before in zip(self.on, beats, strict=True):
            if agent.heartbeats != before and agent.link.connected:
                # The notifier stamps a heartbeat when it arrives: let it arrive before the clock moves on.
                self.settle(functools.partial(self._stamped, agent.config.home.id), "a heartbeat")

    def _status_seen(self, agent: Agent) -> bool:
        """Whether the notifier has the agent's status as it stands (when it follows the homes' statuses)."""
        checkins = self.circle.notifier.rhythm.checkins
        if not checkins.wanted():
            return True
        seen, since = checkins.latest.get(agent.config.home.id), agent.status_since
        if seen is None or seen.since is None or since is None:
            return False
        # The status says its time to the second.
        return seen.state == agent.status and seen.since == since.replace(microsecond=0)

    def _stamped(self, home: str) -> bool:
        """Whether the notifier has stamped the home's heartbeat sent now."""
        return self.circle.notifier.silence.last_seen.get(home) == self.clock.now()

    def _open_alerts(self) -> set[str]:
        return {a.alert_id for agent in self.on for a in agent.store.open_alerts(agent.config.home.id)}

    def run(self, until: datetime | None = None, done: Callable[[], object] | None = None, most: float = 0) -> None:
        """Move the clock to ``until``, or until ``done`` holds (at most ``most`` s), stopping at every deadline."""
        limit = until or self.clock.now() + timedelta(seconds=most)
        self.tick()
        while self.clock.now() < limit and not (done and done()):
            now = self.clock.now()
            due = min(limit, self.circle.store.next_step_at() or limit)
            for agent in self.on:
                agent_due = now + timedelta(seconds=max(0.0, agent.next_deadline() - self.clock.monotonic()))
                due = min(due, agent_due)
            self.clock.advance_to(min(limit, now + STEP, max(due, now + timedelta(milliseconds=1))))
            self.tick()
            self._pace()
        if done and not done():
            raise Stuck(f"nothing happened by {limit:%H:%M}")

    def wait(self, seconds: float) -> None:
        self.run(self.clock.now() + timedelta(seconds=seconds))

    def press(self, member: str, label: str, title_word: str) -> None:
        """A member presses a button on their phone; wait until the notifier has read it."""
        message_id = self.circle.press(member, label, title_word)
        if message_id is None:
            raise Stuck(f"{member} has no notification about {title_word!r}")
        self.read(message_id, f"{member}'s press")

    def read(self, message_id: str, what: str) -> None:
        """Wait until the notifier has read this message on the ack topic (and done what it says)."""
        self.settle(lambda: self.circle.store.get_meta("ack_since") == message_id, what)

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        self._pace_from = (time.monotonic(), self.clock.now())

    def _pace(self) -> None:
        """Keep the story readable: no faster than ``speed`` times real time."""
        real0, story0 = self._pace_from
        ahead = (self.clock.now() - story0).total_seconds() / self.speed - (time.monotonic() - real0)
        if ahead > 0:
            time.sleep(ahead)
