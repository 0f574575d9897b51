"""The notifier's SQLite database: incidents and their steps, deliveries, used tokens, parked messages."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sentinel.notifier.records import (
    EPOCH,
    INCIDENT_SQL,
    PARKED_PAYLOAD_BYTES,
    Away,
    Consent,
    DeadLetter,
    Delivery,
    Drill,
    FollowUp,
    Incident,
    ResidentCheck,
    incident_row,
    stored_time,
    when,
)
from sentinel.notifier.store_delivery import DeliveryTables
from sentinel.notifier.store_rhythm import RhythmTables
from sentinel.notifier.store_schema import MIGRATIONS
from sentinel.sqlite import open_db
from sentinel.statedir import open_readonly

__all__ = [
    "EPOCH",
    "MIGRATIONS",
    "PARKED_PAYLOAD_BYTES",
    "Away",
    "Consent",
    "DeadLetter",
    "Delivery",
    "Drill",
    "FollowUp",
    "Incident",
    "NotifierStore",
    "ResidentCheck",
    "when",
]

log = logging.getLogger(__name__)


class NotifierStore(DeliveryTables, RhythmTables):
    """One SQLite file in WAL mode, shared by the notifier's threads."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        """Open (creating and migrating) the database; ``read_only``: an existing one, untouched (incidents)."""
        self.path = Path(path)
        self._db = open_readonly(self.path, MIGRATIONS) if read_only else open_db(self.path, MIGRATIONS)
        self._lock = threading.RLock()
        self._depth = 0  # transactions nested in this thread's outermost one

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nested ones join the outermost.

        Whatever goes wrong inside (even an error nobody expected), it is rolled back and no
        transaction is left open to swallow every later write.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    # incidents
    def open_incident(self, alert: dict[str, Any], home: str, now: datetime) -> bool:
        """Record a new alert (``raised_at`` already checked); False when it was seen before (a re-delivery)."""
        with self.transaction():
            try:
                self._run(
                    "INSERT INTO incidents (alert_id, home, kind, severity, reason, raised_at, received_at, next_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        alert["alert_id"],
                        home,
                        alert["kind"],
                        alert["severity"],
                        alert["reason"],
                        alert["raised_at"],
                        now.isoformat(),
                        now.isoformat(),
                    ),
                )
            except sqlite3.IntegrityError:
                return False
            self.step(alert["alert_id"], now, "received", None, json.dumps(alert, ensure_ascii=False))
            return True

    def incident(self, alert_id: str) -> Incident | None:
        rows = self._run(INCIDENT_SQL + " WHERE alert_id = ?", (alert_id,)).fetchall()
        return incident_row(rows[0]) if rows else None

    def incidents(self, open_only: bool = False) -> list[Incident]:
        where = " WHERE closed_at IS NULL" if open_only else ""
        return [incident_row(r) for r in self._run(INCIDENT_SQL + where + " ORDER BY received_at").fetchall()]

    def due_incidents(self, now: datetime) -> list[Incident]:
        """Open incidents nobody is going to whose next step is due."""
        return self._open_due("claimed_by IS NULL", "next_at", now)

    def _open_due(self, which: str, column: str, now: datetime) -> list[Incident]:
        """Open incidents (``which`` of them) whose time in ``column`` has come."""
        rows = self._run(
            # By the instant (julianday), not the text: across a change of summer time the offsets differ.
            f"{INCIDENT_SQL} WHERE closed_at IS NULL AND {which} AND julianday({column}) <= julianday(?)",
            (now.isoformat(),),
        ).fetchall()
        return [incident_row(r) for r in rows]

    def expect_arrival(self, alert_id: str, by: datetime | None) -> None:
        """When the one going should have said they are there (None: they have, or nobody is going)."""
        self._run("UPDATE incidents SET arrive_by = ? WHERE alert_id = ?", (by.isoformat() if by else None, alert_id))

    def unarmed_claims(self) -> list[tuple[str, datetime]]:
        """Open incidents someone is going to with no arrival expected: claimed before the notifier asked after
        those going (an upgrade). Each with when it was claimed."""
        rows = self._run(
            "SELECT alert_id, claimed_at FROM incidents WHERE closed_at IS NULL AND claimed_by IS NOT NULL"
            " AND claimed_at IS NOT NULL AND arrive_by IS NULL AND severity != 'low'"
        ).fetchall()
        return [(alert_id, when(at, EPOCH, "claimed_at")) for alert_id, at in rows]

    def claimed_at(self, alert_id: str) -> datetime | None:
        """When the one going said so, moved with the clock as the waits are (``shift_due``); None if nobody is."""
        row = self._run("SELECT claimed_at FROM incidents WHERE alert_id = ?", (alert_id,)).fetchone()
        return when(row[0], EPOCH, "claimed_at") if row and row[0] else None

    def arrivals_due(self, now: datetime) -> list[Incident]:
        """Open incidents whose one going has not said they are there by the time expected."""
        return self._open_due("claimed_by IS NOT NULL AND arrive_by IS NOT NULL", "arrive_by", now)

    def is_closed(self, alert_id: str) -> bool:
        row = self._run("SELECT closed_at FROM incidents WHERE alert_id = ?", (alert_id,)).fetchone()
        return bool(row and row[0])

    def next_step_at(self) -> datetime | None:
        """When the next escalation step of any incident falls due."""
        row = self._run(
            "SELECT next_at FROM incidents WHERE closed_at IS NULL AND claimed_by IS NULL"
            " ORDER BY julianday(next_at) LIMIT 1"
        ).fetchone()
        return stored_time(row[0]) if row else None

    def shift_due(self, delta: timedelta) -> None:
        """Move every pending deadline by ``delta``: the wall clock jumped, and the waits must keep their length."""
        with self.transaction():
            for table, key, column, where in (
                ("incidents", "alert_id", "next_at", "closed_at IS NULL"),
                ("incidents", "alert_id", "arrive_by", "closed_at IS NULL AND arrive_by IS NOT NULL"),
                # when "I'm going" was said: told beside arrive_by ("you said at 10:05 … by 10:40"), on one clock face
                ("incidents", "alert_id", "claimed_at", "closed_at IS NULL AND claimed_at IS NOT NULL"),
                ("deliveries", "id", "next_try", "status = 'pending'"),
            ):
                rows = self._run(f"SELECT {key}, {column} FROM {table} WHERE {where}").fetchall()
                for row_key, at in rows:
                    moved = (datetime.fromisoformat(at) + delta).isoformat()
                    self._run(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (moved, row_key))

    def advance(self, alert_id: str, next_index: int, next_at: datetime) -> None:
        self._run(
            "UPDATE incidents SET next_index = ?, next_at = ? WHERE alert_id = ?",
            (next_index, next_at.isoformat(), alert_id),
        )

    def claim(self, alert_id: str, member: str, now: datetime) -> bool:
        """The first claim wins; False if it was already claimed or closed."""
        cur = self._run(
            "UPDATE incidents SET claimed_by = ?, claimed_at = ? WHERE alert_id = ?"
            " AND claimed_by IS NULL AND closed_at IS NULL",
            (member, now.isoformat(), alert_id),
        )
        return cur.rowcount == 1

    def release(self, alert_id: str, member: str) -> bool:
        """The one going cannot after all; False unless ``member`` holds the claim of an open incident."""
        cur = self._run(
            "UPDATE incidents SET claimed_by = NULL, claimed_at = NULL, arrive_by = NULL"
            " WHERE alert_id = ? AND claimed_by = ?"
            " AND closed_at IS NULL",
            (alert_id, member),
        )
        return cur.rowcount == 1

    def close_incident(self, alert_id: str, by: str, note: str, now: datetime) -> bool:
        cur = self._run(
            "UPDATE incidents SET closed_at = ?, closed_by = ?, close_note = ? WHERE alert_id = ?"
            " AND closed_at IS NULL",
            (now.isoformat(), by, note, alert_id),
        )
        return cur.rowcount == 1

    def step(self, alert_id: str, now: datetime, what: str, member: str | None = None, detail: str = "") -> None:
        self._run(
            "INSERT INTO steps (alert_id, at, what, member, detail) VALUES (?, ?, ?, ?, ?)",
            (alert_id, now.isoformat(), what, member, detail),
        )

    def steps(self, alert_id: str) -> list[tuple[datetime, str, str | None, str]]:
        rows = self._run(
            "SELECT at, what, member, detail FROM steps WHERE alert_id = ? ORDER BY id", (alert_id,)
        ).fetchall()
        return [(when(at, EPOCH, "step time"), what, member, detail) for at, what, member, detail in rows]

    # tokens, homes, meta
    def use_token(self, token: str, now: datetime) -> bool:
        """Remember a token; False if it was used before (a replay)."""
        try:
            self._run("INSERT INTO used_tokens (token, at) VALUES (?, ?)", (token, now.isoformat()))
            return True
        except sqlite3.IntegrityError:
            return False

    def home_state(self, home: str) -> tuple[str, datetime] | None:
        row = self._run("SELECT state, since FROM homes WHERE home = ?", (home,)).fetchone()
        return (row[0], when(row[1], EPOCH, "home state time")) if row else None

    def home_states(self) -> dict[str, str]:
        """What each home was last said to be (online or offline), in one read (a town has 10,000 homes)."""
        return dict(self._run("SELECT home, state FROM homes").fetchall())

    def set_home_state(self, home: str, state: str, since: datetime) -> None:
        self._run(
            "INSERT OR REPLACE INTO homes (home, state, since) VALUES (?, ?, ?)", (home, state, since.isoformat())
        )

    def get_meta(self, key: str) -> str | None:
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
