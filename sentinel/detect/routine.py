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

import numpy as np

BINS = 96  # quarter hours
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
    lines: dict[str, np.ndarray] = field(default_factory=dict)  # seconds per bin
    home_line: np.ndarray | None = None  # for contexts never seen
    longest: dict[str, np.ndarray] = field(default_factory=dict)  # longest spell seen, per bin (for reasons)
    night: Night | None = None

    def line(self, context: str, at: datetime) -> float:
        """Seconds of quiet after which a spell that began at ``at`` in ``context`` is unusual."""
        table = self.lines.get(context, self.home_line)
        assert table is not None
        line = float(table[bin_of(at)])
        if self.night is not None and not math.isinf(line) and self.in_night(at):
            # A spell that begins in the usual night may last until the latest usual waking.
            since_noon = (tod_seconds(at) - NOON) % DAY_S
            line = max(line, self.night.up_by + self.params.floor_s - since_noon)
        return line

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


def learn_night(spells: Sequence[Spell]) -> Night | None:
    """Each noon-to-noon day's longest quiet spell is its night's rest.

    The usual night is the time of day covered by the rest on most nights; a
    spell that begins in it may last until the latest waking seen.
    """
    rests: dict[object, Spell] = {}
    for spell in spells:
        day = (spell.start - timedelta(hours=12)).date()
        if spell.seconds >= MIN_REST_S and (day not in rests or spell.seconds > rests[day].seconds):
            rests[day] = spell
    if len(rests) < 3:
        return None
    step = DAY_S / BINS
    covered = np.zeros(BINS)
    ends = []
    for rest in rests.values():
        start = (tod_seconds(rest.start) - NOON) % DAY_S
        end = min(start + rest.seconds, DAY_S)
        ends.append(end)
        covered[int(start // step) : math.ceil(end / step)] += 1
    usual = np.flatnonzero(covered > len(rests) / 2)
    if not len(usual):
        return None
    bed_from, usually_up = usual[0] * step, (usual[-1] + 1) * step
    up_by = max([e for e in ends if e > bed_from], default=usually_up)
    return Night(bed_from=bed_from, usually_up=usually_up, up_by=max(up_by, usually_up), nights=len(rests))


# Durations of the same habit vary by half again from one day to the next; the
# smoothing is never narrower than that, so a few similar spells do not make
# a slightly longer one look impossible.
MIN_LOG_BANDWIDTH = math.log(1.5)
GRID = np.geomspace(30.0, 48 * 3600.0, 100)  # candidate lines, 30 s to 48 h, 8 % apart


def fit(spells: Sequence[Spell], now: datetime, params: Params, outing_contexts: frozenset[str]) -> RoutineModel:
    """Learn the alert lines from the spells in the window before ``now``.

    Spells after an outside door are outings, not inactivity at home: they are
    left out, and such a context never raises an inactivity alert.
    """
    window = [
        s
        for s in spells
        if 0 <= (now - s.start).total_seconds() <= params.window_days * DAY_S and s.context not in outing_contexts
    ]
    if not window:
        raise ValueError("no spells to learn from")
    oldest = max((now - s.start).total_seconds() for s in window) / DAY_S
    days = max(1.0, oldest)
    spells_per_day = len(window) / days
    centres = (np.arange(BINS) + 0.5) * DAY_S / BINS
    log_grid = np.log(GRID)

    by_context: dict[str, list[Spell]] = {}
    for spell in window:
        by_context.setdefault(spell.context, []).append(spell)
    above: dict[str, np.ndarray] = {}  # weighted count of spells longer than each grid line, per bin
    weight: dict[str, np.ndarray] = {}  # weighted count of spells, per bin
    longest: dict[str, np.ndarray] = {}
    above_all_day: dict[str, np.ndarray] = {}  # the same at any time of day
    weight_all_day: dict[str, float] = {}
    starts: dict[str, np.ndarray] = {}  # recency-weighted spells starting in each bin
    for context, group in by_context.items():
        tod = np.array([tod_seconds(s.start) for s in group])
        age = np.array([(now - s.start).total_seconds() / DAY_S for s in group])
        log_gap = np.log(np.maximum([s.seconds for s in group], 1.0))
        delta = np.abs(centres[:, None] - tod[None, :])
        delta = np.minimum(delta, DAY_S - delta)
        w = np.exp(-0.5 * (delta / params.bandwidth_s) ** 2) * (0.5 ** (age / params.half_life_days))[None, :]
        # Smooth each duration on a log scale: a spell of 40 min makes 50 min plausible too.
        scale = _log_bandwidth(log_gap) * math.sqrt(3) / math.pi  # logistic kernel with that sd
        exceed = 1.0 / (1.0 + np.exp((log_grid[None, :] - log_gap[:, None]) / scale))
        above[context] = w @ exceed
        weight[context] = w.sum(axis=1)
        recent = 0.5 ** (age / params.half_life_days)
        above_all_day[context] = recent @ exceed
        weight_all_day[context] = float(recent.sum())
        longest[context] = np.where(delta <= params.bandwidth_s, np.exp(log_gap)[None, :], 0.0).max(axis=1)
        starts[context] = np.bincount(
            (tod // (DAY_S / BINS)).astype(int) % BINS, weights=0.5 ** (age / params.half_life_days), minlength=BINS
        )

    home_above = sum(above.values())
    home_weight = sum(weight.values())
    home_survival = home_above / home_weight[:, None]
    prior = params.prior_weight
    contexts = list(by_context)
    survival = np.empty((len(contexts), BINS, len(GRID)))
    rate = np.empty((len(contexts), BINS))
    effective_days = float(np.sum(0.5 ** (np.arange(math.ceil(days)) / params.half_life_days)))
    for i, context in enumerate(contexts):
        # Shrink towards what is known at a coarser level: this context at any time
        # of day ("where"), and the whole home at this time of day ("when").
        all_day = (above_all_day[context][None, :] + prior * home_survival) / (weight_all_day[context] + prior)
        parent = all_day
        survival[i] = (above[context] + prior * parent) / (weight[context][:, None] + prior)
        rate[i] = starts[context] / effective_days
    price = _price(survival, rate, params.false_alerts_per_month / 30.0)
    model = RoutineModel(params, days, spells_per_day, price, night=learn_night(window))
    chosen = _lines(survival, price)
    for i, context in enumerate(contexts):
        model.lines[context] = np.clip(chosen[i], params.floor_s, params.ceiling_s)
        model.longest[context] = longest[context]
    model.home_line = np.clip(_lines(home_survival[None], price)[0], params.floor_s, params.ceiling_s)
    for context in outing_contexts:
        model.lines[context] = np.full(BINS, math.inf)
    return model


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
    for _ in range(40):  # bisection on a log scale
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
    sd = float(np.std(log_gap, ddof=1))
    iqr = float(np.subtract(*np.percentile(log_gap, [75, 25]))) / 1.34
    spread = min(sd, iqr) if iqr > 0 else sd
    return float(np.clip(0.9 * spread * n ** (-0.2), MIN_LOG_BANDWIDTH, 1.0))


def _line(survival: np.ndarray, alpha: float) -> np.ndarray:
    """Per bin: the shortest grid duration x with P(spell > x) <= alpha."""
    ok = survival <= alpha
    first = np.argmax(ok, axis=1)
    return np.where(ok.any(axis=1), GRID[first], GRID[-1])
