"""A sensor that sees something other than the resident, and the collapses its reports would hide.

The protocol's incidents cut the file right after the onset: nothing reports
afterwards, not even a faulty sensor. A sensor that reports whatever happens (a
PIR facing a heater, curtains in a draught, the sun) goes on reporting after a
collapse, and each report looks like a sign of life. Here the incidents keep
that sensor's reports after the onset, so the figures show what such a sensor
costs, and how soon the detector stops taking its reports for the resident's.
"""

from __future__ import annotations

import bisect
import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sentinel.backtest.conditions import _busiest, midpoint
from sentinel.backtest.evaluation import (
    MISS_AFTER,
    Detector,
    DetectorFactory,
    Replayed,
    Report,
    checked_split,
    onsets,
    report_of,
)
from sentinel.core.events import Row
from sentinel.detect.tracker import Tracker

CHATTER_EVERY = timedelta(minutes=5)  # how often the faulty sensor reports: a PIR's hold time, again and again


@dataclass(frozen=True, slots=True)
class Chattering:
    """The file with the faulty sensor's extra reports, and which rows those are."""

    rows: list[Row]
    noise: frozenset[int]  # indices into ``rows`` of the reports that are not the resident's
    sensor: str


def chattering(rows: Sequence[Row], seed: int = 7) -> Chattering:
    """From the midpoint, the busiest motion sensor (or, without one, the busiest sensor) also reports every 5 min."""
    sensor = _busiest(rows, lambda r: r.kind == "motion") or _busiest(rows, lambda r: r.kind != "door")
    if sensor is None:
        raise ValueError("no sensor but the front door to make chatter")
    kind, room = next((r.kind, r.room) for r in rows if r.sensor == sensor)
    at = midpoint(rows) + CHATTER_EVERY * random.Random(seed).random()
    extra = []
    while at < rows[-1].at:
        extra.append(Row(at, sensor, kind, 1, room))
        at += CHATTER_EVERY
    made = sorted([*((r, False) for r in rows), *((r, True) for r in extra)], key=lambda pair: pair[0].at)
    return Chattering([r for r, _ in made], frozenset(i for i, (_, noise) in enumerate(made) if noise), sensor)


def measure_masked(made: Chattering, factory: DetectorFactory, seed: int = 7) -> Report:
    """The protocol over the resident's own rows, each incident followed by the faulty sensor's reports alone."""
    rows, noise = made.rows, made.noise
    split = checked_split(rows)
    noisy = sorted(noise)
    own = [r for i, r in enumerate(rows) if i not in noise]
    index_of = [i for i in range(len(rows)) if i not in noise]  # own row k is rows[index_of[k]]
    chosen = {index_of[k] for k in onsets(own, checked_split(own), seed)}
    detector = factory(split)
    false_alerts: list[datetime] = []
    after: dict[int, datetime | None] = {}
    for i, _, raised in Replayed(rows, detector):  # a faulty report taken for a sign of life ends a spell too
        if i in chosen:
            after[i] = _alert_with_noise(copy.deepcopy(detector), rows, noisy, i)
        if raised is not None and split.in_test(raised):
            false_alerts.append(raised)
    return report_of(rows, split, false_alerts, after, sorted(chosen))


def _alert_with_noise(detector: Detector, rows: Sequence[Row], noisy: list[int], onset: int) -> datetime | None:
    """When the alert comes after a collapse at ``onset`` while the faulty sensor goes on (None: not within 24 h).

    A report may make the detector see that the quiet began earlier (its reports in a row are undone): the
    alert is then known only at that report, however long before it the line was crossed.
    """
    if isinstance(detector, Tracker):
        detector.frozen = True  # the routine as it stood at the collapse: a day would change it little
    until, known = rows[onset].at + MISS_AFTER, rows[onset].at
    for j in noisy[bisect.bisect_right(noisy, onset) :]:
        at = detector.alert_at()
        if rows[j].at > until or (at is not None and at <= rows[j].at):
            break
        detector.observe(rows[j])
        known = rows[j].at
    at = detector.alert_at()
    return max(at, known) if at is not None and max(at, known) <= until else None
