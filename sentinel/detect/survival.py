"""Smoothed survival curves of quiet-spell durations: P(spell > x) on a grid of candidate lines."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from sentinel.detect.lines import BINS, DAY_S

CENTRES = (np.arange(BINS) + 0.5) * DAY_S / BINS
GRID = np.geomspace(30.0, 48 * 3600.0, 100)  # candidate lines, 30 s to 48 h, 8 % apart
LOG_GRID = np.log(GRID)
# Durations of the same habit vary by half again from one day to the next; the
# smoothing is never narrower than that, so a few similar spells do not make
# a slightly longer one look impossible.
MIN_LOG_BANDWIDTH = math.log(1.5)
MAX_LOG_BANDWIDTH = 1.0  # never smooth a duration over more than a factor e either way


def log_bandwidth(log_gap: np.ndarray) -> float:
    """Silverman's rule on log durations, kept within sensible bounds."""
    n = len(log_gap)
    if n < 2:
        return MAX_LOG_BANDWIDTH
    ordered = np.sort(log_gap)
    # ``ordered.std(ddof=1)`` without its overhead (called once per context a day): the same sums, in the same order.
    deviation = ordered - np.add.reduce(ordered) / n
    sd = math.sqrt(np.add.reduce(deviation * deviation) / (n - 1))
    iqr = (_quantile(ordered, 0.75) - _quantile(ordered, 0.25)) / 1.34
    spread = min(sd, iqr) if iqr > 0 else sd
    return float(min(max(0.9 * spread * n ** (-0.2), MIN_LOG_BANDWIDTH), MAX_LOG_BANDWIDTH))


def exceed(log_gap: np.ndarray, bandwidth: float) -> np.ndarray:
    """Per spell and grid line, the smoothed chance that a spell like it lasts longer than the line.

    A logistic kernel on the log scale: its exponential tail is heavier than a
    Gaussian's, because what matters is the chance of a spell longer than any seen.
    """
    return exceed_each(log_gap, np.array([bandwidth]), np.zeros(len(log_gap), dtype=int))


def exceed_each(log_gap: np.ndarray, bandwidths: np.ndarray, which: np.ndarray, lowest: int = 0) -> np.ndarray:
    """``exceed`` for spells of several contexts at once, each spell with the bandwidth ``bandwidths[which]``.

    Only the grid lines from ``lowest`` on are worked out (the columns of the result are ``GRID[lowest:]``).
    """
    scale = bandwidths * math.sqrt(3) / math.pi  # logistic kernel with that sd (see ``log_bandwidth``)
    # 1 / (1 + e^z) with z = (log line - log gap) / scale; the grid is geometric, so along it e^z grows by
    # the same factor at every step: one exponential per spell and per line instead of one per pair.
    # (np.clip's own work, without its wrapper)
    first = np.exp(np.minimum(np.maximum((LOG_GRID[0] - log_gap) / scale[which], -80.0), 80.0)).astype(np.float32)
    steps = np.exp(np.minimum((LOG_GRID - LOG_GRID[0]) / scale[:, None], 80.0)).astype(np.float32)[:, lowest:]
    with np.errstate(over="ignore"):  # an overflow is a line so far beyond the spell that its chance is 0
        curves: np.ndarray = steps[which]  # in place from here: one array of spells x lines, not three
        curves *= first[:, None]
        curves += 1.0
        np.divide(1.0, curves, out=curves)
    return curves


NEAR_STEP_S = 10.0  # start times are read to 10 s for the time-of-day weights (an hour's kernel moves 0.3 %)


@functools.lru_cache(maxsize=8)
def near_table(bandwidth_s: float) -> np.ndarray:
    """Gaussian weights of each half hour for a start at every ``NEAR_STEP_S`` of the day: bins x steps."""
    tod = np.arange(0.0, DAY_S, NEAR_STEP_S)
    delta = np.abs(CENTRES[:, None] - tod[None, :])
    delta = np.minimum(delta, DAY_S - delta) / bandwidth_s
    return np.exp(-0.5 * delta * delta).astype(np.float32)


