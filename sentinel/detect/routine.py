"""The learned routine: how long quiet spells last, by where they began and when.

A quiet spell starts with a sign of life and ends with the next one. Its
*context* is the sensor (and, for two-state sensors, the value) that fired
last: "where the person last was", in the only words the home has. A spell
after the bed mat turned occupied is sleep; after the front door, an outing or
the first minutes back home; after the kitchen cupboard at 10:00, a few
minutes at most, unless the resident slipped out without the door sensor
noticing, which the history also tells (such a spell ends with someone
arriving at the door).

For every context and time of day the model estimates P(spell > x), and one
price for a false alert, set from the budget, places every line (see ``fit``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

from sentinel.detect.night import NOON, Night, learn_night
from sentinel.detect.rule import Rule
from sentinel.detect.survival import BINS, DAY_S, context_stats, outing_curve

__all__ = ["BINS", "DAY_S", "NOON", "Limit", "Night", "Params", "RoutineModel", "Spell", "SpellTable", "fit"]


@dataclass(frozen=True, slots=True)
class Spell:
    """A completed quiet spell; ``absence``: it ended with someone arriving at the front door."""

    start: datetime
    context: str
    seconds: float
    ended_by: str | None = None
    absence: bool = False


@dataclass(frozen=True, slots=True)
class Params:
    """The knobs of the model, in the carer's terms where they have one."""

    false_alerts_per_month: float = 1.0
    floor_s: float = 30 * 60  # never alert sooner
    ceiling_s: float = 16 * 3600  # always alert later than this (after the front door: door_ceiling_s)
    door_ceiling_s: float = 24 * 3600  # after the front door, a day without a sign of life is always checked
    bandwidth_s: float = 3600.0  # how far in time of day a spell counts as "at this time"
    prior_weight: float = 1.0  # how many spells' worth the coarser pattern counts in a context
    half_life_days: float = 28.0  # older weeks count less
    window_days: float = 56.0
    weekend_split_days: float = 21.0  # learn weekends apart once the window holds three weeks
    other_days_weight: float = 0.0  # how much a weekday counts for a weekend (they still share the all-day level)


Cause = Literal["budget", "floor", "ceiling", "night", "outing", "stray", "warmup", "room floor", "room ceiling"]


@dataclass(frozen=True, slots=True)
class Limit:
    """How long a quiet spell may last before it is unusual, and what set that line.

    ``budget``: learned, where the false-alert budget puts it; ``floor``/``ceiling``:
    the home's shortest/longest wait; ``night``: the latest usual waking plus the
    floor; ``outing``: never (the person is probably out; while learning, or
    with ``not_back`` off and no line learned); ``stray``: one or two signs
    of life after the resident went out at ``since``, not taken for a return,
    so the outing's line holds; ``warmup``: the fixed line while the routine
    is learned; ``room floor``/``room ceiling``: a room's own limit (``room``
    names it).
    """

    seconds: float
    cause: Cause
    room: str | None = None
    since: datetime | None = None


def tod_seconds(at: datetime) -> float:
    return at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6


