"""How much a coarser pattern counts in a context's curve, learned from the home's own history.

Each context's curve at a time of day is shrunk towards the same context at
any time, and that towards the whole home at this time, with a weight of so
many spells. Which weight is right differs from home to home: where a place's
spells at one hour say little about its next one (a kit of contacts, where an
unsensed hour can follow anything), the coarser levels should count more.
The home tells which: each of its recent days is left out in turn, the curves
are rebuilt without it, and the weight under which the left-out days' spells
were the least surprising is kept (empirical Bayes, by the predictive
likelihood of whole days left out).
"""

from __future__ import annotations

import numpy as np

from sentinel.detect.lines import BINS, DAY_S
from sentinel.detect.survival import GRID, LOG_GRID, Stats, near_step, near_table

# The weights tried, in spells: a factor of four either side of one spell, the weight used before it was learned,
# in doubling steps, because what is judged is an order of magnitude, not a fine value. The range is symmetric so
# that the home, not the grid, says which way to move.
PRIOR_WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)

# The days left out and judged: the last two weeks of the window (each weekday twice). The weight is for the days
# to come, which the recent days are most like (the curves already count older days less), and judging fewer days
# costs less: the work grows with the pairs of spells of one place on one day.
SCORED_DAYS = 14

# The weight is chosen again once the window has moved by a week: a week's days change the evidence by half of
# what is judged, and a weight is an order of magnitude, not a fine value; between choices it is kept with the
# routine (``RoutineModel.prior_weight``, ``prior_chosen_s``).
REFRESH_S = 7 * DAY_S

# The most pairs of spells worked on at once: 100-150 bytes a pair, so a learning process stays within some
# 70 MB more than before on a Pi Zero's 512 MB, however busy the kit.
MAX_PAIRS = 500_000

# The most pairs judged in all: the work grows with the square of one place's spells a day, and a sensor that
# reports every few seconds makes tens of thousands. About 2 s here, 20 s on a Pi Zero; a kit busier than that
# is judged on its most recent days that fit, and if not even the last day fits, keeps the weight of one spell.
MAX_JUDGED_PAIRS = 20_000_000

# Fewer spells at home than this in the days judged choose nothing: five orders of magnitude are not chosen
# between on a day or two of evidence (a home just back from a fortnight away keeps the weight of one spell).
MIN_SPELLS = 100

DEFAULT = 1.0  # the weight of one spell, used before the weight was learned


