"""The carer's tools: replay an event CSV, backtest it, summarise the routine."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from sentinel.backtest.conditions import CONDITIONS
from sentinel.backtest.evaluation import Measured, Replayed, Report, Split, checked_split, measure
from sentinel.backtest.reference import Cuddihy, FixedTimer
from sentinel.backtest.waits import forced_by_rooms, learner_of, slot_lines
from sentinel.core.events import Row
from sentinel.detect.detector import BACK, InactivityDetector, context_of
from sentinel.detect.explain import (
    DETECTION_OFF,
    Place,
    capital,
    clock_after_noon,
    duration,
    expected_words,
    explain,
)
from sentinel.detect.lines import RoutineModel
from sentinel.detect.routine import DAY_S

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig


@dataclass(frozen=True, slots=True)
class ReplayedAlert:
    """An alert the detector would have raised; ``pending``: the one the last quiet spell would raise.

    A pending alert is not in the past: the file ends before it would come, at
    ``at`` if the quiet went on (None when the resident is probably out).
    """

    at: datetime | None
    reason: str
    facts: dict[str, Any]
    kind: Literal["inactivity", "pending"] = "inactivity"

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="seconds") if self.at else None,
            "kind": self.kind,
            "reason": self.reason,
            "facts": self.facts,
        }


@dataclass(frozen=True, slots=True)
class Replay:
    """The alerts a replay found, and what the quiet at the end of the file would lead to."""

    alerts: list[ReplayedAlert]
    pending: ReplayedAlert | None
    ends: datetime | None  # the last row
    out: bool = False  # the last alert is still out: nothing since was taken for a sign of the resident's


def replay(rows: Sequence[Row], name: str = "the resident") -> Replay:
    """Every inactivity alert the detector would have raised over these rows, and the one still to come."""
    detector = InactivityDetector()
    places: dict[str, tuple[Place, int]] = {}
    alerts: list[ReplayedAlert] = []

    def explained(at: datetime) -> tuple[str, dict[str, Any]]:
        context = detector.last_context or ""
        place, value = places[context.removesuffix(BACK)]  # the door coming in is still the door
        limit = detector.limit()
        assert detector.last_at is not None and limit is not None
        model, days = detector.model, detector.warmup.min_days
        return explain(name, detector.last_at, at, context, place, value, limit, model, learn_days=days)

    replayed = Replayed(rows, detector)
    for i, _, raised in replayed:
        row = rows[i]
        if row.is_activity:
            places[context_of(row.sensor, row.kind, row.value)] = (
                Place(row.sensor, row.kind, row.room or None),
                row.value,
            )
        if raised is not None:
            alerts.append(ReplayedAlert(raised.replace(microsecond=0), *explained(raised)))
    pending = None if replayed.out else _pending(detector, places, name, explained)
    return Replay(alerts, pending, rows[-1].at if rows else None, replayed.out)


def _pending(
    detector: InactivityDetector,
    places: dict[str, tuple[Place, int]],
    name: str,
    explained: Callable[[datetime], tuple[str, dict[str, Any]]],
) -> ReplayedAlert | None:
    """What the quiet after the last sign of life would lead to, if nothing else happened."""
    if detector.last_at is None or detector.last_context is None:
        return None  # no sign of life in the file
    at = detector.alert_at()
    if at is None:
        place, value = places[detector.last_context.removesuffix(BACK)]
        reason = (
            f"{capital(name)} is probably out (last noticed by {place.words(value)}"
            f" at {detector.last_at:%H:%M}): no inactivity alert would come."
        )
        facts = {
            "last_activity": detector.last_at.isoformat(timespec="seconds"),
            "line_min": None,
            "line_cause": "outing",
            "context": detector.last_context,
        }
        return ReplayedAlert(None, reason, facts, "pending")
    return ReplayedAlert(at.replace(microsecond=0), *explained(at), "pending")


DETECTORS: dict[str, Callable[[Split], Any]] = {
    "sentinel": lambda split: InactivityDetector(reasons=False),  # the measure reads no alert's reason
    "fixed 12 h": lambda split: FixedTimer(12),
    "Cuddihy 2007": Cuddihy,
}


@dataclass(frozen=True, slots=True)
class Backtest:
    """Every detector on the file as it is and, when asked, on each robustness condition made from it."""

    measured: dict[str, Measured]
    conditions: dict[str, dict[str, Measured]]

    @property
    def reports(self) -> dict[str, Report]:
        return {name: m.report for name, m in self.measured.items()}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Per detector: the protocol's figures, its door onsets, and its figures under each condition."""

        def one(m: Measured) -> dict[str, Any]:
            return {**m.report.as_dict(), "door_onsets": m.doors.as_dict() if m.doors else None}

        out = {}
        for name, m in self.measured.items():
            out[name] = one(m)
            if self.conditions:
                out[name]["conditions"] = {c: one(by[name]) for c, by in self.conditions.items()}
        return out


def backtest(
    rows: Sequence[Row], seed: int = 7, progress: bool = False, source: str = "the events"
) -> dict[str, Report]:
    """The evaluation protocol for sentinel's detector and both references.

    NotEnoughData (naming ``source``) when the rows cannot be measured, before any detector runs.
    """
    return backtest_all(rows, seed, progress, source).reports


