"""The inactivity detector: the learned routine applied to the current quiet spell.

Pure: rows in, ``alert_at()`` out. It keeps learning online, refitting the
routine once a day from a rolling window of spells.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sentinel.detect.csvio import Row
from sentinel.detect.routine import Params, RoutineModel, Spell, fit


def context_of(sensor: str, kind: str, value: int) -> str:
    """Where the person last was: the sensor, with its value for two-state sensors."""
    return sensor if kind == "motion" else f"{sensor}:{value}"


@dataclass(frozen=True, slots=True)
class Warmup:
    """Fixed lines used until enough days are learned (conservative on purpose)."""

    min_days: float = 7.0
    day_s: float = 6 * 3600
    night_s: float = 12 * 3600
    night_from: int = 20  # hour
    night_until: int = 8

    def line(self, at: datetime) -> float:
        night = at.hour >= self.night_from or at.hour < self.night_until
        return self.night_s if night else self.day_s


class InactivityDetector:
    """Learns quiet spells and says when the current one becomes unusual."""

    def __init__(self, params: Params | None = None, warmup: Warmup | None = None) -> None:
        self.params = params or Params()
        self.warmup = warmup or Warmup()
        self.spells: deque[Spell] = deque()
        self.outing_contexts: set[str] = set()
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None
        self.last_context: str | None = None
        self.model: RoutineModel | None = None
        self._fitted_on: date | None = None

    @property
    def learning(self) -> bool:
        """Still on warm-up lines."""
        return self.model is None

    def observe(self, row: Row) -> None:
        if row.is_activity:
            self.activity(row.at, context_of(row.sensor, row.kind, row.value), row.kind == "door")

    def activity(
        self, at: datetime, context: str, is_door: bool = False, learn: bool = True, refit: bool = True
    ) -> None:
        """A sign of life: it ends the current spell and starts the next.

        ``learn`` False leaves the ending spell out of the routine (away, paused,
        or during an incident); ``refit`` False defers relearning (bulk loading).
        """
        if learn and self.last_at is not None and self.last_context is not None:
            self.spells.append(Spell(self.last_at, self.last_context, (at - self.last_at).total_seconds()))
        if is_door:
            self.outing_contexts.add(context)
        if self.first_at is None:
            self.first_at = at
        self.last_at, self.last_context = at, context
        if refit and at.date() != self._fitted_on and (at - self.first_at) >= timedelta(days=self.warmup.min_days):
            self.refit(at)

    def refit(self, now: datetime) -> None:
        """Relearn the routine from the window of spells before ``now``."""
        horizon = now - timedelta(days=self.params.window_days)
        while self.spells and self.spells[0].start < horizon:
            self.spells.popleft()
        if not self.spells:
            return
        self.model = fit(list(self.spells), now, self.params, frozenset(self.outing_contexts))
        self._fitted_on = now.date()

    def line_s(self) -> float | None:
        """How long the current spell may last before it is unusual."""
        if self.last_at is None or self.last_context is None:
            return None
        if self.last_context in self.outing_contexts:
            return math.inf  # probably out: "not back by the usual time" is a separate, opt-in alert
        if self.model is None:
            return self.warmup.line(self.last_at)
        return self.model.line(self.last_context, self.last_at)

    def alert_at(self) -> datetime | None:
        line = self.line_s()
        if line is None or self.last_at is None or math.isinf(line):
            return None
        return self.last_at + timedelta(seconds=line)
