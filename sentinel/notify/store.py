"""The notifier's SQLite database: incidents and their steps, pending deliveries, used tokens."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sentinel.sqlite import open_db
from sentinel.statedir import open_readonly

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE incidents (
        alert_id TEXT PRIMARY KEY,
        home TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        reason TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        next_index INTEGER NOT NULL DEFAULT 0,
        next_at TEXT NOT NULL,
        claimed_by TEXT,
        claimed_at TEXT,
        closed_at TEXT,
        closed_by TEXT,
        close_note TEXT
    );
    CREATE TABLE steps (
        id INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL,
        at TEXT NOT NULL,
        what TEXT NOT NULL,
        member TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX steps_alert ON steps (alert_id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id TEXT,
        home TEXT NOT NULL,
        member TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try TEXT NOT NULL,
        last_error TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_try);
    CREATE TABLE used_tokens (token TEXT PRIMARY KEY, at TEXT NOT NULL);
    CREATE TABLE homes (home TEXT PRIMARY KEY, state TEXT NOT NULL, since TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)


@dataclass(frozen=True, slots=True)
class Incident:
    """An alert being handled by the circle."""

    alert_id: str
    home: str
    kind: str
    severity: str
    reason: str
    raised_at: datetime
    next_index: int
    next_at: datetime
    claimed_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification waiting to reach one member."""

    id: int
    alert_id: str | None
    home: str
    member: str
    body: dict[str, Any]
    attempts: int


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class NotifierStore:
    """One SQLite file in WAL mode, shared by the notifier's threads."""

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        """Open (creating and migrating) the database; ``read_only``: an existing one, untouched (incidents)."""
        self.path = Path(path)
        self._db = open_readonly(self.path, MIGRATIONS) if read_only else open_db(self.path, MIGRATIONS)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # incidents
    def open_incident(self, alert: dict[str, Any], home: str, now: datetime) -> bool:
        """Record a new alert; False when it was seen before (a re-delivery)."""
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.execute(
                    "INSERT INTO incidents (alert_id, home, kind, severity, reason, raised_at, received_at, next_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        alert["alert_id"],
                        home,
                        alert["kind"],
                        alert["severity"],
                        alert["reason"],
                        alert.get("raised_at") or now.isoformat(),
                        now.isoformat(),
                        now.isoformat(),
                    ),
                )
                self._db.execute(
                    "INSERT INTO steps (alert_id, at, what, detail) VALUES (?, ?, 'received', ?)",
                    (alert["alert_id"], now.isoformat(), json.dumps(alert, ensure_ascii=False)),
                )
                self._db.execute("COMMIT")
                return True
            except sqlite3.IntegrityError:
                self._db.execute("ROLLBACK")
                return False

    def incident(self, alert_id: str) -> Incident | None:
        rows = self._run(_INCIDENT_SQL + " WHERE alert_id = ?", (alert_id,)).fetchall()
        return _incident(rows[0]) if rows else None

    def incidents(self, open_only: bool = False) -> list[Incident]:
        where = " WHERE closed_at IS NULL" if open_only else ""
        return [_incident(r) for r in self._run(_INCIDENT_SQL + where + " ORDER BY received_at").fetchall()]

    def due_incidents(self, now: datetime) -> list[Incident]:
        rows = self._run(
            _INCIDENT_SQL + " WHERE closed_at IS NULL AND claimed_by IS NULL AND next_at <= ?", (now.isoformat(),)
        ).fetchall()
        return [_incident(r) for r in rows]

    def is_closed(self, alert_id: str) -> bool:
        row = self._run("SELECT closed_at FROM incidents WHERE alert_id = ?", (alert_id,)).fetchone()
        return bool(row and row[0])

    def next_step_at(self) -> datetime | None:
        """When the next escalation step of any incident falls due."""
        row = self._run("SELECT MIN(next_at) FROM incidents WHERE closed_at IS NULL AND claimed_by IS NULL").fetchone()
        return _dt(row[0])

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
        return [(datetime.fromisoformat(at), what, member, detail) for at, what, member, detail in rows]

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

    def delivered(self, delivery_id: int) -> None:
        self._run("UPDATE deliveries SET status = 'sent', attempts = attempts + 1 WHERE id = ?", (delivery_id,))

    def retry(self, delivery_id: int, error: str, next_try: datetime) -> None:
        self._run(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_try = ? WHERE id = ?",
            (error, next_try.isoformat(), delivery_id),
        )

    def failed(self, delivery_id: int, error: str) -> None:
        self._run(
            "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error, delivery_id),
        )

    def skip(self, delivery_id: int, why: str) -> None:
        """A delivery that no longer has a reason to go."""
        self._run("UPDATE deliveries SET status = 'skipped', last_error = ? WHERE id = ?", (why, delivery_id))

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
        return (row[0], datetime.fromisoformat(row[1])) if row else None

    def set_home_state(self, home: str, state: str, since: datetime) -> None:
        self._run(
            "INSERT OR REPLACE INTO homes (home, state, since) VALUES (?, ?, ?)", (home, state, since.isoformat())
        )

    def get_meta(self, key: str) -> str | None:
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


_INCIDENT_SQL = (
    "SELECT alert_id, home, kind, severity, reason, raised_at, next_index, next_at, claimed_by, closed_at,"
    " closed_by, close_note FROM incidents"
)


def _incident(row: tuple[Any, ...]) -> Incident:
    alert_id, home, kind, severity, reason, raised, index, next_at, claimed, closed, by, note = row
    return Incident(
        alert_id,
        home,
        kind,
        severity,
        reason,
        datetime.fromisoformat(raised),
        index,
        datetime.fromisoformat(next_at),
        claimed,
        _dt(closed),
        by,
        note,
    )
