"""The inactivity detector: the learned routine applied to the current quiet spell, and learned online.

Pure: rows in, ``alert_at()`` out. It follows spells as the agent's ``Tracker``
does (``tracker.py``), keeps them, and refits the routine once a day from a
rolling window of them. The agent runs the tracker and learns in a process of
its own (``learn.py``); the carer's tools (backtest, calibration) run this.
"""

from __future__ import annotations

import array
import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from sentinel.core.events import Row
from sentinel.detect.contexts import BACK, Sign, arrival, context_of, parts, sensor_of
from sentinel.detect.lines import EPOCH, Params, Warmup, wall_seconds
from sentinel.detect.routine import Spell, SpellTable, fit
from sentinel.detect.silent import Usual
from sentinel.detect.tracker import ARRIVAL_S, RETURN_ROWS, Tracker

ABSENCE, DEPARTED, LOST = 1, 2, 4  # what the front door says of a spell (``_door_says``)

__all__ = [
    "ARRIVAL_S",
    "BACK",
    "RETURN_ROWS",
    "InactivityDetector",
    "Warmup",
    "arrival",
    "context_of",
    "sensor_of",
    "usual_gaps_of",
    "without",
]


class InactivityDetector(Tracker):
    """Learns quiet spells and says when the current one becomes unusual."""

    def __init__(
        self, params: Params | None = None, warmup: Warmup | None = None, not_back: bool = False, reasons: bool = True
    ) -> None:
        super().__init__(params, warmup, not_back)
        self.reasons = reasons  # the routine also keeps what an alert's reason tells; a measure reads none
        # The learned spells, as parallel columns of machine numbers: a day's refit turns each into an array by
        # copying its memory, not by reading tens of thousands of Python numbers one by one.
        self._start: array.array[float] = array.array("d")
        self._seconds: array.array[float] = array.array("d")
        self._context: array.array[int] = array.array("q")
        self._end: array.array[int] = array.array("q")  # the context of the sign of life that ended the spell
        # What the front door says of each spell, as bits (one column, one array to make): ABSENCE, it ended
        # with someone arriving (an outing the door did not see); DEPARTED, it ended at the door, going out for
        # at least the floor; LOST, it ended at a door row that repeats the door's last value (a row was lost).
        self._door_says: array.array[int] = array.array("b")
        self._door_value: dict[str, str] = {}  # per front door, the value of its last row
        self._chain: array.array[int] = array.array("b")  # 1: it began where the spell before it ended
        self._recorded_to: datetime | None = None  # where the last spell learned ended
        self._dropped = 0  # spells dropped from the front of the window so far
        self._codes: dict[str, int] = {}
        self._before_door: int | None = None  # the spell that ended at the front door (absolute index)
        self.price_hint: float | None = None  # where the first fit's search for the price starts (a day's before)
        self.prior_hint: tuple[float, float | None] | None = None  # the first fit's weight, if recent (``prior.py``)

    @property
    def spells(self) -> list[Spell]:
        """The spells the routine is learned from (oldest first)."""
        names = {code: name for name, code in self._codes.items()}
        columns = zip(self._start, self._seconds, self._context, self._end, self._door_says, strict=True)
        return [
            Spell(EPOCH + timedelta(seconds=start), names[code], seconds, names.get(end), *_flags(says))
            for start, seconds, code, end, says in columns
        ]

    def observe(self, row: Row) -> bool:
        """One row; True when taken for a sign of life (a PIR going quiet is not, nor a sensor's reports alone)."""
        if not row.is_activity:
            return False
        return self.activity(row.at, context_of(row.sensor, row.kind, row.value), row.kind == "door", kind=row.kind)

    def observe_deferred(self, row: Row) -> None:
        """``observe`` without relearning (bulk loading; call ``refit`` after)."""
        if row.is_activity:
            context = context_of(row.sensor, row.kind, row.value)
            self.activity(row.at, context, row.kind == "door", refit=False, kind=row.kind)

    def _spell(self, begun: Sign, end: Sign) -> None:
        self._chain.append(self._recorded_to is not None and self._recorded_to == begun.at)
        self._recorded_to = end.at
        self._start.append(wall_seconds(begun.at))
        self._seconds.append((end.at - begun.at).total_seconds())
        self._context.append(self._codes.setdefault(begun.context, len(self._codes)))
        self._end.append(self._codes.setdefault(end.context, len(self._codes)))
        lost = False
        if end.context in self._doors:  # 'open' twice, or 'closed' twice: the door lost the row between
            sensor, value = parts(end.context)
            lost = self._door_value.get(sensor) == value
            self._door_value[sensor] = value
        self._door_says.append(LOST if lost else 0)
        index = self._door_spell()
        # From the door going out to the door coming back: the spell before the first door ended with a departure.
        outing = arrival(end.context) and not arrival(begun.context) and self._seconds[-1] >= self.params.floor_s
        if outing and index is not None:
            self._door_says[index] |= DEPARTED

    def _going_out(self) -> None:
        self._before_door = self._dropped + len(self._start) - 1 if self._start else None

    def _returned(self) -> None:
        went_out, index = self._went_out, self._door_spell()
        super()._returned()
        # No outing since the door: the spell before it ended with someone arriving, and the resident was out.
        if not went_out and index is not None and self._seconds[index] >= self.params.floor_s:
            self._door_says[index] |= ABSENCE
        self._before_door = None

    def _door_spell(self) -> int | None:
        """Where in the window the spell that ended at the front door is (None: none, or dropped from it)."""
        index = None if self._before_door is None else self._before_door - self._dropped
        return index if index is not None and 0 <= index < len(self._start) else None

    def _columns(self) -> tuple[array.array[Any], ...]:
        """The learned spells' parallel columns, to cut together."""
        return self._start, self._seconds, self._context, self._end, self._door_says, self._chain

    def _mark(self) -> object:
        door = self._door_spell()
        says = None if door is None else self._door_says[door]
        return self._dropped + len(self._start), self._recorded_to, self._before_door, says

    def _forget(self, mark: object) -> None:
        assert isinstance(mark, tuple)
        count, self._recorded_to, self._before_door, says = mark
        keep = max(0, count - self._dropped)
        for column in self._columns():
            del column[keep:]
        door = self._door_spell()
        if says is not None and door is not None:
            self._door_says[door] = says  # a return they made up had marked it an absence

    def refit(self, now: datetime, replay: bool = False) -> None:
        """Relearn the routine from the window of spells before ``now`` (``replay``: at the end of a stored one)."""
        cut = bisect.bisect_left(self._start, wall_seconds(now) - self.params.window_days * 86400)
        for column in self._columns():
            del column[:cut]
        self._dropped += cut
        if not self._start:
            return
        names = tuple(sorted(self._codes, key=self._codes.__getitem__))
        sensors = sorted({sensor_of(name) for name in names})
        sensor_code = np.array([sensors.index(sensor_of(name)) for name in names], dtype=int)
        context, start = np.array(self._context), np.array(self._start)
        # Runs as if the silent had never been there (a dead sensor no longer ends the others' runs), and the
        # front door ends none: the resident going out or coming in says nothing of who a sensor indoors sees.
        outside = {sensor_of(name) for name in self._doors} | self.silent
        indoor = np.array([name not in outside for name in sensors], dtype=bool)
        self.usual = usual_gaps_of(start, sensor_code[context], sensors, indoor)
        self._plan_check()
        table = SpellTable(
            start,
            np.array(self._seconds),
            context,
            names,
            np.array(self._end),
            (says := np.array(self._door_says, dtype=np.int8)) & ABSENCE > 0,
            says & DEPARTED > 0,
            says & LOST > 0,
        )
        if self.silent:
            gone = {code for code, name in enumerate(names) if sensor_of(name) in self.silent}
            table = without(table, np.array(self._chain, dtype=bool), gone)
        doors = frozenset(self.outing_contexts)
        arrivals = frozenset(self._doors) - doors
        hint = self.model.price if self.model is not None else self.price_hint
        weight = (self.model.prior_weight, self.model.prior_chosen_s) if self.model is not None else self.prior_hint
        learn = functools.partial(fit, doors=doors, arrivals=arrivals, reasons=self.reasons)
        if self.model is None and not replay:  # the first routine comes (``strays_were_hers``; a replay's own
            self.strays_were_hers()  # strays were an outing's: the agent that took them had a routine)
        self.model = learn(table, now, self.params, price_hint=hint, prior_hint=weight)
        if self.not_back and self.outing_contexts:
            homes = frozenset(names) - self.outing_contexts  # learn the outings alone
            try:
                endless = replace(self.params, ceiling_s=math.inf, door_ceiling_s=math.inf)
                self.outing_model = learn(table, now, endless, left_out=homes | arrivals)
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


