"""The inactivity detector: the learned routine applied to the current quiet spell.

Pure: rows in, ``alert_at()`` out. It keeps learning online, refitting the
routine once a day from a rolling window of spells.

Times are the home's local wall-clock times, with their UTC offset when known:
the time of day (what the routine is about) is read off the clock face, while a
spell's length is the real time elapsed, which differs from the clock face's
difference across a change to or from summer time.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np

from sentinel.detect.csvio import Row
from sentinel.detect.routine import EPOCH, Limit, Params, RoutineModel, Spell, SpellTable, fit, wall_seconds


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

    def __init__(self, params: Params | None = None, warmup: Warmup | None = None, not_back: bool = False) -> None:
        self.params = params or Params()
        self.warmup = warmup or Warmup()
        # The learned spells, as parallel columns (fast to turn into arrays).
        self._start: list[float] = []
        self._seconds: list[float] = []
        self._context: list[int] = []
        self._codes: dict[str, int] = {}
        self.outing_contexts: set[str] = set()
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None
        self.last_context: str | None = None
        self.model: RoutineModel | None = None
        self.not_back = not_back  # also learn outings, to say when one lasts far longer than usual
        self.outing_model: RoutineModel | None = None
        self._fitted_on: date | None = None
        self.frozen = False  # neither learn nor refit: the model stays as it is (calibration checks)

    @property
    def spells(self) -> list[Spell]:
        """The spells the routine is learned from (oldest first)."""
        names = {code: name for name, code in self._codes.items()}
        return [
            Spell(EPOCH + timedelta(seconds=start), names[code], seconds)
            for start, seconds, code in zip(self._start, self._seconds, self._context, strict=True)
        ]

    @property
    def learning(self) -> bool:
        """Still on warm-up lines."""
        return self.model is None

    def observe(self, row: Row) -> None:
        if row.is_activity:
            self.activity(row.at, context_of(row.sensor, row.kind, row.value), row.kind == "door")

    def observe_deferred(self, row: Row) -> None:
        """``observe`` without relearning (bulk loading; call ``refit`` after)."""
        if row.is_activity:
            self.activity(row.at, context_of(row.sensor, row.kind, row.value), row.kind == "door", refit=False)

    def activity(
        self, at: datetime, context: str, is_door: bool = False, learn: bool = True, refit: bool = True
    ) -> None:
        """A sign of life: it ends the current spell and starts the next.

        ``learn`` False leaves the ending spell out of the routine (away, paused,
        or during an incident); ``refit`` False defers relearning (bulk loading).
        """
        if self.frozen:
            learn = refit = False
        if learn and self.last_at is not None and self.last_context is not None:
            self._start.append(wall_seconds(self.last_at))
            self._seconds.append((at - self.last_at).total_seconds())
            self._context.append(self._codes.setdefault(self.last_context, len(self._codes)))
        if is_door:
            self.outing_contexts.add(context)
        if self.first_at is None:
            self.first_at = at
        self.last_at, self.last_context = at, context
        if refit and at.date() != self._fitted_on and (at - self.first_at) >= timedelta(days=self.warmup.min_days):
            self.refit(at)

    def refit(self, now: datetime) -> None:
        """Relearn the routine from the window of spells before ``now``."""
        cut = bisect.bisect_left(self._start, wall_seconds(now) - self.params.window_days * 86400)
        del self._start[:cut], self._seconds[:cut], self._context[:cut]
        if not self._start:
            return
        names = tuple(sorted(self._codes, key=self._codes.__getitem__))
        table = SpellTable(np.array(self._start), np.array(self._seconds), np.array(self._context), names)
        self.model = fit(table, now, self.params, frozenset(self.outing_contexts))
        if self.not_back and self.outing_contexts:
            homes = frozenset(names) - self.outing_contexts  # learn the outings alone
            try:
                self.outing_model = fit(table, now, replace(self.params, ceiling_s=math.inf), homes)
                self.outing_model.night = None  # nights say nothing about how long an outing lasts
            except ValueError:  # no outings in the window yet
                self.outing_model = None
        self._fitted_on = now.date()

    def frozen_copy(self) -> InactivityDetector:
        """A detector with this one's learned routine, kept as it is, and no current spell."""
        copy = InactivityDetector(self.params, self.warmup, self.not_back)
        copy.model, copy.outing_model = self.model, self.outing_model
        copy.outing_contexts = set(self.outing_contexts)
        copy.frozen = True
        return copy

    def line_s(self) -> float | None:
        """How long the current spell may last before it is unusual."""
        if self.last_at is None or self.last_context is None:
            return None
        if self.last_context in self.outing_contexts:
            # Probably out: no inactivity alert. "Not back" is a separate, opt-in alert.
            if self.outing_model is None:
                return math.inf
            return self.outing_model.line(self.last_context, self.last_at)
        if self.model is None:
            return self.warmup.line(self.last_at)
        return self.model.line(self.last_context, self.last_at)

    def limit(self) -> Limit | None:
        """``line_s()`` with what set it, for the alert's reason."""
        if self.last_at is None or self.last_context is None:
            return None
        if self.last_context in self.outing_contexts:
            if self.outing_model is None:
                return Limit(math.inf, "outing")
            return self.outing_model.limit(self.last_context, self.last_at)
        if self.model is None:
            return Limit(self.warmup.line(self.last_at), "warmup")
        return self.model.limit(self.last_context, self.last_at)

    def alert_at(self) -> datetime | None:
        line = self.line_s()
        if line is None or self.last_at is None or math.isinf(line):
            return None
        return self.last_at + timedelta(seconds=line)
