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
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

import numpy as np

from sentinel.detect.lines import (
    BINS,
    DAY_S,
    EPOCH,
    NOON,
    Cause,
    Limit,
    Night,
    Params,
    RoutineModel,
    bin_of,
    tod_seconds,
    wall_seconds,
)
from sentinel.detect.night import learn_night
from sentinel.detect.prior import PRIOR_WEIGHTS, REFRESH_S, learned_prior
from sentinel.detect.rule import Rule
from sentinel.detect.survival import Stats, context_stats, first_line, longest_of, outing_curve, outing_shares

__all__ = [
    "BINS",
    "DAY_S",
    "EPOCH",
    "NOON",
    "Cause",
    "Limit",
    "Night",
    "Params",
    "RoutineModel",
    "Spell",
    "SpellTable",
    "bin_of",
    "fit",
    "tod_seconds",
    "wall_seconds",
    "whole_misses",
]


@dataclass(frozen=True, slots=True)
class Spell:
    """A completed quiet spell; ``absence``: it ended with someone arriving at the front door (an outing the door
    did not see); ``departed``: it ended at the front door, and an outing followed; ``lost``: it ended at a row
    of the front door that repeats the door's last value (open twice, or closed twice: a row was lost)."""

    start: datetime
    context: str
    seconds: float
    ended_by: str | None = None
    absence: bool = False
    departed: bool = False
    lost: bool = False


@dataclass(frozen=True, slots=True)
class SpellTable:
    """Spells as arrays: start (wall seconds), duration, context code, the code that ended it (-1 unknown),
    absence, departed and lost (see ``Spell``)."""

    start: np.ndarray
    seconds: np.ndarray
    context: np.ndarray
    names: tuple[str, ...]
    end: np.ndarray | None = None
    absence: np.ndarray | None = None
    departed: np.ndarray | None = None
    lost: np.ndarray | None = None

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
            np.array([s.departed for s in spells], dtype=bool),
            np.array([s.lost for s in spells], dtype=bool),
        )


# What is known of a door's losses before it is seen to lose a row: Jeffreys' prior on the share of its rows it
# loses, Beta(1/2, 1/2), the prior that says nothing of the share's scale. A door that has lost none of n rows is
# taken to lose about one in 2n + 2, and both rows of a departure about once in (2n + 2)^2: next to nothing.
LOST_PRIOR = (0.5, 0.5)


def _usable(hint: tuple[float, float | None] | None, now_s: float) -> TypeGuard[tuple[float, float]]:
    """Whether ``hint`` is a weight of the grid chosen less than a week before ``now_s`` (else it is chosen anew)."""
    if hint is None or hint[0] not in PRIOR_WEIGHTS or not isinstance(hint[1], int | float):
        return False
    return 0 <= now_s - hint[1] < REFRESH_S


def whole_misses(lost: float, rows: float) -> float:
    """The chance that the door misses a departure whole (both its rows), from the rows it is seen to lose."""
    a, b = LOST_PRIOR
    q = (lost + a) / (rows + lost + a + b)  # each row seen repeated stands for (at least) one lost between
    return q * q  # taken one by one: a door that loses one row in q loses both of a departure's in q^2


def effective_days(days: float, half_life_days: float) -> float:
    """How many days ``days`` of history count for, each day weighed by its age as the spells are (``recency``)."""
    return float(np.sum(0.5 ** (np.arange(math.ceil(days)) / half_life_days)))


def _shrunk_curves(stats: Stats, home_survival: np.ndarray, prior: float, lowest: int) -> np.ndarray:
    """P(spell > line) per day type, context and half hour, shrunk towards the coarser levels (large: in place).

    Worked out from the grid line ``lowest`` on, as the sums are (``survival.first_line``); 0 below it.
    """
    all_day = np.add(stats.above_all_day[None, :, None, lowest:], prior * home_survival[:, None, :, lowest:])
    all_day = np.divide(all_day, stats.weight_all_day[None, :, None, None] + prior)
    all_day *= prior
    all_day += stats.above[..., lowest:]
    all_day /= stats.weight[..., None] + prior
    survival = np.zeros(stats.above.shape, dtype=np.float32)
    survival[..., lowest:] = all_day
    return survival


