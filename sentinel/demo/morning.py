"""The demo's first day: Mary's morning, Ann's faint spell next door, Mary's fall, and Ann going to her."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from gpiozero.pins.mock import MockFactory

from sentinel.agent.app import Agent
from sentinel.demo.pacing import Story
from sentinel.demo.timeline import Neighbour, Timeline
from sentinel.notifier.health import PRESSES


class Person:
    """Someone at home on simulated pins, with a little seeded randomness in their timing."""

    def __init__(self, story: Story, agent: Agent, factory: MockFactory, timeline: Timeline, seed: int) -> None:
        self.story = story
        self.agent = agent
        self.config = agent.config
        self.name = agent.config.home.name
        self.factory = factory
        self.timeline = timeline
        self.rng = random.Random(seed)

    def say(self, text: str) -> None:
        """A line about what happens in this home."""
        self.timeline.phone(f"{self.name}'s home", text)

    def _pin(self, sensor: str):
        return self.factory.pin(self.config.sensor(sensor).pin)

    def at(self, hh: int, mm: int, jitter_min: float = 0) -> None:
        base = self.story.clock.now().replace(hour=hh, minute=mm, second=0, microsecond=0)
        self.story.run(base + timedelta(minutes=self.rng.uniform(0, jitter_min)))

    def move(self, sensor: str, what: str = "", seen: Callable[[], object] | None = None) -> None:
        """Movement for a few seconds; ``seen``: what must follow from it before the story goes on."""
        if what:
            self.say(what)
        pin = self._pin(sensor)
        pin.drive_high()
        self.story.tick()
        if seen is not None:
            self.story.settle(seen, f"what follows {what}")
        self.story.wait(self.rng.uniform(5, 20))
        pin.drive_low()
        self.story.tick()

    def level(self, sensor: str, high: bool) -> None:
        """A sensor's pin goes high or low (for a day replayed without a word)."""
        (self._pin(sensor).drive_high if high else self._pin(sensor).drive_low)()
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

    def holds_help(self, what: str) -> str:
        """Holds the help button for 3 s, as ``what`` says; the id of the alert it raised."""
        self.say(what)
        self.press(3)
        return self.open_alert("help")

    def open_alert(self, kind: str) -> str:
        """The id of the alert of this kind this home's agent has open."""
        found = [a.alert_id for a in self.agent.store.open_alerts(self.config.home.id) if a.kind == kind]
        return found[-1] if found else ""


