"""The learned routine: how long quiet spells last, by where they began and when.

A quiet spell starts with a sign of life and ends with the next one. Its
*context* is the sensor (and, for two-state sensors, the value) that fired
last: "where the person last was", in the only words the home has. A spell
after the bed mat turned occupied is sleep; after the front door closed, maybe
an outing; after the kitchen cupboard at 10:00, a few minutes at most.

For every context and time of day the model estimates P(spell > x) from the
spells that began in that context near that time of day, shrunk towards all
spells near that time of day (so a context seen a few times borrows the
home's general pattern), and sets the alert line where that probability falls
to ``alpha``. ``alpha`` comes from the false-alert budget: with N spells a day
and a budget of B alerts a month, alpha = B / (30 N).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

BINS = 48  # half hours
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Spell:
    """A completed quiet spell."""

    start: datetime
    context: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Params:
    """The knobs of the model, in the carer's terms where they have one."""

    false_alerts_per_month: float = 1.0
    floor_s: float = 30 * 60  # never alert sooner
    ceiling_s: float = 16 * 3600  # always alert later than this (except after an outside door)
    bandwidth_s: float = 3600.0  # how far in time of day a spell counts as "at this time"
    prior_weight: float = 1.0  # how many spells' worth the home-wide pattern counts in a context
    half_life_days: float = 28.0  # older weeks count less
    window_days: float = 56.0
    weekend_split_days: float = 21.0  # learn weekends apart once the window holds three weeks
    other_days_weight: float = 0.0  # how much a weekday counts for a weekend (they still share the all-day level)


Cause = Literal["budget", "floor", "ceiling", "night", "outing", "warmup", "room floor", "room ceiling"]


@dataclass(frozen=True, slots=True)
class Limit:
    """How long a quiet spell may last before it is unusual, and what set that line.

    ``budget``: learned, where the false-alert budget puts it; ``floor``/``ceiling``:
    the home's shortest/longest wait; ``night``: the latest usual waking plus the
    floor; ``outing``: never (the person is probably out); ``warmup``: the fixed
    line while the routine is learned; ``room floor``/``room ceiling``: a room's
    own limit (``room`` names it).
    """

    seconds: float
    cause: Cause
    room: str | None = None


def tod_seconds(at: datetime) -> float:
    return at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6


