"""Write stored events as the event CSV (timestamp,sensor,kind,value,room)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from sentinel.events import Event

HEADER = ("timestamp", "sensor", "kind", "value", "room")


def write_csv(events: Iterable[Event], out: TextIO) -> int:
    """Write ``events``; returns how many rows were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for event in events:
        # Local time with its offset: an instant that still reads as the home's clock.
        writer.writerow(
            (event.wall.isoformat(timespec="seconds"), event.sensor, event.kind, event.value, event.room or "")
        )
        count += 1
    return count