class Morning:
    """The first day's story: what Mary and Ann do, and what the circle does about it."""

    def __init__(self, story: Story, mary: Person, ann: Person, neighbour: Neighbour, timeline: Timeline) -> None:
        self.story = story
        self.mary = mary
        self.ann = ann
        self.neighbour = neighbour
        self.timeline = timeline
        self.circle = story.circle

    def tap(self, member: str, label: str, title_word: str) -> None:
        """A member taps a button on their phone, and the notifier has read it."""
        name = self.circle.name_of(member)
        self.timeline.phone(f"{name}'s phone", f"> {name} taps '{label}'")
        self.story.press(member, label, title_word)

    def refused(self, alert_id: str, message_id: str) -> None:
        """The notifier has read a press it does not take; say why, as its record says."""
        self.story.read(message_id, "the notifier to read the press")
        refused = [(member, said) for _, what, member, said in self.circle.store.steps(alert_id) if what == "refused"]
        for member, said in refused[-1:]:
            action, _, reason = said.partition(": ")
            name = self.circle.name_of(member) if member else "someone"
            self.timeline.phone("notifier", f"refused '{PRESSES.get(action, action)}' in {name}'s name: {reason}")

    def forged(self, alert_id: str) -> None:
        """Someone who has seen Ann's notifications tries to close Mary's alert in her name: the signature is wrong."""
        self.timeline.phone(
            "a stranger", "copies a button from Ann's notification, makes it 'All OK' and posts it to the circle"
        )
        message_id = self.circle.forge("ann", "I'm there", "you are going", "resolve", "All is well.")
        self.refused(alert_id, message_id)

    def first_step(self, alert_id: str, why: str = "") -> None:
        """Who the notifier told first of Mary's alert, as its record says (``why``: added to the line)."""
        for told in self.circle.record(alert_id, "step 1"):
            self.timeline.phone("notifier", f"Mary's alert, step 1: told {told}{why}")

    def cancelled(self, alert_id: str) -> None:
        """Go on until the resident's press has closed the alert (a single press is known once no second follows)."""
        agent, home = self.mary.agent, self.mary.config.home.id
        self.story.run(done=lambda: not agent.store.open_alerts(home), most=60)
        self.story.settle(lambda: self.circle.store.is_closed(alert_id), "the circle to hear it is over")

    def resolved(self, person: Person, alert_id: str) -> None:
        """Wait until the circle's all-clear has reached the monitor."""
        agent, home = person.agent, person.config.home.id
        self.story.settle(lambda: self.circle.store.is_closed(alert_id), "the circle to close it")
        self.story.settle(lambda: not agent.store.open_alerts(home), "the monitor to hear it is over")

    def run(self) -> None:
        mary, story = self.mary, self.story
        mary.door(False)  # the door is shut when the monitor starts
        # She gets up a while after that: a sign of life soon after the door would be "up" from 06:55 on.
        mary.at(7, 20, 15)
        mary.move("bedroom_pir", "Mary gets up (bedroom motion)")
        story.wait(300)
        mary.move("bathroom_pir", "bathroom")
        mary.at(7, 45, 10)
        mary.move("kitchen_pir", "breakfast (kitchen motion)")
        story.wait(900)
        mary.move("living_pir", "reads the paper (living room)")
        self.checks_in()
        mary.at(9, 10, 10)
        mary.say("Mary goes out (front door)")
        mary.door(True)
        story.wait(5)
        mary.door(False)
        mary.at(10, 40, 10)
        mary.say("Mary is back (front door)")
        mary.door(True)
        story.wait(5)
        mary.door(False)
        mary.move("living_pir", "living room")
        self.next_door()
        mary.at(11, 30, 5)
        mary.move("kitchen_pir", "makes lunch (kitchen motion)")
        story.wait(300)
        self.fall()

    def checks_in(self) -> None:
        """Mary's phone offers 'I'm OK today' at the time she chose; she taps it, and her monitor hears it."""
        story, agent = self.story, self.mary.agent
        home = self.mary.config.home.id
        story.run(done=lambda: self.circle.with_buttons(home, "Hello"), most=6 * 3600)
        story.wait(60)
        before = agent.journal.get_setting("last_checkin")
        self.tap(home, "I'm OK today", "Hello")
        # The notifier passes it on as the monitor's own "I'm OK": it is the monitor's check-in from then on.
        story.settle(lambda: agent.journal.get_setting("last_checkin") != before, "the monitor to hear Mary is OK")

    def next_door(self) -> None:
        """Ann's own alarm is open when Mary's help button goes off: Ann is not asked to go to Mary's."""
        mary, ann, story = self.mary, self.ann, self.story
        ann.at(10, 58)
        ann_help = ann.holds_help("Ann feels faint and holds her help button (3 s)")
        mary.at(11, 0)
        help_id = mary.holds_help("Mary leans on the help button by mistake (holds it 3 s)")
        self.first_step(help_id)
        story.wait(90)
        mary.say("Mary presses the button once: I'm OK")
        mary.press(0.4)
        self.cancelled(help_id)
        story.wait(20)
        ann.say("Bob rings Ann: she had not eaten, and is fine now")
        self.tap("bob", "I called, all OK", "Ann:")
        self.resolved(ann, ann_help)

    def fall(self) -> None:
        """Mary falls; the monitor asks her, then the circle; Ann goes, and says so on her phone."""
        mary, story = self.mary, self.story
        mary.say("Mary falls in the kitchen and cannot get up (no more movement)")
        story.set_speed(story.speed * 5)  # fast-forward through the quiet
        story.run(done=lambda: mary.open_alert("inactivity") or mary.open_alert("not_up"), most=17 * 3600)
        story.set_speed(story.speed / 5)
        quiet_id = mary.open_alert("inactivity") or mary.open_alert("not_up")
        # Bob is first in Mary's tiers as written; the circle starts each round with the one best placed to go.
        story.settle(lambda: self.circle.record(quiet_id, "step 1"), "the circle's first step")
        self.first_step(quiet_id, ", the nearest (a key, 2 min away; bob is first as written)")

        # Ann does not see it at first; five minutes later Bob is asked too. He is at work across town and says
        # so (the walk does not wait on him again), and then Ann answers.
        story.run(done=lambda: self.circle.with_buttons("bob", "quiet"), most=3600)
        story.wait(30)
        self.tap("bob", "I can't go", "quiet")
        story.wait(30)
        self.tap("ann", "I'm going", "quiet")
        story.settle(lambda: mary.agent.store.claimed_by(quiet_id), "the monitor to hear Ann is going")
        story.wait(300)
        self.forged(quiet_id)
        story.wait(540)
        self.tap("ann", "I'm there", "you are going")
        story.wait(60)
        walks_in = "Ann lets herself in (living room motion): the monitor cannot tell her from Mary"
        mary.move("living_pir", walks_in, seen=lambda: self.circle.with_buttons("ann", "movement"))
        story.wait(60)
        self.tap("ann", "With Mary", "you are going")
        story.wait(60)
        mary.say("Ann helps Mary up; all is well")
        self.tap("ann", "All OK", "movement")
        self.resolved(mary, quiet_id)
        story.settle(lambda: self.neighbour.states[-1:] == ["ok"], "the status to say all is well")
