"""The routine as the carer's tools show it: learned with a home's settings; the waits by time of day, per room."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sentinel.core.events import Row
from sentinel.detect.contexts import context_of, sensor_of
from sentinel.detect.detector import InactivityDetector
from sentinel.detect.lines import DAY_S, Params, RoutineModel, params_of, warmup_of, within_room
from sentinel.detect.routine import effective_days

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig, RoomRule


def learner_of(detection: DetectionConfig | None) -> InactivityDetector:
    """A detector with a home's settings (budget, floor, ceiling, window, warmup, not_back), or the defaults."""
    if detection is None:
        return InactivityDetector()
    return InactivityDetector(params_of(detection), warmup_of(detection), detection.not_back)


def typical_context(rows: Iterable[Row], slots: int = 24) -> dict[int, str]:
    """The context most often seen in each slot of the day (``slots`` a day; those with no activity left out)."""
    minutes = 1440 // slots
    by_slot: dict[int, dict[str, int]] = {}
    for row in rows:
        if row.is_activity:
            counts = by_slot.setdefault((row.at.hour * 60 + row.at.minute) // minutes, {})
            context = context_of(row.sensor, row.kind, row.value)
            counts[context] = counts.get(context, 0) + 1
    return {slot: max(c, key=c.__getitem__) for slot, c in by_slot.items()}


def slot_lines(
    rows: Sequence[Row], model: RoutineModel, detection: DetectionConfig | None = None, slots: int = 24
) -> list[tuple[str | None, float]]:
    """Per slot of the day, the typical place then and how long a quiet spell there may last (rooms' limits kept).

    Read at the middle of each slot, on the day of the last row.
    """
    typical = typical_context(rows, slots)
    rooms = {rule.room: rule for rule in detection.rooms} if detection is not None else {}
    room_of = {row.sensor: row.room for row in rows}
    out: list[tuple[str | None, float]] = []
    for slot in range(slots):
        context = typical.get(slot)
        middle = round((slot + 0.5) * DAY_S / slots)
        at = rows[-1].at.replace(hour=middle // 3600, minute=middle % 3600 // 60, second=0, microsecond=0)
        line = model.line(context or "", at)
        rule = rooms.get(room_of.get(sensor_of(context), "") or "") if context else None
        out.append((context, within_room(line, rule)))
    return out


def forced_by_rooms(rows: Sequence[Row], rules: Sequence[RoomRule], days: float, params: Params) -> float:
    """How many more false alerts a month the rooms' own limits force than the home's ceilings (fewer: negative).

    A spell that began in a room with a limit alerts past that room's ceiling, or not before its floor, whatever
    the home's ceiling (as the Watch applies them, ``within_room``). Counted over the last ``days`` of ``rows``
    and weighed by age as the model counts the spells past its ceilings (``RoutineModel.forced_per_month``).
    """
    by_room = {rule.room: rule for rule in rules}
    signs = [row for row in rows if row.is_activity]
    if not by_room or len(signs) < 2:
        return 0.0
    last = signs[-1].at.timestamp()
    change, back, previous = 0.0, False, None
    for before, after in itertools.pairwise(signs):
        if before.kind == "door":
            # Coming in, as the tracker reads the door (strays aside): the door again after at least the floor
            # with nothing indoors between ends an outing, and only going out waits the door's ceiling.
            gap = (before.at - previous.at).total_seconds() if previous is not None else 0.0
            back = previous is not None and previous.kind == "door" and (back or gap >= params.floor_s)
        previous = before
        rule, age = by_room.get(before.room), (last - before.at.timestamp()) / DAY_S
        if rule is None or age > days:
            continue
        home = params.door_ceiling_s if before.kind == "door" and not back else params.ceiling_s
        room, lasted = within_room(home, rule), (after.at - before.at).total_seconds()
        # It alerts now, or no longer; an older spell counts less, as the routine counts it.
        change += ((room < lasted <= home) - (home < lasted <= room)) * float(0.5 ** (age / params.half_life_days))
    return change * 30.0 / effective_days(max(days, 1.0), params.half_life_days)
