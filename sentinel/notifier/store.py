"""The notifier's SQLite database: incidents and their steps, deliveries, used tokens, parked messages."""

from __future__ import annotations

import hashlib
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


class NotifierStore(RhythmTables):
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
        rows = self._run(
            INCIDENT_SQL + " WHERE closed_at IS NULL AND claimed_by IS NULL AND next_at <= ?", (now.isoformat(),)
        ).fetchall()
        return [incident_row(r) for r in rows]

    def is_closed(self, alert_id: str) -> bool:
        row = self._run("SELECT closed_at FROM incidents WHERE alert_id = ?", (alert_id,)).fetchone()
        return bool(row and row[0])

    def next_step_at(self) -> datetime | None:
        """When the next escalation step of any incident falls due."""
        row = self._run("SELECT MIN(next_at) FROM incidents WHERE closed_at IS NULL AND claimed_by IS NULL").fetchone()
        return stored_time(row[0])

    def shift_due(self, delta: timedelta) -> None:
        """Move every pending deadline by ``delta``: the wall clock jumped, and the waits must keep their length."""
        with self.transaction():
            for table, key, column, where in (
                ("incidents", "alert_id", "next_at", "closed_at IS NULL"),
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
            "UPDATE incidents SET claimed_by = NULL, claimed_at = NULL WHERE alert_id = ? AND claimed_by = ?"
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

    def notified(self, alert_id: str) -> list[str]:
        """Members an alert notification was sent (or is being sent) to, in order."""
        rows = self._run(
            'SELECT DISTINCT member FROM deliveries WHERE alert_id = ? AND body LIKE \'%"kind": "alert"%\' ORDER BY id',
            (alert_id,),
        ).fetchall()
        return [r[0] for r in rows]

    # deliveries
    def deliver(self, alert_id: str | None, home: str, member: str, body: dict[str, Any], now: datetime) -> int:
        cur = self._run(
            "INSERT INTO deliveries (alert_id, home, member, body, next_try) VALUES (?, ?, ?, ?, ?)",
            (alert_id, home, member, json.dumps(body, ensure_ascii=False), now.isoformat()),
        )
        return cur.lastrowid or 0

    def due_deliveries(self, now: datetime, limit: int = 50) -> list[Delivery]:
        rows = self._run(
            "SELECT id, alert_id, home, member, body, attempts FROM deliveries"
            " WHERE status = 'pending' AND next_try <= ? ORDER BY id LIMIT ?",
            (now.isoformat(), limit),
        ).fetchall()
        return [Delivery(i, a, h, m, json.loads(b), n) for i, a, h, m, b, n in rows]

    def in_flight(self) -> list[Delivery]:
        """Deliveries that were being sent when the notifier stopped: ntfy may or may not have them."""
        rows = self._run(
            "SELECT id, alert_id, home, member, body, attempts FROM deliveries WHERE status = 'sending' ORDER BY id"
        ).fetchall()
        return [Delivery(i, a, h, m, json.loads(b), n) for i, a, h, m, b, n in rows]

    def sending(self, delivery_id: int) -> None:
        """Mark an attempt before it is made: after a crash, 'sending' means "maybe sent", never "not sent"."""
        self._run("UPDATE deliveries SET status = 'sending', attempts = attempts + 1 WHERE id = ?", (delivery_id,))

    def delivered(self, delivery_id: int, ntfy_id: str = "", topic: str = "", at: datetime | None = None) -> None:
        """ntfy took it (at ``at``); its id is kept, and is where a check after a restart starts reading ``topic``."""
        with self.transaction():
            self._run(
                "UPDATE deliveries SET status = 'sent', ntfy_id = ?, sent_at = ? WHERE id = ?",
                (ntfy_id or None, at.isoformat() if at else None, delivery_id),
            )
            if ntfy_id and topic:
                self.set_meta(f"ntfy_last:{topic}", ntfy_id)

    def resend(self, delivery_id: int, why: str) -> None:
        """A delivery in flight at a stop that ntfy does not have (or that cannot be checked): send it again."""
        self._run("UPDATE deliveries SET status = 'pending', last_error = ? WHERE id = ?", (why, delivery_id))

    def sent_like(self, member: str, body: dict[str, Any]) -> int:
        """How many deliveries with exactly this body were sent to ``member``."""
        row = self._run(
            "SELECT COUNT(*) FROM deliveries WHERE member = ? AND status = 'sent' AND body = ?",
            (member, json.dumps(body, ensure_ascii=False)),
        ).fetchone()
        return int(row[0])

    def retry(self, delivery_id: int, error: str, next_try: datetime) -> None:
        self._run(
            "UPDATE deliveries SET status = 'pending', last_error = ?, next_try = ? WHERE id = ?",
            (error, next_try.isoformat(), delivery_id),
        )

    def failed(self, delivery_id: int, error: str) -> None:
        self._run("UPDATE deliveries SET status = 'failed', last_error = ? WHERE id = ?", (error, delivery_id))

    def skip(self, delivery_id: int, why: str) -> None:
        """A delivery that no longer has a reason to go."""
        self._run("UPDATE deliveries SET status = 'skipped', last_error = ? WHERE id = ?", (why, delivery_id))

    # messages that could not be read
    def park(self, topic: str, home: str | None, payload: bytes, error: str, now: datetime) -> bool:
        """Keep an unreadable message (its first bytes); True the first time, False for a redelivery."""
        digest = hashlib.sha256(topic.encode("utf-8", "replace") + b"\0" + payload).hexdigest()
        text = payload[:PARKED_PAYLOAD_BYTES].decode("utf-8", "backslashreplace")
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # no lone surrogate reaches SQLite
        with self.transaction():
            cur = self._run(
                "UPDATE dead_letters SET count = count + 1, last_seen = ? WHERE digest = ?", (now.isoformat(), digest)
            )
            if cur.rowcount:
                return False
            self._run(
                "INSERT INTO dead_letters (digest, topic, home, size, payload, error, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (digest, topic, home, len(payload), text, error[:500], now.isoformat(), now.isoformat()),
            )
            return True

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._run(
            "SELECT topic, home, size, payload, error, first_seen, last_seen, count FROM dead_letters ORDER BY id"
        ).fetchall()
        return [DeadLetter(t, h, n, p, e, when(f, EPOCH), when(la, EPOCH), c) for t, h, n, p, e, f, la, c in rows]

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

    def set_home_state(self, home: str, state: str, since: datetime) -> None:
        self._run(
            "INSERT OR REPLACE INTO homes (home, state, since) VALUES (?, ?, ?)", (home, state, since.isoformat())
        )

    def get_meta(self, key: str) -> str | None:
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