def bin_of(at: datetime) -> int:
    return int(tod_seconds(at) // (DAY_S / BINS)) % BINS


@dataclass
class RoutineModel:
    """Alert lines per context and half hour, learned from a window of spells."""

    params: Params
    days: float
    spells_per_day: float
    price: float  # seconds of delay one false alert is worth, set by the budget
    lines: dict[str, np.ndarray] = field(default_factory=dict)  # seconds per bin; "" for contexts never seen
    weekend_lines: dict[str, np.ndarray] = field(default_factory=dict)  # the same for weekends, once learned apart
    longest: dict[str, np.ndarray] = field(default_factory=dict)  # longest spell seen, per bin (for reasons)
    night: Night | None = None
    doors: frozenset[str] = frozenset()  # contexts of the front door: their ceiling is the door's
    expected_per_month: float = 0.0  # false alerts a month the model expects of its lines as applied
    forced_per_month: float = 0.0  # of which spells longer than the ceilings, which alert whatever the lines

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


EPOCH = datetime(1970, 1, 1)


def wall_seconds(at: datetime) -> float:
    """Local wall-clock seconds since 1970-01-01 (naive: the home's clock reading)."""
    return (at.replace(tzinfo=None) - EPOCH).total_seconds()


@dataclass(frozen=True, slots=True)
class SpellTable:
    """Spells as arrays: start (wall seconds), duration, context code, the code that ended it (-1 unknown), absence."""

    start: np.ndarray
    seconds: np.ndarray
    context: np.ndarray
    names: tuple[str, ...]
    end: np.ndarray | None = None
    absence: np.ndarray | None = None

    @classmethod
    def of(cls, spells: Sequence[Spell]) -> SpellTable:
        names = tuple(sorted({s.context for s in spells} | {s.ended_by for s in spells if s.ended_by}))
        code = {n: i for i, n in enumerate(names)}
        return cls(
            np.array([wall_seconds(s.start) for s in spells], dtype=float),
            np.array([s.seconds for s in spells], dtype=float),
            np.array([code[s.context] for s in spells], dtype=int),
            names,
            np.array([code[s.ended_by] if s.ended_by else -1 for s in spells], dtype=int),
            np.array([s.absence for s in spells], dtype=bool),
        )


def fit(
    spells: Sequence[Spell] | SpellTable,
    now: datetime,
    params: Params,
    left_out: frozenset[str] = frozenset(),
    doors: frozenset[str] = frozenset(),
    arrivals: frozenset[str] = frozenset(),
    price_hint: float | None = None,
) -> RoutineModel:
    """Learn the alert lines from the spells in the window before ``now``.

    ``doors`` are the contexts of the front door going out, ``arrivals`` those
    of coming in: spells from either that end at the door again are outings.
    A spell elsewhere that ended with someone arriving is an
    outing the door did not see; how often that happens, per context and time
    of day, mixes the home's outing lengths into that context's curve.
    ``left_out`` contexts are not learned and never raise an alert.
    ``price_hint``: yesterday's price, where the search for today's starts.
    """
    table = spells if isinstance(spells, SpellTable) else SpellTable.of(spells)
    n_names = len(table.names)
    now_s = wall_seconds(now)
    age = (now_s - table.start) / DAY_S
    inside = np.array([name not in left_out for name in table.names], dtype=bool)
    keep = (age >= 0) & (age <= params.window_days) & inside[table.context] if n_names else age < 0
    if not keep.any():
        raise ValueError("no spells to learn from")
    end = table.end if table.end is not None else np.full(len(table.start), -1)
    absence = table.absence if table.absence is not None else np.zeros(len(table.start), dtype=bool)
    start, seconds, context, age = table.start[keep], table.seconds[keep], table.context[keep], age[keep]
    end, absence = end[keep], absence[keep]
    door_names = doors | arrivals
    is_door = np.array([name in door_names for name in table.names] + [False], dtype=bool)  # [-1]: unknown
    absence = absence & ~is_door[context]
    days = max(1.0, float(age.max()))
    tod = start % DAY_S
    recency = 0.5 ** (age / params.half_life_days)
    log_gap = np.log(np.maximum(seconds, 1.0))
    weekend = ((np.floor(start / DAY_S) + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    groups = (
        {
            "weekday": np.where(weekend, params.other_days_weight, 1.0),
            "weekend": np.where(weekend, 1.0, params.other_days_weight),
        }
        if days >= params.weekend_split_days
        else {"all": np.ones(len(start))}
    )
    codes = np.unique(context)
    stats = context_stats(codes, context, tod, log_gap, seconds, recency, absence, groups, params.bandwidth_s)
    prior = params.prior_weight
    home = ~absence

    # "When": the whole home at this time of day; "where": this context at any time; then both together.
    home_survival = stats.above.sum(axis=1) / np.maximum(stats.weight.sum(axis=1), 1e-12)[:, :, None]
    all_day = (stats.above_all_day[None, :, None, :] + prior * home_survival[:, None]) / (
        stats.weight_all_day[None, :, None, None] + prior
    )
    survival = ((stats.above + prior * all_day) / (stats.weight[..., None] + prior)).astype(np.float32)

    # How often a spell of this context, at this time of day, was an outing the door did not see.
    home_share = stats.absent.sum(axis=1) / np.maximum(stats.total.sum(axis=1), 1e-12)  # groups x bins
    context_share = (stats.absent_all_day[None, :, None] + prior * home_share[:, None, :]) / (
        stats.total_all_day[None, :, None] + prior
    )
    share = (stats.absent + prior * context_share) / (stats.total + prior)
    share[:, is_door[codes]] = 0.0  # the door's own spells are learned as they are, outings included
    if absence.any():  # without an unrecorded outing in the window, every share is 0
        outing = (is_door[context] & is_door[end] & (seconds >= params.floor_s)) | absence
        out_curve = outing_curve(tod[outing], log_gap[outing], recency[outing], params.bandwidth_s, prior)
        survival = (1 - share[..., None]) * survival + share[..., None] * out_curve[None, None]
        home_survival = (1 - home_share[..., None]) * home_survival + home_share[..., None] * out_curve[None]

    effective_days = float(np.sum(0.5 ** (np.arange(math.ceil(days)) / params.half_life_days)))
    rate = stats.starts / effective_days  # spells starting per day in each cell (own day type only)
    night = learn_night(start[home & ~is_door[context]], seconds[home & ~is_door[context]])  # rest is at home
    upper = np.array([params.door_ceiling_s if table.names[c] in doors else params.ceiling_s for c in codes])
    rule = Rule(survival.astype(np.float32), rate, params.floor_s, upper, night)
    price = rule.price(params.false_alerts_per_month / 30.0, price_hint)
    model = RoutineModel(
        params,
        days,
        len(start) / days,
        price,
        night=night,
        doors=doors,
        expected_per_month=30 * rule.expected(price),
        forced_per_month=30 * rule.forced,
    )
    chosen = rule.lines(price)
    homes = Rule(
        home_survival[:, None],
        np.zeros((len(groups), 1, BINS)),
        params.floor_s,
        np.array([params.ceiling_s]),
        night,
    )
    unseen = homes.lines(price)[:, 0]
    for g, name in enumerate(groups):
        lines = model.weekend_lines if name == "weekend" else model.lines
        for i, code in enumerate(codes):
            lines[table.names[code]] = chosen[g, i]
        lines[""] = unseen[g]  # for contexts never seen
        for gone in left_out:
            lines[gone] = np.full(BINS, math.inf)
    for i, code in enumerate(codes):
        model.longest[table.names[code]] = stats.longest[i]
    return model
