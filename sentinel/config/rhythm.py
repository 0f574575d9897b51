"""The circle's rhythm in the notifier's config: drills, the keepers' and members' weekly notes, follow-ups."""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.config.schema import Seconds, setting
from sentinel.config.values import _between, _clock

DAY = 86400


@dataclass(frozen=True, slots=True)
class DrillConfig:
    """A test notice to every member now and then, to prove each phone still rings."""

    every: Seconds = setting(
        Seconds(30 * DAY),
        doc="How often every member gets a test notice (e.g. 30d).",
        check=_between(7 * DAY, 365 * DAY),
    )
    answer_within: Seconds = setting(
        Seconds(DAY),
        doc="A member who has not tapped 'Received' after this long is named to the home's keepers.",
        check=_between(600, 2 * DAY),  # the button works for two days: the window must end before it does
    )
    at: str = setting("11:00", doc="The time of day the test notice goes out (HH:MM).", check=_clock)


@dataclass(frozen=True, slots=True)
class HealthReportConfig:
    """A note to each home's keepers on how its circle stands: who agreed, who answered the drill, who is away."""

    every: Seconds = setting(Seconds(7 * DAY), doc="How often (e.g. 7d).", check=_between(DAY, 90 * DAY))
    at: str = setting("18:00", doc="The time of day it goes out (HH:MM).", check=_clock)


@dataclass(frozen=True, slots=True)
class AvailabilityConfig:
    """A note to every member with buttons to say they are away, and back, without editing this file."""

    every: Seconds = setting(Seconds(7 * DAY), doc="How often (e.g. 7d).", check=_between(DAY, 90 * DAY))
    at: str = setting("18:00", doc="The time of day it goes out (HH:MM).", check=_clock)


@dataclass(frozen=True, slots=True)
class FollowUpConfig:
    """After an incident, the one who went is asked how the resident is."""

    at: str = setting("09:00", doc="The time of day the question goes out, the morning after (HH:MM).", check=_clock)