def backtest_all(
    rows: Sequence[Row], seed: int = 7, progress: bool = False, source: str = "the events", conditions: bool = False
) -> Backtest:
    """The protocol and the door onsets for every detector; with ``conditions``, on each robustness condition too.

    The conditions (a sensor dies, a sparse kit, missed departures, stray events,
    a clock change) are made from the file itself, seeded. NotEnoughData (naming
    ``source``) when the file itself cannot be measured.
    """
    checked_split(rows, source)  # refuse before any work
    files = {"": list(rows)}
    if conditions:
        files.update({name: make(rows, seed) for name, make in CONDITIONS.items()})
    bar = _Progress(sum(len(f) for f in files.values()) * len(DETECTORS)) if progress else None
    done = 0
    results: dict[str, dict[str, Measured]] = {}
    for label, file_rows in files.items():
        results[label] = {}
        for name, factory in DETECTORS.items():
            tick = (lambda i, d=done: bar.show(d + i)) if bar else None
            where = source if not label else f"{source} ({label})"
            results[label][name] = measure(file_rows, factory, seed, tick, where)
            done += len(file_rows)
    if bar:
        bar.done()
    clean = results.pop("")
    return Backtest(clean, results)


def _minutes(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} min"


def _line(name: str, r: Report, false_alerts: bool = True) -> str:
    alerts = f"{r.false_alerts_per_30d:17.1f}" if false_alerts else f"{'':17s}"
    return (
        f"{name:14s} {r.test_days:9.1f} {alerts} {r.detected_within_24h * 100:14.0f}% "
        f"{_minutes(r.median_delay_min):>12s} {_minutes(r.p90_delay_min):>10s}"
    )


HEADER = (
    f"{'detector':14s} {'test days':>9s} {'false alerts/30 d':>17s} {'detected <=24 h':>15s} "
    f"{'median delay':>12s} {'p90 delay':>10s}"
)


def format_backtest(reports: dict[str, Report] | Backtest) -> str:
    """The backtest as a table: the protocol, the door onsets, and each condition asked for."""
    if not isinstance(reports, Backtest):
        return "\n".join([HEADER, *(_line(name, r) for name, r in reports.items())])
    lines = [HEADER, *(_line(name, m.report) for name, m in reports.measured.items())]
    lines += _doors(reports.measured)
    for condition, by in reports.conditions.items():
        lines += ["", f"{condition}:", *(_line(name, m.report) for name, m in by.items()), *_doors(by)]
    return "\n".join(lines)


def _doors(measured: dict[str, Measured]) -> list[str]:
    """The door onsets row: incidents right after a row of the entrance door (the same replay)."""
    first = next(iter(measured.values()))
    if first.doors is None:
        return ["door onsets: none (no entrance door row in the test period)"]
    out = [f"door onsets ({first.doors.incidents} rows of the entrance door in the test period):"]
    return out + [_line(name, m.doors, false_alerts=False) for name, m in measured.items() if m.doors]


def routine_summary(
    rows: Sequence[Row], detection: DetectionConfig | None = None, model: RoutineModel | None = None, note: str = ""
) -> str:
    """What the detector learned, in words a carer can check against what they know.

    ``model``: the routine the agent watches with, when there is one; else it is learned here from ``rows``, with
    the settings of ``detection`` (the defaults without); ``note`` says which.
    """
    head = [DETECTION_OFF] if detection is not None and not detection.enabled else []
    head += [note] if note else []
    if model is None:
        detector = learner_of(detection)
        for row in rows:
            detector.observe(row)
        model = detector.model
        if model is None:
            events = f"{len(rows)} event{'s' if len(rows) != 1 else ''}"
            needs = f"Still learning: {events} so far; the routine needs {detector.warmup.min_days:g} days."
            return "\n".join([*head, needs])
    counts = [0] * 24
    for row in rows:
        if row.is_activity:
            counts[row.at.hour] += 1
    days = max(1.0, (rows[-1].at - rows[0].at).total_seconds() / DAY_S)
    out = [*head, f"Learned from the last {model.days:.0f} days ({model.spells_per_day:.0f} quiet spells a day)."]
    by_rooms = forced_by_rooms(rows, detection.rooms, model.days, model.params) if detection is not None else 0.0
    out.append(expected_words(model, by_rooms))
    if model.night:
        night = model.night
        out.append(
            f"Usual night: from {clock_after_noon(night.bed_from)} to {clock_after_noon(night.usually_up)}; "
            f"latest up: {clock_after_noon(night.up_by)} (over {night.nights} nights)."
        )
    out.append("")
    out.append("hour  activity/day  alert after (typical place at that hour)")
    for hour, (context, line) in enumerate(slot_lines(rows, model, detection)):
        bar = "#" * min(20, round(counts[hour] / days))
        shown = "never (out)" if line == float("inf") else duration(line)
        out.append(f"{hour:02d}:00 {counts[hour] / days:8.1f}  {bar:<20s} {shown} ({context or '-'})")
    return "\n".join(out)


class _Progress:
    """A one-line progress bar on a terminal (stderr)."""

    def __init__(self, total: int, out: TextIO = sys.stderr) -> None:
        self.total = max(1, total)
        self.out = out

    def show(self, done: int) -> None:
        filled = int(30 * done / self.total)
        self.out.write(f"\rbacktest [{'#' * filled}{'.' * (30 - filled)}] {100 * done // self.total:3d}%")
        self.out.flush()

    def done(self) -> None:
        self.out.write("\r" + " " * 50 + "\r")
        self.out.flush()
