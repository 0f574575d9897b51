"""The circle's rhythm around the first day: joining, the evening's notes and test, and the morning after.

Nothing here makes the notifier do anything: it does each thing at the time its
circle.yaml says (``configs/demo-circle.yaml``), on the story's clock; the story
only lets the time pass, and taps the buttons the people would tap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sentinel.demo.morning import Morning
from sentinel.demo.pacing import Story
from sentinel.demo.resident import Resident
from sentinel.demo.timeline import Timeline

FAST = 30  # the evening and the night go by this many times faster than the day


class Street:
    """Joining the circles at the start, then the evening and the next morning on the street."""

    def __init__(self, story: Story, morning: Morning, timeline: Timeline, seed: int) -> None:
        self.story = story
        self.morning = morning
        self.mary = morning.mary
        self.timeline = timeline
        self.circle = story.circle
        self.seed = seed
        self._rows: list = []

    def joining(self) -> None:
        """Each member is asked once per home they look out for, and taps 'I agree'."""
        story, tap = self.story, self.morning.tap
        asked = lambda: all(len(self.circle.to(m, "Will you look out for")) >= 2 for m in ("bob", "sue"))  # noqa: E731
        story.run(done=asked, most=300)
        tap("ann", "I agree", "look out for Mary?")
        tap("bob", "I agree", "look out for Mary?")
        tap("bob", "I agree", "look out for Ann?")
        tap("sue", "I agree", "look out for Mary?")
        tap("sue", "I agree", "look out for Ann?")

    def evening(self) -> None:
        """Mary's afternoon and night go by; the test notice, 'are you around?', the keepers' and the daily notes."""
        story, tap = self.story, self.morning.tap
        story.wait(120)
        self.mary.say("the afternoon, evening and night go by as usual (the circle is told none of it)")
        self._rows = self._mary_goes_on(story.clock.now())
        story.set_speed(story.speed * FAST)
        self.live_until(story.clock.now().replace(hour=18, minute=0))
        story.run(done=lambda: self.circle.with_buttons("bob", "Received"), most=600)
        # A test is never urgent: Sue, asleep before her night shift, gets hers when her quiet hours end.
        for _, _, _, detail in self.circle.store.member_log("sue", "drill sent"):
            self.timeline.phone("notifier", f"the test notice to sue goes {detail.partition(' ')[2] or 'now'}")
        self.timeline.phone("Ann's home", "Ann's phone is charging in the hall: she does not see the test")
        story.wait(60)
        tap("bob", "Received", "Received")
        self.live_until(story.clock.now().replace(hour=18, minute=30))
        story.run(done=lambda: self.circle.with_buttons("bob", "around"), most=600)
        story.wait(60)
        tap("sue", "Received", "Received")
        away = next(a["label"] for a in self.circle.with_buttons("bob", "around")[-1]["actions"])
        tap("bob", away, "around")
        self.live_until(story.clock.now().replace(hour=19, minute=0))
        story.run(done=lambda: self.circle.to("bob", "this week"), most=600)
        # Two minutes before Bob's note the notifier asks both homes for their status: their answers are in
        # before the note, at any pace (the story's clock stands still until they are). It looks at its times of
        # day every 30 s of the story, so it asks within 30 s of 19:28, not at 19:28 sharp (before, the story
        # stood still at 19:28 waiting for answers to a question not yet asked, on a busy machine now and then).
        asked = story.clock.now().replace(hour=19, minute=28, second=0, microsecond=0)
        self.live_until(asked)
        asks = self.circle.notifier.rhythm.daily.asks.values()
        story.run(done=lambda: all(ask.next(story.clock.now()) > asked for ask in asks), most=120)
        seen, homes = self.circle.notifier.rhythm.checkins.latest, [h.id for h in self.circle.cfg.homes]
        story.settle(lambda: all(h in seen and seen[h].at >= asked for h in homes), "the homes' statuses")
        self.live_until(story.clock.now().replace(hour=19, minute=30))
        story.run(done=lambda: self.circle.to("bob", "Your circle"), most=600)

    def next_morning(self) -> None:
        """The night nobody answers; the silent phone named; the follow-ups; Bob back; the one going cannot."""
        story = self.story
        tomorrow = story.clock.now() + timedelta(days=1)
        self.night(tomorrow.replace(hour=2, minute=10))
        self.live_until(tomorrow.replace(hour=8, minute=0))
        story.run(done=lambda: self.circle.to("bob", "did not answer"), most=600)
        self.live_until(tomorrow.replace(hour=8, minute=30))
        self.morning.checks_in()
        self.live_until(tomorrow.replace(hour=9, minute=0))
        story.run(done=lambda: self.circle.with_buttons("ann", "How is Mary"), most=600)
        story.set_speed(story.speed / FAST)
        self.follow_ups()
        self.released()

    def night(self, at: datetime) -> None:
        """Mary calls for help in the night and nobody answers: the final call says whom to ring, then Tom's e-mail."""
        mary, story = self.mary, self.story
        self.live_until(at)
        story.set_speed(story.speed / FAST)  # at the day's pace, to be followed
        help_id = mary.holds_help(
            "Mary feels unwell in the night, sits down in the living room and holds the help button (3 s)"
        )
        self.morning.first_step(help_id, " (bob is away)")
        self.timeline.phone("street", "Ann's phone is still in her hall, Sue is at work on her night shift")
        story.run(done=lambda: self.circle.to("bob", "nobody is going"), most=1800)
        story.wait(120)
        mary.say("Tom reads the e-mail and rings Mary: she feels better now, and presses the button once: I'm OK")
        mary.press(0.4)
        self.morning.cancelled(help_id)
        story.set_speed(story.speed * FAST)

    def follow_ups(self) -> None:
        """'How is Mary today?': Ann would like a call. 'How is Ann today?': she needs help, and Sue will go."""
        story, tap = self.story, self.morning.tap
        story.wait(120)
        tap("ann", "Call me", "How is Mary")
        story.wait(60)
        self.timeline.phone("Bob's phone", "> Bob taps 'Call Ann (next door)': Mary is shaky after her fall")
        story.wait(60)
        tap("bob", "Needs help", "How is Ann")
        story.run(done=lambda: self.circle.with_buttons("sue", "needs some help"), most=600)
        story.wait(60)
        tap("sue", "I'm going", "needs some help")
        story.wait(60)
        tap("bob", "Back", "around")
        story.wait(60)

    def released(self) -> None:
        """Mary's help button again: Bob is going, then cannot after all; the circle goes on, and Sue goes."""
        mary, story, tap = self.mary, self.story, self.morning.tap
        mary.at(9, 15)
        help_id = mary.holds_help("Mary feels dizzy and holds the help button (3 s)")
        self.morning.first_step(help_id)
        story.wait(60)
        tap("bob", "I'm going", "Mary: pressed")
        story.wait(120)
        self.timeline.phone("street", "Bob's car will not start")
        tap("bob", "I can't go after all", "Mary: you are going")
        story.wait(30)
        message_id = self.circle.replay("bob", "I'm going", "Mary: pressed")
        self.timeline.phone("Bob's phone", "sends his earlier 'I'm going' again (a retry on a weak signal)")
        self.morning.refused(help_id, message_id)
        story.wait(30)
        tap("sue", "I'm going", "cannot go after all")
        story.wait(180)
        tap("sue", "With Mary", "Mary: you are going")
        story.wait(60)
        mary.say("Sue sits with Mary until the dizziness passes")
        tap("sue", "All OK", "Mary: you are with them")
        self.morning.resolved(mary, help_id)
        story.wait(60)

    def _mary_goes_on(self, after: datetime) -> list:
        """Mary's movements from ``after`` to the next midday, from the simulated resident."""
        midnight = after.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        known = {s.name for s in self.mary.config.sensors}
        rows = Resident(seed=self.seed + 1).days(midnight, 2)
        tz = after.tzinfo
        return [r for r in rows if r.sensor in known and after <= r.at.replace(tzinfo=tz) < after + timedelta(hours=22)]

    def live_until(self, until: datetime) -> None:
        """Mary's movements up to ``until`` reach the monitor, each at its time, without a word."""
        while self._rows and self._rows[0].at.replace(tzinfo=until.tzinfo) <= until:
            row = self._rows.pop(0)
            self.story.run(max(self.story.clock.now(), row.at.replace(tzinfo=until.tzinfo)))
            if row.sensor == "front_door":
                self.mary.door(bool(row.value))
            else:
                self.mary.level(row.sensor, bool(row.value))
        self.story.run(until)
