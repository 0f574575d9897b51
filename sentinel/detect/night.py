"""The usual night: when the resident is usually at rest, learned only when it is the same night after night."""

from __future__ import annotations

import math

import numpy as np

from sentinel.detect.lines import BINS, DAY_S, NOON, Night

__all__ = ["NOON", "Night", "learn_night"]

MIN_REST_S = 2 * 3600.0  # a day whose longest quiet spell is shorter had no night's rest to learn from
MIN_NIGHTS = 3  # fewer rests than this say nothing about a habit
# The time covered by the rest on most nights must be one stretch at least this share of the typical rest:
# when the longest spells of the days fall at different times, the overlap of most of them is short or broken.
MIN_SHARED_REST = 0.5


def learn_night(start: np.ndarray, seconds: np.ndarray) -> Night | None:
    """Each noon-to-noon day's longest quiet spell is its night's rest; None unless the rests agree.

    ``start`` is in seconds of local wall-clock time since 1970-01-01. The usual
    night is the time of day covered by the rest on most nights, accepted only
    when it is one stretch at least half as long as the typical rest (a night
    that moves from day to day is no usual night). A spell that begins in it
    may last until the latest waking seen.
    """
    long = seconds >= MIN_REST_S
    if not long.any():
        return None
    day = np.floor((start[long] - NOON) / DAY_S)
    order = np.lexsort((-seconds[long], day))  # by day, longest first
    _, first = np.unique(day[order], return_index=True)
    rests = order[first]
    if len(rests) < MIN_NIGHTS:
        return None
    since_noon = (start[long][rests] - NOON) % DAY_S
    ends = np.minimum(since_noon + seconds[long][rests], DAY_S)
    step = DAY_S / BINS
    covered = np.zeros(BINS)
    for begin, end in zip(since_noon, ends, strict=True):
        covered[int(begin // step) : math.ceil(end / step)] += 1
    usual = np.flatnonzero(covered > len(rests) / 2)
    if not len(usual) or np.any(np.diff(usual) != 1):
        return None
    typical = float(np.median(ends - since_noon))
    if len(usual) * step < MIN_SHARED_REST * typical:
        return None
    bed_from, usually_up = float(usual[0] * step), float((usual[-1] + 1) * step)
    later = ends[ends > bed_from]
    up_by = float(later.max()) if len(later) else usually_up
    return Night(bed_from=bed_from, usually_up=usually_up, up_by=max(up_by, usually_up), nights=len(rests))