def learned_prior(
    stats: Stats,
    home_survival: np.ndarray,
    codes: np.ndarray,
    context: np.ndarray,
    start: np.ndarray,
    log_gap: np.ndarray,
    recency: np.ndarray,
    at_home: np.ndarray,
    group: np.ndarray,
    bandwidth_s: float,
    floor_s: float,
    now_s: float,
    weights: tuple[float, ...] = PRIOR_WEIGHTS,
) -> float:
    """The weight among ``weights`` under which each recent day's spells, left out, are best predicted by the others.

    A spell shorter than the floor counts only as "shorter than the floor": no line is ever drawn there, so how
    short it was is no evidence of how the tail should be drawn. ``group``: each spell's day type (its index in
    the stats' groups). The home's level is not rebuilt without the day: one day is a small part of it.
    """
    if len(weights) == 1:
        return weights[0]
    fallback = DEFAULT if DEFAULT in weights else weights[len(weights) // 2]
    first_day = _first_day_judged(start, context, at_home, np.floor(now_s / DAY_S) - SCORED_DAYS)
    if first_day is None:
        return fallback
    mine = np.flatnonzero(at_home & (start >= first_day * DAY_S))
    if len(mine) < MIN_SPELLS:
        return fallback
    ci = np.searchsorted(codes, context[mine])
    tod = start[mine] % DAY_S
    day = np.floor(start[mine] / DAY_S).astype(np.int64)
    b = (tod // (DAY_S / BINS)).astype(int) % BINS
    g = group[mine]
    gap, rec = log_gap[mine], recency[mine]
    scale = stats.width[ci] * np.sqrt(3) / np.pi

    # The grid points each spell is judged at: the two around its length, or for a short spell the floor's.
    f = int(np.searchsorted(GRID, floor_s))
    short = gap <= np.log(floor_s)
    k = np.clip(np.searchsorted(LOG_GRID, gap) - 1, 0, len(GRID) - 2)
    points = np.stack([np.where(short, f, k), np.where(short, f, k + 1)], axis=1)  # spells x 2

    # The left-out day's own part of each level, at the spell's half hour and grid points: the sum over the spells
    # of the same day and context (pairs within each group, the spell itself included), worked out a bounded
    # number of pairs at a time: a busy kit's PIR makes a thousand spells a day, a million pairs.
    key = day * (int(ci.max()) + 1) + ci
    order = np.argsort(key, kind="stable")
    _, first, count = np.unique(key[order], return_index=True, return_counts=True)
    n = len(mine)
    own_above, own_cell = np.zeros((n, 2)), np.zeros((n, 2))
    own_weight, own_cell_weight = np.zeros(n), np.zeros(n)
    weights_of = near_table(float(bandwidth_s))
    step = near_step(tod)  # once per spell, not once per pair
    size_of = np.repeat(count, count)  # per sorted spell, its group's size: the pairs it is the left-out one of
    first_of = np.repeat(first, count)
    for spells in _chunks(size_of, MAX_PAIRS):
        size = size_of[spells]
        targets = np.repeat(spells, size)
        offsets = np.arange(len(targets)) - np.repeat(np.cumsum(size) - size, size)
        i, j = order[targets], order[first_of[targets] + offsets]
        z = (LOG_GRID[points[i]] - gap[j, None]) / scale[j, None]
        above_j = rec[j, None] / (1.0 + np.exp(np.clip(z, -80.0, 80.0)))  # pairs x 2
        close = weights_of[b[i], step[j]]
        for c in range(2):
            own_above[:, c] += np.bincount(i, weights=above_j[:, c], minlength=n)
            own_cell[:, c] += np.bincount(i, weights=above_j[:, c] * close, minlength=n)
        own_weight += np.bincount(i, weights=rec[j], minlength=n)
        own_cell_weight += np.bincount(i, weights=rec[j] * close, minlength=n)

    cell = np.maximum(stats.above[g[:, None], ci[:, None], b[:, None], points] - own_cell, 0.0)
    cell_weight = np.maximum(stats.weight[g, ci, b] - own_cell_weight, 0.0)[:, None]
    any_time = np.maximum(stats.above_all_day[ci[:, None], points] - own_above, 0.0)
    any_time_weight = np.maximum(stats.weight_all_day[ci] - own_weight, 0.0)[:, None]
    home = home_survival[g[:, None], b[:, None], points]

    best, best_score = weights[0], -np.inf
    for w in weights:
        coarse = (any_time + w * home) / (any_time_weight + w)
        survival = (cell + w * coarse) / (cell_weight + w)
        chance = np.where(short, 1.0 - survival[:, 0], survival[:, 0] - survival[:, 1])
        score = float(rec @ np.log(np.maximum(chance, 1e-12)))
        if score > best_score:
            best, best_score = w, score
    return best


def _chunks(costs: np.ndarray, most: int) -> list[np.ndarray]:
    """Consecutive runs of indices whose ``costs`` add up to at most ``most`` (a single costlier one alone)."""
    runs, start, total = [], 0, 0
    for k, cost in enumerate(costs.tolist()):
        if total and total + cost > most:
            runs.append(np.arange(start, k))
            start, total = k, 0
        total += cost
    if start < len(costs):
        runs.append(np.arange(start, len(costs)))
    return runs


def _first_day_judged(start: np.ndarray, context: np.ndarray, at_home: np.ndarray, earliest: float) -> float | None:
    """The first day judged: ``earliest``, or a later one where busier days would pass ``MAX_JUDGED_PAIRS``."""
    day = np.floor(start / DAY_S).astype(np.int64)
    keep = at_home & (day >= earliest)
    if not keep.any():
        return earliest
    width = int(context.max()) + 1
    groups, count = np.unique(day[keep] * width + context[keep], return_counts=True)
    pairs_by_day: dict[int, int] = {}
    for d, c in zip((groups // width).tolist(), count.tolist(), strict=True):
        pairs_by_day[d] = pairs_by_day.get(d, 0) + c * c
    total, first = 0, None
    for d in sorted(pairs_by_day, reverse=True):  # the most recent first
        total += pairs_by_day[d]
        if total > MAX_JUDGED_PAIRS:
            break
        first = float(d)
    return first
