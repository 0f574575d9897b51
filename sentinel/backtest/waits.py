"""The routine as the carer's tools show it: learned with a home's settings; the waits by time of day, per room."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sentinel.core.events import Row
from sentinel.detect.contexts import context_of, sensor_of
from sentinel.detect.detector import InactivityDetector
from sentinel.detect.lines import DAY_S, RoutineModel, params_of, warmup_of, within_room

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig


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
