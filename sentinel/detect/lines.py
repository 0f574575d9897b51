"""The learned routine as the agent applies it: alert lines per context and half hour, in plain Python.

No numpy here: the agent evaluates the routine with this module alone, while
learning it (``routine.fit``) runs in a process of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, TypeAlias

BINS = 48  # half hours
DAY_S = 86400.0
NOON = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Params:
    """The knobs of the model, in the carer's terms where they have one."""

    false_alerts_per_month: float = 1.0
    floor_s: float = 30 * 60  # never alert sooner
    ceiling_s: float = 16 * 3600  # always alert later than this (after the front door: door_ceiling_s)
    door_ceiling_s: float = 24 * 3600  # after the front door, a day without a sign of life is always checked
    bandwidth_s: float = 3600.0  # how far in time of day a spell counts as "at this time"
    prior_weight: float = 1.0  # how many spells' worth the coarser pattern counts in a context
    learn_prior: bool = True  # the curves' weight is learned from the home (``prior.py``); prior_weight: shares
    half_life_days: float = 28.0  # older weeks count less
    window_days: float = 56.0
    weekend_split_days: float = 21.0  # learn weekends apart once the window holds three weeks
    other_days_weight: float = 0.0  # how much a weekday counts for a weekend (they still share the all-day level)


def params_of(cfg: DetectionConfig) -> Params:
    """The model's knobs as a home's config sets them (the agent's, and the carer's tools given that config)."""
    return Params(
        false_alerts_per_month=cfg.false_alerts_per_month,
        floor_s=cfg.floor,
        ceiling_s=cfg.ceiling,
        window_days=cfg.window_days,
    )


def warmup_of(cfg: DetectionConfig) -> Warmup:
    """The fixed waits while learning, as a home's config sets them."""
    return Warmup(min_days=cfg.learn_days, day_s=cfg.warmup_day, night_s=cfg.warmup_night)


def within_room(line: float, rule: RoomRule | None) -> float:
    """A learned line kept within a room's own floor and ceiling, where the config gives the room some."""
    if rule is None or math.isinf(line):
        return line
    if rule.floor is not None:
        line = max(line, rule.floor)
    return min(line, rule.ceiling) if rule.ceiling is not None else line


Cause = Literal["budget", "floor", "ceiling", "night", "outing", "stray", "warmup", "room floor", "room ceiling"]


@dataclass(frozen=True, slots=True)
class Warmup:
    """Fixed lines used until enough days are learned (conservative on purpose)."""

    min_days: float = 7.0
    day_s: float = 6 * 3600
    night_s: float = 12 * 3600
    night_from: int = 20  # hour
    night_until: int = 8

    def line(self, at: datetime) -> float:
        night = at.hour >= self.night_from or at.hour < self.night_until
        return self.night_s if night else self.day_s


@dataclass(frozen=True, slots=True)
class Limit:
    """How long a quiet spell may last before it is unusual, and what set that line.

    ``budget``: learned, where the false-alert budget puts it; ``floor``/``ceiling``:
    the home's shortest/longest wait; ``night``: the latest usual waking plus the
    floor; ``outing``: never (a place left out of the routine); ``stray``: one
    or two signs of life after the resident went out at ``since``, not taken
    for a return, so the outing's line holds; ``warmup``: the fixed line while
    the routine is learned (after the front door at ``since``: a day without a
    sign of life, or the fixed wait if she came in); ``room floor``/``room
    ceiling``: a room's own limit (``room`` names it).
    """

    seconds: float
    cause: Cause
    room: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Night:
    """The usual night, in seconds after noon: when the resident is usually at rest, and the latest waking."""

    bed_from: float
    usually_up: float
    up_by: float
    nights: int


def tod_seconds(at: datetime) -> float:
    return at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6


def bin_of(at: datetime) -> int:
    return int(tod_seconds(at) // (DAY_S / BINS)) % BINS


EPOCH = datetime(1970, 1, 1)


def wall_seconds(at: datetime) -> float:
    """Local wall-clock seconds since 1970-01-01 (naive: the home's clock reading)."""
    return (at.replace(tzinfo=None) - EPOCH).total_seconds()


if TYPE_CHECKING:
    import numpy as np

    from sentinel.config.detection import DetectionConfig, RoomRule

    Lines: TypeAlias = Sequence[float] | np.ndarray
else:
    Lines = Sequence[float]
"""One value per half hour: a list in the agent, an array where the routine is learned."""


@dataclass
class RoutineModel:
    """Alert lines per context and half hour, learned from a window of spells."""

    params: Params
    days: float
    spells_per_day: float
    price: float  # seconds of delay one false alert is worth, set by the budget
    lines: dict[str, Lines] = field(default_factory=dict)  # seconds per bin; "" for contexts never seen
    weekend_lines: dict[str, Lines] = field(default_factory=dict)  # the same for weekends, once learned apart
    longest: dict[str, Lines] = field(default_factory=dict)  # longest spell seen, per bin (for reasons)
    night: Night | None = None
    doors: frozenset[str] = frozenset()  # contexts of the front door: their ceiling is the door's
    expected_per_month: float = 0.0  # false alerts a month the model expects of its lines as applied
    forced_per_month: float = 0.0  # of which spells longer than the ceilings, which alert whatever the lines
    prior_weight: float = 1.0  # the weight of the coarser levels the curves were drawn with (``prior.py``)
    prior_chosen_s: float | None = None  # when (wall seconds) that weight was learned; None: it was set, not learned

    def line(self, context: str, at: datetime) -> float:
        """Seconds of quiet after which a spell that began at ``at`` in ``context`` is unusual."""
        line = self._learned(context, at)
        if math.isinf(line):
            return line
        if self.night is not None and self.in_night(at):
            # A spell that begins in the usual night may last until the latest usual waking.
            since_noon = (tod_seconds(at) - NOON) % DAY_S
            line = max(line, self.night.up_by + self.params.floor_s - since_noon)
        return min(line, self.upper(context))

    def upper(self, context: str) -> float:
        """The longest line for ``context``: the ceiling, or after the front door the door's."""
        return self.params.door_ceiling_s if context in self.doors else self.params.ceiling_s

    def limit(self, context: str, at: datetime) -> Limit:
        """The line of ``line()`` and what put it there, for the alert's reason."""
        learned, line = self._learned(context, at), self.line(context, at)
        if math.isinf(line):
            return Limit(line, "outing")
        if line > learned:
            return Limit(line, "night")
        # The fit puts a line on the floor or the ceiling only where it would otherwise be beyond it.
        if line <= self.params.floor_s:
            return Limit(line, "floor")
        if line >= self.upper(context):
            return Limit(line, "ceiling")
        return Limit(line, "budget")

    def _learned(self, context: str, at: datetime) -> float:
        """The line of this context and half hour, before the usual night is taken into account."""
        lines = self.weekend_lines if self.weekend_lines and at.weekday() >= 5 else self.lines
        learned = lines.get(context)
        if learned is None:
            # A place never seen here borrows the home's pattern; a door never seen, the door's longest wait.
            return self.params.door_ceiling_s if context in self.doors else float(lines[""][bin_of(at)])
        return float(learned[bin_of(at)])

    def in_night(self, at: datetime) -> bool:
        """Whether ``at`` falls in the usual night."""
        if self.night is None:
            return False
        since_noon = (tod_seconds(at) - NOON) % DAY_S
        return self.night.bed_from <= since_noon < self.night.usually_up
