"""The backtest protocol of docs/detection.md: false alerts and injected incidents.

A detector is replayed once over the whole file. After each row it says when
the current quiet spell would become alarming if nothing else happened
(``alert_at``); that one number gives both the false alerts (an alert time
before the next row) and the delay for an incident injected at that row.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sentinel.detect.csvio import Row

DAY = timedelta(days=1)
MISS_AFTER = timedelta(hours=24)
BUCKET = timedelta(minutes=10)


class Detector(Protocol):
    """What the protocol needs of a detector."""

    def observe(self, row: Row) -> None:
        """One more row of the home's history."""

    def alert_at(self) -> datetime | None:
        """When the current quiet spell becomes an alert if no row follows; None for never."""


@dataclass(frozen=True, slots=True)
class Split:
    """Day 0, the end of training and the end of the data."""

    day0: datetime
    train_days: int
    total_days: int

    @property
    def test_start(self) -> datetime:
        return self.day0 + self.train_days * DAY

    end: datetime

    @property
    def test_days(self) -> float:
        """From the start of the test period to the last row."""
        return (self.end - self.test_start) / DAY

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Split:
        day0 = rows[0].at.replace(hour=0, minute=0, second=0, microsecond=0)
        total = (rows[-1].at.date() - day0.date()).days + 1
        return cls(day0, max(7, total // 2), total, rows[-1].at)


@dataclass(frozen=True, slots=True)
class Report:
    """The protocol's figures for one detector on one home."""

    test_days: float
    false_alerts: int
    false_alerts_per_30d: float
    incidents: int
    detected_within_24h: float
    median_delay_min: float | None
    p90_delay_min: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {name: getattr(self, name) for name in self.__slots__}


DetectorFactory = Callable[[Split], Detector]


def onsets(rows: Sequence[Row], split: Split, seed: int = 7, count: int = 300) -> list[int]:
    """Indices of the injected incidents: thinned test-period activity rows, sampled."""
    candidates: list[int] = []
    seen: set[int] = set()
    for i, row in enumerate(rows):
        if row.at < split.test_start or not row.is_activity or row.kind == "door":
            continue
        bucket = (row.at - split.day0) // BUCKET
        if bucket not in seen:
            seen.add(bucket)
            candidates.append(i)
    return sorted(random.Random(seed).sample(candidates, min(count, len(candidates))))


def replay(
    rows: Sequence[Row],
    detector: Detector,
    split: Split,
    incident_rows: set[int],
    progress: Callable[[int], None] | None = None,
) -> tuple[list[datetime], dict[int, datetime | None]]:
    """False alert times in the test period, and the alert time after each incident row."""
    false_alerts: list[datetime] = []
    after: dict[int, datetime | None] = {}
    alerted = False
    for i, row in enumerate(rows):
        if row.is_activity:
            alerted = False  # activity ends the quiet spell
        detector.observe(row)
        at = detector.alert_at()
        if i in incident_rows:
            after[i] = at
        if i + 1 < len(rows) and not alerted and at is not None and at < rows[i + 1].at:
            alerted = True
            if at >= split.test_start:
                false_alerts.append(at)
        if progress and i % 1000 == 0:
            progress(i)
    return false_alerts, after


def evaluate(
    rows: Sequence[Row], factory: DetectorFactory, seed: int = 7, progress: Callable[[int], None] | None = None
) -> Report:
    """Run the whole protocol for one detector."""
    split = Split.of(rows)
    chosen = onsets(rows, split, seed)
    false_alerts, after = replay(rows, factory(split), split, set(chosen), progress)
    delays = []
    for i in chosen:
        at = after.get(i)
        if at is not None and at - rows[i].at <= MISS_AFTER:
            delays.append((at - rows[i].at).total_seconds() / 60)
    delays.sort()
    test_days = split.test_days
    return Report(
        test_days=round(test_days, 2),
        false_alerts=len(false_alerts),
        false_alerts_per_30d=round(len(false_alerts) / test_days * 30, 2) if test_days else math.nan,
        incidents=len(chosen),
        detected_within_24h=round(len(delays) / len(chosen), 4) if chosen else math.nan,
        median_delay_min=round(percentile(delays, 50), 1) if delays else None,
        p90_delay_min=round(percentile(delays, 90), 1) if delays else None,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default) of sorted ``values``."""
    if not values:
        raise ValueError("no values")
    pos = (len(values) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)
