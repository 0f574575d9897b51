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
        story.run(done=lambda: len(self.circle.to("bob", "Will you look out for")) >= 2, most=300)
        tap("ann", "I agree", "look out for Mary?")
        tap("bob", "I agree", "look out for Mary?")
        tap("bob", "I agree", "look out for Ann?")

    def evening(self) -> None:
        """Mary's afternoon and night go by; the test notice, 'are you around?', the keepers' and the daily notes."""
        story, tap = self.story, self.morning.tap
        story.wait(120)
        self.mary.say("the afternoon, evening and night go by as usual (the circle is told none of it)")
        self._rows = self._mary_goes_on(story.clock.now())
        story.set_speed(story.speed * FAST)
        self.live_until(story.clock.now().replace(hour=18, minute=0))
        story.run(done=lambda: self.circle.with_buttons("bob", "Received"), most=600)
        self.timeline.phone("Ann's home", "Ann's phone is charging in the hall: she does not see the test")
        story.wait(60)
        tap("bob", "Received", "Received")
        self.live_until(story.clock.now().replace(hour=18, minute=30))
        story.run(done=lambda: self.circle.with_buttons("bob", "around"), most=600)
        story.wait(60)
        away = next(a["label"] for a in self.circle.with_buttons("bob", "around")[-1]["actions"])
        tap("bob", away, "around")
        self.live_until(story.clock.now().replace(hour=19, minute=0))
        story.run(done=lambda: self.circle.to("bob", "this week"), most=600)
        self.live_until(story.clock.now().replace(hour=19, minute=30))
        story.run(done=lambda: self.circle.to("bob", "Your circle"), most=600)

    def next_morning(self) -> None:
        """The silent phone named to the keepers; 'How is Mary today?'; Bob back."""
        story, tap = self.story, self.morning.tap
        tomorrow = story.clock.now() + timedelta(days=1)
        self.live_until(tomorrow.replace(hour=8, minute=0))
        story.run(done=lambda: self.circle.to("bob", "did not answer"), most=600)
        self.live_until(tomorrow.replace(hour=8, minute=30))
        self.morning.checks_in()
        self.live_until(tomorrow.replace(hour=9, minute=0))
        story.run(done=lambda: self.circle.with_buttons("ann", "How is Mary"), most=600)
        story.set_speed(story.speed / FAST)
        story.wait(120)
        tap("ann", "Fine", "How is Mary")
        story.wait(60)
        tap("bob", "Fine", "How is Ann")
        story.wait(60)
        tap("bob", "Back", "around")
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
