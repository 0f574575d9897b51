"""Stored events to the event CSV (timestamp,sensor,kind,value,room), and back."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from sentinel.core.events import Event

if TYPE_CHECKING:
    from sentinel.core.events import Row
    from sentinel.store import Store

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


def first_stored(store: Store) -> datetime | None:
    """When the store's history begins."""
    first = next(iter(store.events()), None)
    return first.wall if first is not None else None


def import_rows(rows: Iterable[Row], store: Store, before: datetime | None = None, batch: int = 5000) -> int:
    """Store the rows as events (only those before ``before``, when given), in batches; how many were stored."""
    count = 0
    pending: list[Event] = []
    for row in rows:
        at = row.at if row.at.tzinfo is not None else row.at.astimezone()  # no offset: the home's clock
        if before is not None and at >= before:
            continue
        # mono 0: it belongs to no run of this Pi's monotonic clock (never taken for the same boot).
        pending.append(Event(row.sensor, row.kind, row.value, row.room or None, at, 0.0))
        if len(pending) >= batch:
            store.add_events(pending)
            count += len(pending)
            pending = []
    if pending:
        store.add_events(pending)
        count += len(pending)
    return count
