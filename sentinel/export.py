"""Stored events to the event CSV (timestamp,sensor,kind,value,room), and back."""

from __future__ import annotations

import csv
import sys
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


def import_file(events: str, config_path: str, merge: bool) -> int:
    """`sentinel import`: the rows of an event CSV into the agent's database; the exit code."""
    from sentinel.backtest.csvio import file_rows
    from sentinel.cli import EXIT_OK, EXIT_USAGE, load_config_for_reading
    from sentinel.statedir import AGENT_DB, NoDatabase, find_database, service_state_dir
    from sentinel.store import Store

    config = load_config_for_reading(config_path)
    rows = file_rows(events)  # the whole file is checked before anything is written
    try:
        path = find_database(AGENT_DB, config.state_dir, config_path)
    except NoDatabase:
        path = service_state_dir(config.state_dir) / AGENT_DB  # a new Pi: the database the agent will use
    store = Store(path)
    try:
        begins = first_stored(store)
        if begins is not None and not merge:
            print(
                f"sentinel: {path} already holds history from {begins:%Y-%m-%d %H:%M}; nothing was imported."
                " Add --merge to import the rows from before it begins.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        count = import_rows(rows, store, before=begins)
    finally:
        store.close()
    known = {s.name for s in config.sensors}
    unknown = sorted({r.sensor for r in rows} - known)
    print(f"imported {count} events of {len(rows)} from {events} into {path}", file=sys.stderr)
    if begins is not None and count < len(rows):  # --merge: what was already there is kept, not doubled
        print(
            f"note: {len(rows) - count} of them are from {begins:%Y-%m-%d %H:%M} on, where the database's own"
            " history begins: they were left out",
            file=sys.stderr,
        )
    if unknown:
        print(f"note: these sensors are not in {config_path}: {', '.join(unknown)}", file=sys.stderr)
    return EXIT_OK
