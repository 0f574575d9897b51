"""What the agent writes to the SD card in a day, and how big its database stays.

Run from the repository root: ``python benchmarks/sd_writes.py [--days 2]``. Days of
sensor events (3,000 a day by default, a busy kit; the development homes make 60-220)
go through the agent's journal into a real SQLite file, once storing each event on
its own (the baseline: how it was) and once in batches of EVENT_BATCH_S. Bytes
written are the kernel's count for this process (/proc/self/io write_bytes: what
reaches the block layer after SQLite's WAL and checkpoints), in the same run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table

from sentinel.agent.app import EVENT_BATCH_S
from sentinel.agent.journal import Journal
from sentinel.core.events import Event
from sentinel.store import Store


def written() -> int:
    """Bytes this process has caused to be written to storage so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def busy_days(days: int, per_day: int, seed: int = 5) -> list[Event]:
    """``per_day`` sensor changes a day, at random through 16 waking hours: a busy kit's load."""
    rng = random.Random(seed)
    events: list[Event] = []
    start = datetime(2026, 3, 2, 7, 0).astimezone()
    for day in range(days):
        for at in sorted(rng.uniform(0, 16 * 3600) for _ in range(per_day)):
            mono = day * 86400 + at
            sensor = rng.choice(["hall_pir", "kitchen_pir", "living_pir", "bathroom_pir", "front_door"])
            kind = "door" if sensor == "front_door" else "motion"
            events.append(Event(sensor, kind, rng.randrange(2), None, start + timedelta(seconds=mono), mono))
    return events


def run(events: list[Event], batch_s: float) -> tuple[int, int, int]:
    """Bytes written, transactions, database size in bytes, for one way of storing."""
    with tempfile.TemporaryDirectory(prefix="sentinel-sd-", dir=Path.cwd()) as tmp:  # a real disk, not tmpfs
        store = Store(Path(tmp) / "agent.db")
        journal = Journal(store, "mary", event_batch_s=batch_s)
        commits = 0
        add_events = store.add_events

        def counted(batch: list[Event]) -> None:
            nonlocal commits
            commits += 1
            add_events(batch)

        store.add_events = counted  # type: ignore[method-assign]
        before = written()
        for event in events:
            journal.add_event(event)
            journal.tick(event.mono)
        journal.flush()
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # what a checkpoint would write sooner or later
        done = written() - before
        size = (Path(tmp) / "agent.db").stat().st_size
        store.close()
        return done, commits, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--per-day", type=int, default=3000, help="sensor changes a day")
    args = parser.parse_args()
    events = busy_days(args.days, args.per_day)
    per_day = len(events) / args.days
    rows = []
    for name, batch in (("baseline: each event on its own", 0.0), (f"batches of {EVENT_BATCH_S:g} s", EVENT_BATCH_S)):
        done, commits, size = run(events, batch)
        rows.append(
            [
                name,
                f"{per_day:,.0f}",
                f"{commits / args.days:,.0f}",
                f"{done / args.days / 1e6:.2f} MB",
                f"{done / args.days * 365 / 1e9:.2f} GB",
            ]
        )
    print(f"{args.days} simulated days, {len(events):,} events")
    print(table(["storing", "events/day", "transactions/day", "written/day", "a year"], rows))
    print(f"database after {args.days} days: {size / 1e6:.2f} MB ({size / len(events):.0f} bytes an event);")
    print("with keep_days: 90 it holds about 90 days of events and stops growing (SQLite reuses deleted pages).")


if __name__ == "__main__":
    main()
