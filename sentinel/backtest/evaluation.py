"""The backtest protocol of docs/detection.md: false alerts and injected incidents.

A detector is replayed once over the whole file. After each row it says when
the current quiet spell would become alarming if nothing else happened
(``alert_at``); that one number gives both the false alerts (an alert time
before the next row) and the delay for an incident injected at that row.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sentinel.backtest.conditions import entrance_door
from sentinel.core.events import Row
from sentinel.errors import CsvFormatError

DAY = timedelta(days=1)
MISS_AFTER = timedelta(hours=24)
BUCKET = timedelta(minutes=10)


class Detector(Protocol):
    """What the protocol needs of a detector."""

    def observe(self, row: Row) -> bool:
        """One more row of the home's history; True when taken for a sign of life (what ends a quiet spell)."""

    def alert_at(self) -> datetime | None:
        """When the current quiet spell becomes an alert if no row follows; None for never."""


MIN_TRAIN_DAYS = 7
MIN_TEST_DAYS = 1


class NotEnoughData(CsvFormatError):
    """The file is too short, or too empty, for the protocol to measure anything."""


def wall(at: datetime) -> datetime:
    """The clock-face reading of ``at``, without its UTC offset (if it has one)."""
    return at if at.tzinfo is None else at.replace(tzinfo=None)  # no copy in the common case: it runs per row


