"""Is the false-alert budget what is realised? The model of the training days, replayed frozen.

The model fitted on the training days is applied, as it is, to those same
days (in sample) and to the later days of the same home (out of sample),
counting one false alert per quiet spell that crosses its line, exactly as
the protocol counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sentinel.backtest.evaluation import Replayed, checked_split, wall
from sentinel.core.events import Row
from sentinel.detect.detector import InactivityDetector
from sentinel.detect.routine import Params


@dataclass(frozen=True, slots=True)
class Calibration:
    """False alerts a month: the budget, what the model expects, and what its lines realise."""

    budget: float
    expected: float  # the model's own expectation for its lines as applied
    forced: float  # of which spells longer than the ceilings, which alert whatever the lines
    in_sample: float  # realised on the days it was learned from
    out_of_sample: float  # realised on the later days, the model unchanged
    train_days: float
    test_days: float


def calibration(rows: Sequence[Row], params: Params | None = None, source: str = "the events") -> Calibration:
    """Fit on the training days, then count the lines' false alerts in and after them."""
    split = checked_split(rows, source)
    learner = InactivityDetector(params)
    for row in rows:
        if not split.in_test(row.at) and row.is_activity:
            learner.observe_deferred(row)
    learner.refit(wall(split.test_start), replay=True)
    if learner.model is None:
        raise ValueError(f"{source}: nothing to learn from in the training days")
    frozen = learner.frozen_copy()
    counts = {False: 0, True: 0}  # by "in the test period"
    for _, _, raised in Replayed(rows, frozen):
        if raised is not None:
            counts[split.in_test(raised)] += 1
    train_days = float(split.train_days) - (wall(rows[0].at) - wall(split.day0)).total_seconds() / 86400
    return Calibration(
        budget=learner.params.false_alerts_per_month,
        expected=round(learner.model.expected_per_month, 2),
        forced=round(learner.model.forced_per_month, 2),
        in_sample=round(counts[False] / train_days * 30, 2),
        out_of_sample=round(counts[True] / split.test_days * 30, 2),
        train_days=round(train_days, 2),
        test_days=round(split.test_days, 2),
    )