def fit(
    spells: Sequence[Spell] | SpellTable,
    now: datetime,
    params: Params,
    left_out: frozenset[str] = frozenset(),
    doors: frozenset[str] = frozenset(),
    arrivals: frozenset[str] = frozenset(),
    price_hint: float | None = None,
    prior_hint: tuple[float, float | None] | None = None,
    reasons: bool = True,
) -> RoutineModel:
    """Learn the alert lines from the spells in the window before ``now``.

    ``doors`` are the contexts of the front door going out, ``arrivals`` those
    of coming in: spells from either that end at the door again are outings.
    A spell elsewhere that ended with someone arriving is an
    outing the door did not see; how often that happens, per context and time
    of day, mixes the home's outing lengths into that context's curve.
    ``left_out`` contexts are not learned and never raise an alert.
    ``price_hint``: yesterday's price, where the search for today's starts.
    ``prior_hint``: the weight of the coarser levels in use and when it was learned; kept until the window has
    moved by a week (``prior.REFRESH_S``). ``reasons``: also the longest usual spells, which an alert's reason tells
    (``RoutineModel.longest``); a measure that reads no reason does without.
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
    departed = table.departed if table.departed is not None else np.zeros(len(table.start), dtype=bool)
    lost = table.lost if table.lost is not None else np.zeros(len(table.start), dtype=bool)
    start, seconds, context, age = table.start[keep], table.seconds[keep], table.context[keep], age[keep]
    end, absence, departed, lost = end[keep], absence[keep], departed[keep], lost[keep]
    door_names = doors | arrivals
    is_door = np.array([name in door_names for name in table.names] + [False], dtype=bool)  # [-1]: unknown
    absence = absence & ~is_door[context]
    departed = departed & ~is_door[context]
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
    lowest = first_line(min(params.floor_s, params.ceiling_s, params.door_ceiling_s))  # below: nothing is read
    outcome = (absence, departed | absence)  # which spells were outings, and which ended with a departure
    stats = context_stats(codes, context, tod, log_gap, recency, *outcome, groups, params.bandwidth_s, lowest)
    home = ~absence

    # "When": the whole home at this time of day; "where": this context at any time; then both together, each
    # level counting as many spells as the home's own history says it should (``prior.learned_prior``).
    home_survival = stats.above.sum(axis=1) / np.maximum(stats.weight.sum(axis=1), 1e-12)[:, :, None]
    prior, chosen_s = params.prior_weight, None
    if params.learn_prior and _usable(prior_hint, now_s):
        prior, chosen_s = prior_hint  # the window has moved by less than a week since the weight was chosen
    if params.learn_prior and chosen_s is None:
        chosen_s = now_s
        group = weekend.astype(int) if len(groups) == 2 else np.zeros(len(start), dtype=int)
        prior = learned_prior(
            stats,
            home_survival,
            codes,
            context,
            start,
            log_gap,
            recency,
            home,
            group,
            params.bandwidth_s,
            params.floor_s,
            now_s,
        )
    survival = _shrunk_curves(stats, home_survival, prior, lowest)

    # How often a spell of this context, at this time of day, was an outing the door did not see: as often as
    # such outings were seen here (spells that ended with someone arriving), or, where the door loses rows, as
    # often as the resident leaves from here at this hour times the chance that the door misses both rows of a
    # departure, whichever is more. The first needs a miss seen at this place and hour; the second only the
    # door's own failing, learned over the whole home, and where the resident goes out from.
    door_rows = float(recency @ is_door[end])
    share, home_share = outing_shares(stats, params.prior_weight, whole_misses(float(recency @ lost), door_rows))
    share[:, is_door[codes]] = 0.0  # the door's own spells are learned as they are, outings included
    outing = (is_door[context] & is_door[end] & (seconds >= params.floor_s)) | absence
    if outing.any():  # without an outing in the window, there is nothing to mix in
        out_curve = outing_curve(tod[outing], log_gap[outing], recency[outing], params.bandwidth_s, prior)
        share, out_curve = share.astype(np.float32), out_curve.astype(np.float32)  # as the curves: half the work
        tail = survival[..., lowest:]  # (1 - share) x at home + share x out, in place, where it was worked out
        mixed = np.subtract(out_curve[None, None, :, lowest:], tail)
        mixed *= share[..., None]
        tail += mixed
        # (whole: it is small; below ``lowest`` it is then the outings' share of their curve, read by nothing)
        home_survival = (1 - home_share[..., None]) * home_survival + home_share[..., None] * out_curve[None]

    weighed_days = effective_days(days, params.half_life_days)
    rate = stats.starts / weighed_days  # spells starting per day in each cell (own day type only)
    night = learn_night(start[home & ~is_door[context]], seconds[home & ~is_door[context]])  # rest is at home
    upper = np.array([params.door_ceiling_s if table.names[c] in doors else params.ceiling_s for c in codes])
    rule = Rule(survival, rate, params.floor_s, upper, night)
    price = rule.price(params.false_alerts_per_month / 30.0, price_hint)
    # Spells longer than their ceiling alert whatever the lines: how often that happens is counted, not smoothed.
    # The smoothing's heavy tail, right for the chance of a spell a little longer than any seen, would give
    # every night's sleep a chance of lasting the ceiling's 16 h; the budget part keeps the smoothed curves.
    going_out = np.array([name in doors for name in table.names] + [False], dtype=bool)
    upper_of = np.where(going_out[context], params.door_ceiling_s, params.ceiling_s)
    forced = float(recency @ (seconds > upper_of)) / weighed_days
    chosen, expected = rule.applied(price)
    model = RoutineModel(
        params,
        days,
        len(start) / days,
        price,
        night=night,
        doors=doors,
        expected_per_month=30 * (expected - rule.forced + forced),
        forced_per_month=30 * forced,
        prior_weight=prior,
        prior_chosen_s=chosen_s,
    )
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
    if reasons:  # what an alert's reason says of the usual spells; nothing else reads it
        longest = longest_of(codes, context, tod, seconds, absence, params.bandwidth_s)
        for i, code in enumerate(codes):
            model.longest[table.names[code]] = longest[i]
    return model