@dataclass(frozen=True, slots=True)
class Split:
    """Day 0, the end of training and the end of the data.

    Days are counted on the home's clock face (local midnights), whatever the
    UTC offsets of the rows; rows and alerts are placed in the test period by
    their clock-face reading too.
    """

    day0: datetime
    train_days: int
    total_days: int
    end: datetime
    test_start: datetime = field(init=False)
    _test_wall: datetime = field(init=False, repr=False)  # asked for every row: worked out once

    def __post_init__(self) -> None:
        object.__setattr__(self, "test_start", self.day0 + self.train_days * DAY)
        object.__setattr__(self, "_test_wall", wall(self.test_start))

    def in_test(self, at: datetime) -> bool:
        """Whether ``at`` falls in the test period."""
        return wall(at) >= self._test_wall

    @property
    def test_days(self) -> float:
        """From the start of the test period to the last row."""
        return (wall(self.end) - wall(self.test_start)) / DAY

    @property
    def whole_days(self) -> int:
        """Whole days from the midnight before the first row to the last row."""
        return int((wall(self.end) - wall(self.day0)) / DAY)

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Split:
        day0 = rows[0].at.replace(hour=0, minute=0, second=0, microsecond=0)
        total = (rows[-1].at.date() - day0.date()).days + 1
        return cls(day0, max(MIN_TRAIN_DAYS, total // 2), total, rows[-1].at)


def checked_split(rows: Sequence[Row], source: str = "the events") -> Split:
    """The split, once the rows are known to hold a training period and at least a day to test."""
    if not rows:
        raise NotEnoughData(f"{source}: no events; a backtest needs {MIN_TRAIN_DAYS + MIN_TEST_DAYS} whole days")
    split = Split.of(rows)
    if split.test_days < MIN_TEST_DAYS:
        # Only files shorter than 8 whole days get here, and their training period is always 7 days.
        raise NotEnoughData(
            f"{source}: {split.whole_days} whole day{'' if split.whole_days == 1 else 's'} of events "
            f"(from {wall(split.day0):%Y-%m-%d} 00:00 to the last row at {wall(split.end):%Y-%m-%d %H:%M}); "
            f"a backtest needs at least {split.train_days + MIN_TEST_DAYS}: "
            f"{split.train_days} to learn the routine, then {MIN_TEST_DAYS} to test it"
        )
    return split


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
        if not row.is_activity or row.kind == "door" or not split.in_test(row.at):
            continue
        bucket = (row.at - split.day0) // BUCKET  # by the instant: an hour repeated in autumn is not thinned away
        if bucket not in seen:
            seen.add(bucket)
            candidates.append(i)
    return sorted(random.Random(seed).sample(candidates, min(count, len(candidates))))


def door_onsets(rows: Sequence[Row], split: Split) -> list[int]:
    """Indices of every test-period row of the entrance door: the person collapses right after coming in."""
    door = entrance_door(rows)
    return [i for i, row in enumerate(rows) if row.sensor == door and split.in_test(row.at)]


class Replayed:
    """The rows fed to a detector one by one, with the alerts it raises: one per quiet spell, as the circle gets them.

    Iterating gives each row's index, the detector's alert time after it, and that time again if the alert is
    raised before the next row (else None). A row the detector does not take for a sign of life (a PIR going
    quiet, a sensor's reports alone) does not end the quiet spell, so its alert is not raised again; ``out``
    says whether the current spell's alert is out.
    """

    def __init__(self, rows: Sequence[Row], detector: Detector) -> None:
        self.rows, self.detector, self.out = rows, detector, False

    def __iter__(self) -> Iterator[tuple[int, datetime | None, datetime | None]]:
        rows = self.rows
        for i, row in enumerate(rows):
            if self.detector.observe(row):
                self.out = False  # a sign of life ends the quiet spell
            at = self.detector.alert_at()
            raised = at if i + 1 < len(rows) and not self.out and at is not None and at < rows[i + 1].at else None
            self.out |= raised is not None
            yield i, at, raised


def replay_split(
    rows: Sequence[Row],
    detector: Detector,
    split: Split,
    incident_rows: set[int],
    progress: Callable[[int], None] | None = None,
) -> tuple[list[datetime], dict[int, datetime | None]]:
    """False alert times in the test period, and the alert time after each incident row."""
    false_alerts: list[datetime] = []
    after: dict[int, datetime | None] = {}
    for i, at, raised in Replayed(rows, detector):
        if i in incident_rows:
            after[i] = at
        if raised is not None and split.in_test(raised):
            false_alerts.append(raised)
        if progress and i % 1000 == 0:
            progress(i)
    return false_alerts, after


@dataclass(frozen=True, slots=True)
class Measured:
    """The protocol's report, and the same replay's delays for incidents right after the entrance door."""

    report: Report
    doors: Report | None  # None when the test period has no entrance door row


def evaluate(
    rows: Sequence[Row],
    factory: DetectorFactory,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
    source: str = "the events",
) -> Report:
    """Run the whole protocol for one detector; NotEnoughData (naming ``source``) if it cannot."""
    return measure(rows, factory, seed, progress, source).report


def measure(
    rows: Sequence[Row],
    factory: DetectorFactory,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
    source: str = "the events",
) -> Measured:
    """The protocol and the door onsets row, from one replay; NotEnoughData (naming ``source``) if it cannot."""
    split = checked_split(rows, source)
    chosen = onsets(rows, split, seed)
    if not chosen:
        raise NotEnoughData(
            f"{source}: no sign of life in the test period (from {wall(split.test_start):%Y-%m-%d}) "
            "to start an incident at: a backtest needs activity rows other than doors there"
        )
    doors = door_onsets(rows, split)
    false_alerts, after = replay_split(rows, factory(split), split, {*chosen, *doors}, progress)
    report = report_of(rows, split, false_alerts, after, chosen)
    return Measured(report, report_of(rows, split, false_alerts, after, doors) if doors else None)


def report_of(
    rows: Sequence[Row],
    split: Split,
    false_alerts: list[datetime],
    after: dict[int, datetime | None],
    chosen: list[int],
) -> Report:
    """The figures of one replay over the incidents at ``chosen``."""
    delays = []
    for i in chosen:
        at = after.get(i)
        if at is not None and at - rows[i].at <= MISS_AFTER:
            # An alert due before the onset (the row was not taken for a sign of life: a sensor found reporting
            # alone) is already out when the person collapses: found at once, not before.
            delays.append(max(0.0, (at - rows[i].at).total_seconds() / 60))
    delays.sort()
    test_days = split.test_days  # at least one (checked_split)
    return Report(
        test_days=round(test_days, 2),
        false_alerts=len(false_alerts),
        false_alerts_per_30d=round(len(false_alerts) / test_days * 30, 2),
        incidents=len(chosen),
        detected_within_24h=round(len(delays) / len(chosen), 4),
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
