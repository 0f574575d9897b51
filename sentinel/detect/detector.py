"""The inactivity detector: the learned routine applied to the current quiet spell.

Pure: rows in, ``alert_at()`` out. It keeps learning online, refitting the
routine once a day from a rolling window of spells.

Times are the home's local wall-clock times, with their UTC offset when known:
the time of day (what the routine is about) is read off the clock face, while a
spell's length is the real time elapsed, which differs from the clock face's
difference across a change to or from summer time.

After the front door the resident has either come in or gone out; what
follows tells which. Until a return is seen (the door again, or
``RETURN_ROWS`` signs of life indoors), one or two indoor events are taken for
stray sensor blips in an empty home: they neither end the outing's spell nor
move its line.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np

from sentinel.detect.csvio import Row
from sentinel.detect.routine import EPOCH, Limit, Params, RoutineModel, Spell, SpellTable, fit, wall_seconds
from sentinel.detect.silent import SILENT_FACTOR, SilentSensor, Usual, usual_gaps_of

# Signs of life indoors after the front door that make a return: a pressure mat's blip is two rows
# (occupied, vacated) and a PIR's false trigger one, so a third is the first that strays do not explain.
RETURN_ROWS = 3
# "Door, then movement": a sign of life indoors this soon after the front door is someone coming in (or
# never having left). A stray in an empty home falls anywhere in an absence of hours, seldom this early.
ARRIVAL_S = 30 * 60
BACK = " back"  # added to the front door's context when it closes an outing: the resident is coming in


def arrival(context: str) -> bool:
    """Whether ``context`` is the front door closing an outing (coming in)."""
    return context.endswith(BACK)


def sensor_of(context: str) -> str:
    """The sensor named in a context."""
    return context.removesuffix(BACK).split(":")[0]


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


@dataclass(frozen=True, slots=True)
class _Sign:
    """A sign of life not yet learned from: a possible stray after the door."""

    at: datetime
    context: str
    learn: bool


class InactivityDetector:
    """Learns quiet spells and says when the current one becomes unusual."""

    def __init__(self, params: Params | None = None, warmup: Warmup | None = None, not_back: bool = False) -> None:
        self.params = params or Params()
        self.warmup = warmup or Warmup()
        # The learned spells, as parallel columns (fast to turn into arrays).
        self._start: list[float] = []
        self._seconds: list[float] = []
        self._context: list[int] = []
        self._end: list[int] = []  # the context of the sign of life that ended the spell
        self._absence: list[bool] = []  # it ended with someone arriving: an outing the door did not see
        self._chain: list[bool] = []  # it began where the spell before it ended
        self._recorded_to: datetime | None = None  # where the last spell learned ended
        self._dropped = 0  # spells dropped from the front of the window so far
        self._codes: dict[str, int] = {}
        self.outing_contexts: set[str] = set()  # the front door's contexts when it opens an outing (going out)
        self._doors: set[str] = set()  # and when it closes one (coming in)
        self._doors_sensors: set[str] = set()  # the sensors of the front door (their silence is the resident's)
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None  # the last sign of life
        self.last_context: str | None = None
        self.model: RoutineModel | None = None
        self.not_back = not_back  # also learn outings alone, to say when one lasts far longer than usual
        self.outing_model: RoutineModel | None = None
        self._fitted_on: date | None = None
        self.frozen = False  # neither learn nor refit: the model stays as it is (calibration checks)
        # The spell being measured starts at the last sign of life taken for the resident's.
        self._from: _Sign | None = None
        self._out: _Sign | None = None  # the front door, while no return has followed it
        self._strays: list[_Sign] = []  # indoor signs since, not (yet) taken for a return
        self._before_door: int | None = None  # the spell that ended at that door (absolute index)
        self._went_out = False  # since that door, a spell from the door to the door again: a departure
        # Sensors that stopped reporting: the routine is relearned as if they had never been there.
        self.silent: set[str] = set()
        self._signs = 0  # signs of life seen so far
        self._last_sign: dict[str, tuple[int, datetime]] = {}  # per sensor: the count and time of its last
        self._usual: dict[str, Usual] = {}  # per sensor, from the window at the last refit
        self._next_check = math.inf  # the count at which some sensor would have been silent too long

    @property
    def spells(self) -> list[Spell]:
        """The spells the routine is learned from (oldest first)."""
        names = {code: name for name, code in self._codes.items()}
        return [
            Spell(EPOCH + timedelta(seconds=start), names[code], seconds, names.get(end), absence)
            for start, seconds, code, end, absence in zip(
                self._start, self._seconds, self._context, self._end, self._absence, strict=True
            )
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
        if is_door and self._out is not None and self._from is not None:
            # The door again after a while with no return between: the outing is over, this is coming in.
            if (at - self._from.at).total_seconds() >= self.params.floor_s:
                self._went_out = True
            if self._went_out:
                context += BACK
        sign = _Sign(at, context, learn)
        if is_door:
            self._doors.add(context)
            if not arrival(context):
                self.outing_contexts.add(context)
            if self._out is None:
                self._record(sign)
                self._before_door = self._dropped + len(self._start) - 1 if self._start else None
                self._went_out = False
            else:  # the door again: whatever came in between were strays, and the spell from the door goes on
                self._record(sign)
            self._out, self._strays = sign, []
        elif self._out is None:
            self._record(sign)
        elif arrival(self._out.context):  # after coming in, whoever moves is the resident
            self._strays.append(sign)
            self._returned()
        else:
            self._strays.append(sign)
            deadline = self._out_deadline()
            soon = (at - self._out.at).total_seconds() <= ARRIVAL_S
            if soon or len(self._strays) >= RETURN_ROWS or (deadline is not None and at >= deadline):
                self._returned()
        if self.first_at is None:
            self.first_at = at
        self.last_at, self.last_context = at, context
        if self._watch_sensors(sensor_of(context), at, is_door) and refit and self.model is not None:
            self.refit(at)
        if refit and at.date() != self._fitted_on and (at - self.first_at) >= timedelta(days=self.warmup.min_days):
            self.refit(at)

    def _watch_sensors(self, sensor: str, at: datetime, is_door: bool) -> bool:
        """Count this sign of life; True when a sensor has just been found silent, or has come back."""
        self._signs += 1
        self._last_sign[sensor] = (self._signs, at)
        back = sensor in self.silent
        self.silent.discard(sensor)
        if is_door:
            self._doors_sensors.add(sensor)
        if self._signs < self._next_check:
            return back
        found = {
            name
            for name, usual in self._usual.items()
            if name not in self._doors_sensors
            and usual.silent(self._signs - self._last_sign[name][0], (at - self._last_sign[name][1]).total_seconds())
        }
        self.silent |= found
        self._plan_check()
        return back or bool(found)

    def _plan_check(self) -> None:
        """The next count of signs of life at which a sensor still reporting could be found silent."""
        limits = [
            self._last_sign[name][0] + SILENT_FACTOR * max(usual.max_others, 1)
            for name, usual in self._usual.items()
            if name in self._last_sign and name not in self.silent and name not in self._doors_sensors
        ]
        self._next_check = math.floor(min(limits)) + 1 if limits else math.inf

    def silent_sensors(self, now: datetime) -> list[SilentSensor]:
        """The sensors found silent far beyond their usual gaps (a kit fault: tell the keepers)."""
        found = []
        for name in sorted(self.silent):
            usual, (count, at) = self._usual[name], self._last_sign[name]
            silent_for = (now - at).total_seconds()
            found.append(SilentSensor(name, silent_for, usual.max_gap, self._signs - count, usual.max_others))
        return found

    def _record(self, sign: _Sign) -> None:
        """The spell from the last sign of life taken for the resident's to this one."""
        begun = self._from
        if sign.learn and begun is not None:
            self._chain.append(self._recorded_to is not None and self._recorded_to == begun.at)
            self._recorded_to = sign.at
            self._start.append(wall_seconds(begun.at))
            self._seconds.append((sign.at - begun.at).total_seconds())
            self._context.append(self._codes.setdefault(begun.context, len(self._codes)))
            self._end.append(self._codes.setdefault(sign.context, len(self._codes)))
            self._absence.append(False)
        self._from = sign

    def _returned(self) -> None:
        """Enough signs of life indoors after the door: someone is home, and came in at the first of them."""
        for sign in self._strays:
            self._record(sign)
        index = None if self._before_door is None else self._before_door - self._dropped
        if not self._went_out and index is not None and 0 <= index < len(self._start):
            # The spell before the door ended with someone arriving: the resident was out.
            self._absence[index] = self._seconds[index] >= self.params.floor_s
        self._out, self._strays, self._before_door = None, [], None

    def _out_deadline(self) -> datetime | None:
        """When the spell that began at the front door becomes unusual (None: never)."""
        if self._out is None:
            return None
        line = self._door_line(self._out)
        return None if math.isinf(line) else self._out.at + timedelta(seconds=line)

    def _door_line(self, door: _Sign) -> float:
        if self.outing_model is not None and not arrival(door.context):
            return self.outing_model.line(door.context, door.at)
        if self.model is None:
            return math.inf  # still learning: the resident is probably out
        if door.context not in self.model.lines:
            return self.params.door_ceiling_s  # no outing learned yet through this door: its longest wait
        return self.model.line(door.context, door.at)

    def refit(self, now: datetime) -> None:
        """Relearn the routine from the window of spells before ``now``."""
        cut = bisect.bisect_left(self._start, wall_seconds(now) - self.params.window_days * 86400)
        for column in (self._start, self._seconds, self._context, self._end, self._absence, self._chain):
            del column[:cut]
        self._dropped += cut
        if not self._start:
            return
        names = tuple(sorted(self._codes, key=self._codes.__getitem__))
        sensors = sorted({sensor_of(name) for name in names})
        sensor_code = np.array([sensors.index(sensor_of(name)) for name in names], dtype=int)
        context = np.array(self._context)
        self._usual = usual_gaps_of(np.array(self._start), sensor_code[context], sensors)
        self._plan_check()
        table = SpellTable(
            np.array(self._start),
            np.array(self._seconds),
            context,
            names,
            np.array(self._end),
            np.array(self._absence, dtype=bool),
        )
        if self.silent:
            gone = {code for code, name in enumerate(names) if sensor_of(name) in self.silent}
            table = without(table, np.array(self._chain, dtype=bool), gone)
        doors = frozenset(self.outing_contexts)
        arrivals = frozenset(self._doors) - doors
        hint = self.model.price if self.model is not None else None
        self.model = fit(table, now, self.params, doors=doors, arrivals=arrivals, price_hint=hint)
        if self.not_back and self.outing_contexts:
            homes = frozenset(names) - self.outing_contexts  # learn the outings alone
            try:
                endless = replace(self.params, ceiling_s=math.inf, door_ceiling_s=math.inf)
                self.outing_model = fit(table, now, endless, left_out=homes | arrivals, doors=doors, arrivals=arrivals)
                self.outing_model.night = None  # nights say nothing about how long an outing lasts
            except ValueError:  # no outings in the window yet
                self.outing_model = None
        self._fitted_on = now.date()

    def frozen_copy(self) -> InactivityDetector:
        """A detector with this one's learned routine, kept as it is, and no current spell."""
        copy = InactivityDetector(self.params, self.warmup, self.not_back)
        copy.model, copy.outing_model = self.model, self.outing_model
        copy.outing_contexts, copy._doors = set(self.outing_contexts), set(self._doors)
        copy.frozen = True
        return copy

    def line_s(self) -> float | None:
        """How long the quiet since the last sign of life may last before it is unusual."""
        if self.last_at is None or self.last_context is None:
            return None
        if self._out is not None:
            if not self._strays:
                return self._door_line(self._out)
            deadline = self._out_deadline()
            return math.inf if deadline is None else (deadline - self.last_at).total_seconds()
        if self.model is None:
            return self.warmup.line(self.last_at)
        return self.model.line(self.last_context, self.last_at)

    def limit(self) -> Limit | None:
        """``line_s()`` with what set it, for the alert's reason."""
        line = self.line_s()
        if line is None or self.last_at is None or self.last_context is None:
            return None
        if self._out is not None:
            if self._strays:
                return Limit(line, "stray", since=self._out.at)
            if self.outing_model is not None and not arrival(self._out.context):
                return self.outing_model.limit(self._out.context, self._out.at)
            if self.model is None:
                return Limit(math.inf, "outing")
            if self._out.context not in self.model.lines:
                return Limit(line, "ceiling")
            return self.model.limit(self._out.context, self._out.at)
        if self.model is None:
            return Limit(line, "warmup")
        return self.model.limit(self.last_context, self.last_at)

    def alert_at(self) -> datetime | None:
        line = self.line_s()
        if line is None or self.last_at is None or math.isinf(line):
            return None
        return self.last_at + timedelta(seconds=line)