def _flags(says: int) -> tuple[bool, bool, bool]:
    """What the front door says of a spell, as ``Spell`` has it: absence, departed, lost."""
    return bool(says & ABSENCE), bool(says & DEPARTED), bool(says & LOST)


def usual_gaps_of(
    times: np.ndarray, sensors: np.ndarray, names: Sequence[str], indoor: np.ndarray | None = None
) -> dict[str, Usual]:
    """Per sensor, how far apart its signs are (in seconds, and in moves) and its runs alone: times (seconds, in
    order), codes into ``names``.

    A run is a sensor's signs in a row with no other ``indoor`` sensor's between (all are, if not given).
    """
    usual: dict[str, Usual] = {}
    if not len(sensors):
        return usual
    # Moves: signs of another sensor than the one before. A PIR that retriggers every few seconds while the
    # resident sits in view adds signs, not moves, so what the others saw is counted alike in any kit.
    moved = np.concatenate([[True], np.diff(sensors) != 0])
    moves = np.cumsum(moved)
    among = np.flatnonzero(indoor[sensors]) if indoor is not None else np.arange(len(sensors))
    codes, at = sensors[among], times[among]
    last = np.flatnonzero(np.diff(codes) != 0)  # the last sign of each finished run (another sensor's is next)
    first = np.concatenate([[0], last[:-1] + 1]).astype(int) if len(last) else last
    run_sensor, in_a_row, lasted = codes[last], last - first + 1, at[last] - at[first]
    size = int(sensors.max(initial=-1)) + 1
    runs = np.bincount(run_sensor, minlength=size)
    alone, alone_s = _most(run_sensor, in_a_row, size, 0), _most(run_sensor, lasted, size, 0.0)
    # Each sensor's signs in their order (a stable sort), for the gaps between one sign of it and its next.
    order = np.argsort(sensors, kind="stable")
    again = sensors[order][1:] == sensors[order][:-1]
    mine = sensors[order][1:][again]
    visits, count = np.bincount(sensors[moved], minlength=size), np.bincount(sensors, minlength=size)  # moved to
    gap = np.where(count > 1, _most(mine, np.diff(times[order])[again], size, -math.inf), 0.0)
    others = _most(mine, np.diff(moves[order])[again] - 1, size, 0)
    for code in np.flatnonzero(count).tolist():
        runs_of = (int(runs[code]), int(alone[code]), float(alone_s[code]))
        usual[names[code]] = Usual(int(visits[code]), float(gap[code]), int(others[code]), *runs_of)
    return usual


def _most(keys: np.ndarray, values: np.ndarray, size: int, least: float) -> np.ndarray:
    """Per key below ``size``, the largest of its ``values``, and never below ``least`` (which keys without any get)."""
    most = np.full(size, least, dtype=np.result_type(values, type(least)))
    np.maximum.at(most, keys, values)
    return most


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
    departed = table.departed.copy() if table.departed is not None else np.zeros(len(seconds), dtype=bool)
    lost = table.lost.copy() if table.lost is not None else np.zeros(len(seconds), dtype=bool)
    open_spell: int | None = None  # a kept spell that ended at a silent sensor, waiting for its true end
    for i, code in enumerate(table.context):
        if code in gone:
            if open_spell is not None and chain[i]:
                seconds[open_spell] += seconds[i]
                end[open_spell], absence[open_spell] = end[i], absence[open_spell] | absence[i]
                departed[open_spell], lost[open_spell] = departed[i], lost[i]
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
    return SpellTable(
        table.start[index],
        seconds[index],
        table.context[index],
        table.names,
        end[index],
        absence[index],
        departed[index],
        lost[index],
    )