def bin_of(at: datetime) -> int:
    return int(tod_seconds(at) // (DAY_S / BINS)) % BINS


@dataclass
class RoutineModel:
    """Alert lines per context and quarter hour, learned from a window of spells."""

    params: Params
    days: float
    spells_per_day: float
    price: float  # seconds of delay one false alert is worth, set by the budget
    lines: dict[str, np.ndarray] = field(default_factory=dict)  # seconds per bin; "" for contexts never seen
    weekend_lines: dict[str, np.ndarray] = field(default_factory=dict)  # the same for weekends, once learned apart
    longest: dict[str, np.ndarray] = field(default_factory=dict)  # longest spell seen, per bin (for reasons)
    night: Night | None = None
    expected_per_month: float = 0.0  # false alerts a month the model itself expects of its lines as applied

    def line(self, context: str, at: datetime) -> float:
        """Seconds of quiet after which a spell that began at ``at`` in ``context`` is unusual."""
        line = self._learned(context, at)
        if self.night is not None and not math.isinf(line) and self.in_night(at):
            # A spell that begins in the usual night may last until the latest usual waking.
            since_noon = (tod_seconds(at) - NOON) % DAY_S
            line = max(line, self.night.up_by + self.params.floor_s - since_noon)
        return line

    def limit(self, context: str, at: datetime) -> Limit:
        """The line of ``line()`` and what put it there, for the alert's reason."""
        learned, line = self._learned(context, at), self.line(context, at)
        if math.isinf(line):
            return Limit(line, "outing")
        if line > learned:
            return Limit(line, "night")
        # The clip in ``fit`` is the only way a line reaches the floor or the ceiling (the grid misses both).
        if line <= self.params.floor_s:
            return Limit(line, "floor")
        if line >= self.params.ceiling_s:
            return Limit(line, "ceiling")
        return Limit(line, "budget")

    def _learned(self, context: str, at: datetime) -> float:
        """The line of this context and half hour, before the usual night is taken into account."""
        lines = self.weekend_lines if self.weekend_lines and at.weekday() >= 5 else self.lines
        return float(lines.get(context, lines[""])[bin_of(at)])

    def in_night(self, at: datetime) -> bool:
        """Whether ``at`` falls in the usual night."""
        if self.night is None:
            return False
        since_noon = (tod_seconds(at) - NOON) % DAY_S
        return self.night.bed_from <= since_noon < self.night.usually_up


NOON = 12 * 3600.0
MIN_REST_S = 2 * 3600.0  # a day whose longest quiet spell is shorter had no night's rest to learn from


@dataclass(frozen=True, slots=True)
class Night:
    """The usual night, in seconds after noon: when the resident is usually at rest, and the latest waking."""

    bed_from: float
    usually_up: float
    up_by: float
    nights: int


def learn_night(start: np.ndarray, seconds: np.ndarray) -> Night | None:
    """Each noon-to-noon day's longest quiet spell is its night's rest.

    ``start`` is in seconds of local wall-clock time since 1970-01-01. The usual
    night is the time of day covered by the rest on most nights; a spell that
    begins in it may last until the latest waking seen.
    """
    long = seconds >= MIN_REST_S
    if not long.any():
        return None
    day = np.floor((start[long] - NOON) / DAY_S)
    order = np.lexsort((-seconds[long], day))  # by day, longest first
    _, first = np.unique(day[order], return_index=True)
    rests = order[first]
    if len(rests) < 3:
        return None
    since_noon = (start[long][rests] - NOON) % DAY_S
    ends = np.minimum(since_noon + seconds[long][rests], DAY_S)
    step = DAY_S / BINS
    covered = np.zeros(BINS)
    for begin, end in zip(since_noon, ends, strict=True):
        covered[int(begin // step) : math.ceil(end / step)] += 1
    usual = np.flatnonzero(covered > len(rests) / 2)
    if not len(usual):
        return None
    bed_from, usually_up = float(usual[0] * step), float((usual[-1] + 1) * step)
    later = ends[ends > bed_from]
    up_by = float(later.max()) if len(later) else usually_up
    return Night(bed_from=bed_from, usually_up=usually_up, up_by=max(up_by, usually_up), nights=len(rests))


# Durations of the same habit vary by half again from one day to the next; the
# smoothing is never narrower than that, so a few similar spells do not make
# a slightly longer one look impossible.
MIN_LOG_BANDWIDTH = math.log(1.5)
GRID = np.geomspace(30.0, 48 * 3600.0, 100)  # candidate lines, 30 s to 48 h, 8 % apart


EPOCH = datetime(1970, 1, 1)


def wall_seconds(at: datetime) -> float:
    """Local wall-clock seconds since 1970-01-01 (naive: the home's clock reading)."""
    return (at.replace(tzinfo=None) - EPOCH).total_seconds()


@dataclass(frozen=True, slots=True)
class SpellTable:
    """Spells as arrays: start (wall seconds), duration and context code."""

    start: np.ndarray
    seconds: np.ndarray
    context: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def of(cls, spells: Sequence[Spell]) -> SpellTable:
        names = tuple(sorted({s.context for s in spells}))
        code = {n: i for i, n in enumerate(names)}
        return cls(
            np.array([wall_seconds(s.start) for s in spells], dtype=float),
            np.array([s.seconds for s in spells], dtype=float),
            np.array([code[s.context] for s in spells], dtype=int),
            names,
        )


def fit(
    spells: Sequence[Spell] | SpellTable, now: datetime, params: Params, outing_contexts: frozenset[str]
) -> RoutineModel:
    """Learn the alert lines from the spells in the window before ``now``.

    Spells after an outside door are outings, not inactivity at home: they are
    left out, and such a context never raises an inactivity alert.
    """
    table = spells if isinstance(spells, SpellTable) else SpellTable.of(spells)
    now_s = wall_seconds(now)
    age = (now_s - table.start) / DAY_S
    home = np.array([name not in outing_contexts for name in table.names], dtype=bool)
    keep = (age >= 0) & (age <= params.window_days) & home[table.context] if len(table.names) else age < 0
    if not keep.any():
        raise ValueError("no spells to learn from")
    start, seconds, context, age = table.start[keep], table.seconds[keep], table.context[keep], age[keep]
    days = max(1.0, float(age.max()))
    spells_per_day = len(start) / days
    centres = (np.arange(BINS) + 0.5) * DAY_S / BINS
    log_grid = np.log(GRID)
    tod = start % DAY_S
    recency = 0.5 ** (age / params.half_life_days)
    log_gap = np.log(np.maximum(seconds, 1.0))

    codes = np.unique(context)
    # Weekends apart once there are enough of them; both still borrow from the all-day level.
    weekend = ((np.floor(start / DAY_S) + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    split = days >= params.weekend_split_days
    groups = (
        {
            "weekday": np.where(weekend, params.other_days_weight, 1.0),
            "weekend": np.where(weekend, 1.0, params.other_days_weight),
        }
        if split
        else {"all": np.ones(len(start))}
    )
    shape = (len(groups), len(codes))
    above = np.empty((*shape, BINS, len(GRID)))  # weighted count of spells longer than each line
    weight = np.empty((*shape, BINS))  # weighted count of spells, per bin
    starts = np.empty((*shape, BINS))  # recency-weighted spells starting in each bin (this day type only)
    above_all_day = np.empty((len(codes), len(GRID)))  # this context at any time of day, any day
    weight_all_day = np.empty(len(codes))
    longest = np.empty((len(codes), BINS))
    step = DAY_S / BINS
    for i, code in enumerate(codes):
        mine = context == code
        delta = np.abs(centres[:, None] - tod[mine][None, :])
        delta = np.minimum(delta, DAY_S - delta)
        near = np.exp(-0.5 * (delta / params.bandwidth_s) ** 2)
        # Smooth each duration on a log scale: a spell of 40 min makes 50 min plausible too.
        scale = _log_bandwidth(log_gap[mine]) * math.sqrt(3) / math.pi  # logistic kernel with that sd
        z = ((log_grid[None, :] - log_gap[mine][:, None]) / scale).astype(np.float32)
        exceed = 1.0 / (1.0 + np.exp(z))
        for g, day_weight in enumerate(groups.values()):
            used = day_weight[mine] > 0  # skip what would count for nothing
            spell_weight = recency[mine][used] * day_weight[mine][used]
            w = (near[:, used] * spell_weight[None, :]).astype(np.float32)
            above[g, i] = w @ exceed[used]
            weight[g, i] = w.sum(axis=1)
            own_days = spell_weight * (day_weight[mine][used] == 1.0)
            bins = (tod[mine][used] // step).astype(int) % BINS
            starts[g, i] = np.bincount(bins, weights=own_days, minlength=BINS)
        above_all_day[i] = recency[mine] @ exceed
        weight_all_day[i] = recency[mine].sum()
        longest[i] = np.where(delta <= params.bandwidth_s, seconds[mine][None, :], 0.0).max(axis=1)

    home_survival = above.sum(axis=1) / weight.sum(axis=1)[:, :, None]  # per day type
    prior = params.prior_weight
    # Shrink towards what is known at a coarser level: this context at any time of
    # day ("where"), and that towards the whole home at this time of day ("when").
    all_day = (above_all_day[None, :, None, :] + prior * home_survival[:, None]) / (
        weight_all_day[None, :, None, None] + prior
    )
    survival = (above + prior * all_day) / (weight[..., None] + prior)
    # Spells starting per day in each cell; each spell counts in its own day type only.
    effective_days = float(np.sum(0.5 ** (np.arange(math.ceil(days)) / params.half_life_days)))
    price = _price(survival, starts / effective_days, params.false_alerts_per_month / 30.0)
    model = RoutineModel(params, days, spells_per_day, price, night=learn_night(start, seconds))
    chosen = _lines(survival, price)
    homes = _lines(home_survival, price)
    for g, name in enumerate(groups):
        lines = model.weekend_lines if name == "weekend" else model.lines
        for i, code in enumerate(codes):
            lines[table.names[code]] = np.clip(chosen[g, i], params.floor_s, params.ceiling_s)
        lines[""] = np.clip(homes[g], params.floor_s, params.ceiling_s)  # for contexts never seen
        for outing in outing_contexts:
            lines[outing] = np.full(BINS, math.inf)
    for i, code in enumerate(codes):
        model.longest[table.names[code]] = longest[i]
    model.expected_per_month = 30 * _expected_per_day(model, survival, starts / effective_days, groups, codes, table)
    return model


def _expected_per_day(
    model: RoutineModel, survival: np.ndarray, rate: np.ndarray, groups: dict, codes: np.ndarray, table: SpellTable
) -> float:
    """Expected false alerts a day of the lines as ``line()`` applies them (clipped, stretched by the night)."""
    log_grid = np.log(GRID)
    total = 0.0
    saturday, monday = datetime(2000, 1, 1), datetime(2000, 1, 3)
    for g, name in enumerate(groups):
        day = saturday if name == "weekend" else monday
        for i, code in enumerate(codes):
            applied = np.array(
                [model.line(table.names[code], day + timedelta(seconds=(b + 0.5) * DAY_S / BINS)) for b in range(BINS)]
            )
            index = np.clip(np.searchsorted(GRID, applied), 1, len(GRID) - 1)
            frac = np.clip((np.log(applied) - log_grid[index - 1]) / (log_grid[index] - log_grid[index - 1]), 0, 1)
            curve = survival[g, i]
            rows = np.arange(BINS)
            s = curve[rows, index - 1] + frac * (curve[rows, index] - curve[rows, index - 1])
            total += float(rate[g, i] @ s)
    return total


def _lines(survival: np.ndarray, price: float) -> np.ndarray:
    """Per context and bin, the line that minimises delay + price x P(false alert)."""
    cost = GRID + price * survival
    return GRID[np.argmin(cost, axis=-1)]


def _price(survival: np.ndarray, rate: np.ndarray, budget_per_day: float) -> float:
    """The price of a false alert (in seconds of delay) at which expected false alerts fit the budget.

    Minimising the mean delay of a detection subject to a budget of false alerts
    gives each context and time of day its own line: where a longer wait buys
    little safety from false alerts, the line stays short; where the quiet spell
    might well go on, it waits. One price balances them all against the budget.
    """

    busy = rate > 0  # only where spells begin can false alerts happen
    curves, weights = survival[busy], rate[busy]
    rows = np.arange(len(curves))

    def false_alerts_per_day(price: float) -> float:
        index = np.argmin(GRID + price * curves, axis=-1)
        return float(weights @ curves[rows, index])

    low, high = 1.0, 1e12
    if false_alerts_per_day(high) > budget_per_day:
        return high
    for _ in range(24):  # bisection on a log scale: to within 0.0002 %, far finer than the 8 % grid
        mid = math.sqrt(low * high)
        if false_alerts_per_day(mid) > budget_per_day:
            low = mid
        else:
            high = mid
    return high


def _log_bandwidth(log_gap: np.ndarray) -> float:
    """Silverman's rule on log durations, kept within sensible bounds."""
    n = len(log_gap)
    if n < 2:
        return 1.0
    ordered = np.sort(log_gap)
    sd = float(ordered.std(ddof=1))
    iqr = (_quantile(ordered, 0.75) - _quantile(ordered, 0.25)) / 1.34
    spread = min(sd, iqr) if iqr > 0 else sd
    return min(max(0.9 * spread * n ** (-0.2), MIN_LOG_BANDWIDTH), 1.0)


def _quantile(ordered: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default, without its overhead)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))