def without(table: SpellTable, chain: np.ndarray, gone: set[int]) -> SpellTable:
    """The spells as they would have been had the contexts ``gone`` never reported.

    A spell that ended at a silent sensor's sign of life goes on to the next
    sign of a sensor still working; a spell that began at one is part of the
    spell before it. Where the spells are not contiguous the true length is
    unknown and the spell is left out.
    """
    keep: list[int] = []
    seconds = table.seconds.copy()
    end = table.end.copy() if table.end is not None else np.full(len(seconds), -1)
    absence = table.absence.copy() if table.absence is not None else np.zeros(len(seconds), dtype=bool)
    open_spell: int | None = None  # a kept spell that ended at a silent sensor, waiting for its true end
    for i, code in enumerate(table.context):
        if code in gone:
            if open_spell is not None and chain[i]:
                seconds[open_spell] += seconds[i]
                end[open_spell], absence[open_spell] = end[i], absence[open_spell] | absence[i]
                if end[i] not in gone:
                    keep.append(open_spell)
                    open_spell = None
            else:
                open_spell = None
            continue
        open_spell = None
        if end[i] in gone:
            open_spell = i
        else:
            keep.append(i)
    index = np.array(sorted(keep), dtype=int)
    return SpellTable(table.start[index], seconds[index], table.context[index], table.names, end[index], absence[index])