@functools.lru_cache(maxsize=8)
def near_rows(bandwidth_s: float) -> np.ndarray:
    """``near_table`` laid out a start per row (steps x bins): a start's weights are read as one piece of memory."""
    return np.ascontiguousarray(near_table(bandwidth_s).T)


def near_step(tod: np.ndarray) -> np.ndarray:
    """Each start's column in ``near_table``: its time of day read to ``NEAR_STEP_S``."""
    step: np.ndarray = np.minimum(np.rint(tod / NEAR_STEP_S).astype(int), int(DAY_S / NEAR_STEP_S) - 1)
    return step


def near(tod: np.ndarray, bandwidth_s: float) -> np.ndarray:
    """Gaussian weights (circular in time of day) of each spell's start for each half hour: bins x spells."""
    return near_table(float(bandwidth_s))[:, near_step(tod)]


def at(curves: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Survival curves (..., GRID) read at one line per curve (...), interpolated on the log scale."""
    seconds = np.clip(seconds, GRID[0], GRID[-1])
    index = np.clip(np.searchsorted(GRID, seconds), 1, len(GRID) - 1)
    frac = (np.log(seconds) - LOG_GRID[index - 1]) / (LOG_GRID[index] - LOG_GRID[index - 1])
    low, high = along(curves, index - 1), along(curves, index)
    mixed: np.ndarray = low + frac * (high - low)
    return mixed


def along(curves: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Each curve (..., GRID) read at its own grid index (...): take_along_axis, by plain indexing where it can."""
    if index.shape != curves.shape[:-1]:
        picked: np.ndarray = np.take_along_axis(curves, index[..., None], axis=-1)[..., 0]
        return picked
    flat = curves.reshape(-1, curves.shape[-1])
    read: np.ndarray = flat[np.arange(len(flat)), index.ravel()].reshape(index.shape)
    return read


@dataclass
class Stats:
    """Weighted sums per day type, context and half hour, and per context over the whole day."""

    above: np.ndarray  # groups x contexts x bins x grid: weighted count of at-home spells longer than each line
    weight: np.ndarray  # groups x contexts x bins: weighted count of at-home spells
    total: np.ndarray  # the same, absences included
    absent: np.ndarray  # the same, absences only
    left: np.ndarray  # the same, spells that ended with a departure, recorded by the door or not (absences)
    starts: np.ndarray  # recency-weighted spells starting in each bin (this day type only)
    above_all_day: np.ndarray  # contexts x grid
    weight_all_day: np.ndarray
    total_all_day: np.ndarray
    absent_all_day: np.ndarray
    left_all_day: np.ndarray
    width: np.ndarray  # contexts: the log-duration kernel's width (see ``log_bandwidth``)


def context_stats(
    codes: np.ndarray,
    context: np.ndarray,
    tod: np.ndarray,
    log_gap: np.ndarray,
    recency: np.ndarray,
    absence: np.ndarray,
    left: np.ndarray,
    groups: dict[str, np.ndarray],
    bandwidth_s: float,
    lowest: int = 0,
) -> Stats:
    """Weighted sums of the spells per day type, context and half hour, from which the survival curves come.

    ``codes``: every context among the spells, in order (``np.unique(context)``). The sums above the grid's lines
    are worked out from ``GRID[lowest]`` on and left at 0 below it (``first_line``).
    """
    shape = (len(groups), len(codes))
    s = Stats(
        above=np.zeros((*shape, BINS, len(GRID)), dtype=np.float32),
        weight=np.zeros((*shape, BINS), dtype=np.float32),
        total=np.zeros((*shape, BINS), dtype=np.float32),
        absent=np.zeros((*shape, BINS)),
        left=np.zeros((*shape, BINS)),
        starts=np.zeros((*shape, BINS)),
        above_all_day=np.zeros((len(codes), len(GRID)), dtype=np.float32),
        weight_all_day=np.zeros(len(codes)),
        total_all_day=np.zeros(len(codes)),
        absent_all_day=np.zeros(len(codes)),
        left_all_day=np.zeros(len(codes)),
        width=np.zeros(len(codes)),
    )
    # Each spell's own quantities once, then the spells in context order (a stable sort keeps each context's spells
    # in their order, so every context's sums add the same numbers in the same order as one by one).
    code_of = np.searchsorted(codes, context)
    order = np.argsort(code_of, kind="stable")
    bounds = np.searchsorted(code_of[order], np.arange(len(codes) + 1))
    at_home = ~absence[order]
    spell_weight = np.stack([recency * day_weight for day_weight in groups.values()]).astype(np.float32)
    own_days = spell_weight * np.stack([day_weight == 1.0 for day_weight in groups.values()])
    bins = (tod // (DAY_S / BINS)).astype(int) % BINS
    for g in range(len(groups)):  # spells starting in each cell, counted in each cell's own day type only
        s.starts[g] = np.bincount(code_of * BINS + bins, weights=own_days[g], minlength=len(codes) * BINS).reshape(
            len(codes), BINS
        )
    rows_of, steps = near_rows(float(bandwidth_s)), near_step(tod)[order]
    spell_weight, log_gap, recency, left = spell_weight[:, order], log_gap[order], recency[order], left[order]
    home_weight, home_recency = spell_weight * at_home, recency * at_home
    spans = list(itertools.pairwise(bounds.tolist()))
    # Smooth each duration on a log scale: a spell of 40 min makes 50 min plausible too. The width comes
    # from the spells at home; absences are smoothed alike but only counted in the share of outings.
    for i, (first, last) in enumerate(spans):
        home = log_gap[first:last][at_home[first:last]]
        s.width[i] = log_bandwidth(home) if len(home) else MAX_LOG_BANDWIDTH
    exceeds = exceed_each(log_gap, s.width, code_of[order], lowest)
    near_all = rows_of[steps].T  # each spell's time-of-day weights, once: one gather of whole rows, not per context
    # The spells before a departure, few (most places have none), found once and cut by place.
    left_at = np.flatnonzero(left)
    cuts = np.searchsorted(left_at, bounds).tolist()
    for i, (first, last) in enumerate(spans):
        mine = slice(first, last)
        close = near_all[:, mine]
        # Every day type's weighted sums in one product: (groups x bins) x spells, times spells x grid.
        weighted = (home_weight[:, None, mine] * close[None, :, :]).reshape(-1, last - first)
        s.above[:, i, :, lowest:] = (weighted @ exceeds[mine]).reshape(len(groups), BINS, len(GRID) - lowest)
        s.weight[:, i] = home_weight[:, mine] @ close.T
        s.total[:, i] = spell_weight[:, mine] @ close.T
        s.above_all_day[i, lowest:] = home_recency[mine] @ exceeds[mine]
        s.weight_all_day[i] = home_recency[mine].sum()
        s.total_all_day[i] = recency[mine].sum()
        if cuts[i] < cuts[i + 1]:
            went = left_at[cuts[i] : cuts[i + 1]] - first
            s.left[:, i] = spell_weight[:, mine][:, went] @ close[:, went].T
            s.left_all_day[i] = recency[mine][went].sum()
    s.absent[:] = s.total - s.weight
    s.absent_all_day[:] = s.total_all_day - s.weight_all_day
    return s


def first_line(shortest_s: float) -> int:
    """The grid line below ``shortest_s``, the shortest line the rule reads: the curves are worked out from it on."""
    # The rule reads the curves at the floor, between this line and the next, and at the ceilings (a carer may set
    # one below the floor); a spell shorter than the floor is judged at it (``prior.py``). Below, more than half of
    # the grid at the default 30 min, nothing is read: half the learning's work, left undone.
    return max(int(np.searchsorted(GRID, shortest_s)) - 1, 0)


def longest_of(
    codes: np.ndarray,
    context: np.ndarray,
    tod: np.ndarray,
    seconds: np.ndarray,
    absence: np.ndarray,
    bandwidth_s: float,
) -> np.ndarray:
    """Per context (``codes``) and half hour, the longest spell at home that began within one bandwidth (0 if none).

    For the reasons an alert gives ("lasted at most 25 min"), not for the lines.
    """
    home = ~absence
    return _longest(np.searchsorted(codes, context[home]), tod[home], seconds[home], len(codes), bandwidth_s)


def _longest(code: np.ndarray, tod: np.ndarray, seconds: np.ndarray, contexts: int, bandwidth_s: float) -> np.ndarray:
    """Per context and half hour, the longest spell that began within one bandwidth of its middle (0 if none)."""
    centres = (np.arange(BINS) + 0.5) * DAY_S / BINS
    low, high = centres - bandwidth_s, centres + bandwidth_s
    order = np.lexsort((tod, code))  # each context's spells by time of day: a half hour's are a run of them
    code, tod, padded = code[order], tod[order], np.append(seconds[order], 0.0)
    cells = (np.arange(contexts)[:, None] * (BINS + 1) + np.arange(BINS)[None, :]).ravel()
    longest = np.full(contexts * BINS, -np.inf)
    for shifted in (tod - DAY_S, tod, tod + DAY_S):  # the day wraps round: the days before and after too
        # A start is in the half hours from the first whose upper edge reaches it to the last whose lower edge does;
        # in time-of-day order, those that reach half hour b are a run: from the first that does not stop before b
        # to the first that starts after it. Keys offset per context find every context's run in one search.
        first_bin = code * (BINS + 1) + np.searchsorted(high, shifted, side="left")
        end_bin = code * (BINS + 1) + np.searchsorted(low, shifted, side="right")
        begin, end = np.searchsorted(end_bin, cells, side="right"), np.searchsorted(first_bin, cells, side="right")
        most = np.maximum.reduceat(padded, np.stack([begin, end], axis=1).ravel())[::2]
        longest = np.where(begin < end, np.maximum(longest, most), longest)
    return np.where(longest > -np.inf, longest, 0.0).reshape(contexts, BINS)


def outing_shares(stats: Stats, prior: float, whole_misses: float) -> tuple[np.ndarray, np.ndarray]:
    """The share of spells that were outings the door did not see: per context and half hour, and the home's.

    The larger of two estimates: the outings seen (spells that ended with an
    arrival) and the departures from there, recorded or not, times the chance
    ``whole_misses`` that the door misses one whole. Each is shrunk like the
    survival: towards the context at any time, that towards the home at this time.
    """
    seen, home_seen = _shrunk(stats.absent, stats.absent_all_day, stats, prior)
    left, home_left = _shrunk(stats.left, stats.left_all_day, stats, prior)
    return np.maximum(seen, whole_misses * left), np.maximum(home_seen, whole_misses * home_left)


def _shrunk(count: np.ndarray, count_all_day: np.ndarray, s: Stats, prior: float) -> tuple[np.ndarray, np.ndarray]:
    """A share of the spells per context and half hour, shrunk towards the context's and the home's."""
    home = count.sum(axis=1) / np.maximum(s.total.sum(axis=1), 1e-12)  # groups x bins
    context = (count_all_day[None, :, None] + prior * home[:, None, :]) / (s.total_all_day[None, :, None] + prior)
    shrunk: np.ndarray = (count + prior * context) / (s.total + prior)
    return shrunk, home


def outing_curve(
    tod: np.ndarray, log_gap: np.ndarray, recency: np.ndarray, bandwidth_s: float, prior: float
) -> np.ndarray:
    """P(outing > x) for outings that begin in each half hour, shrunk towards outings at any time: bins x grid."""
    if not len(tod):
        return np.zeros((BINS, len(GRID)))
    exceeds = exceed(log_gap, log_bandwidth(log_gap))
    w = near(tod, bandwidth_s) * recency[None, :]
    all_day = (recency @ exceeds) / recency.sum()
    smoothed: np.ndarray = (w @ exceeds + prior * all_day[None, :]) / (w.sum(axis=1)[:, None] + prior)
    return smoothed


def _quantile(ordered: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default, without its overhead)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))
