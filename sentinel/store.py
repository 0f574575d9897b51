"""The home's SQLite database: events, alerts, status flips and the MQTT outbox."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sentinel.core.alerts import Alert
from sentinel.core.status import Flip
from sentinel.errors import StoreError
from sentinel.events import Event
from sentinel.sqlite import NewerSchema, damage, describe, is_corrupt, move_aside, open_db, open_stale
from sentinel.statedir import open_readonly, systemd_state_dir, xdg_state_dir

# Each entry moves the schema one version up; never edit a released entry.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        wall TEXT NOT NULL,
        mono REAL NOT NULL,
        sensor TEXT NOT NULL,
        kind TEXT NOT NULL,
        value INTEGER NOT NULL,
        room TEXT
    );
    CREATE INDEX events_wall ON events (wall);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        qos INTEGER NOT NULL,
        retain INTEGER NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        facts TEXT NOT NULL,
        closed_at TEXT,
        closed_by TEXT,
        close_note TEXT
    );
    CREATE TABLE flips (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        old TEXT NOT NULL,
        new TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # Who said they are going: once someone is on the way, movement no longer closes the alert.
    "ALTER TABLE alerts ADD COLUMN claimed_by TEXT;",
    # Points for the history database (InfluxDB line protocol) until it has taken them; ``at`` in ms, for pruning.
    """
    CREATE TABLE history_points (
        id INTEGER PRIMARY KEY,
        line TEXT NOT NULL UNIQUE,
        at INTEGER NOT NULL
    );
    """,
)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting for the broker's acknowledgement."""

    id: int
    topic: str
    payload: str
    qos: int
    retain: bool
    created: datetime | None = None


def default_state_dir() -> Path:
    """Where the agent writes: systemd's StateDirectory, else the XDG state directory."""
    return systemd_state_dir() or xdg_state_dir()


log = logging.getLogger(__name__)


class Store:
    """One SQLite file in WAL mode; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False) -> None:
        """Open (creating and migrating) the database; ``read_only``: an existing one, untouched (a carer's tool).

        A file that is not a database any more is moved aside and a fresh one started (``renewed`` says so).
        """
        self.path = Path(path)
        self._lock = threading.RLock()
        self.renewed: str | None = None
        self.writable = not read_only
        if read_only:
            self._db = open_readonly(self.path, MIGRATIONS)
        else:
            try:
                self._db = self._open_sound()
            except NewerSchema:
                raise
            except StoreError as exc:
                self._db = self._open_stale(exc)
        self._identity = self._file()

    def _open_stale(self, error: StoreError) -> sqlite3.Connection:
        """What can be read of a database that cannot be written now; writes fail until ``reopen`` succeeds."""
        if not self.path.is_file():
            raise error
        try:
            db = open_stale(self.path, MIGRATIONS)
        except StoreError:
            raise error from None
        self.writable = False
        log.error(
            "%s: %s; reading it only, and trying again to write it",
            self.path,
            describe(error.__cause__ or error, self.path),
        )
        return db

    def reopen(self) -> None:
        """Open the database for writing again, after it could only be read; StoreError while it still cannot."""
        with self._lock:
            db = open_db(self.path, MIGRATIONS)
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db, self.writable = db, True
            self._identity = self._file()
            log.warning("%s can be written again", self.path)

    def _open_sound(self) -> sqlite3.Connection:
        """The database at ``path``; one SQLite cannot even open is moved aside for a fresh one.

        Damage further in is for ``damage()`` to find once what can still be read has been read (the agent's Journal).
        """
        try:
            return open_db(self.path, MIGRATIONS)
        except StoreError as exc:
            if not is_corrupt(exc.__cause__):
                raise
            self.renew(f"the database was damaged ({exc.__cause__})", damaged=True, reopen=False)
        return self._db

    def renew(self, why: str, damaged: bool = False, reopen: bool = True) -> None:
        """Open ``path`` afresh after it was deleted or damaged; a damaged file is kept beside it, never deleted.

        StoreError when no database can be opened there now (a full or read-only card): try again later.
        """
        with self._lock:
            if reopen:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()  # a deleted file's -wal and -shm go with its last connection
            kept = "started a fresh database"
            if damaged and self.path.exists():
                kept += f"; the old one is kept as {move_aside(self.path, datetime.now()).name}"
            try:
                self._db = open_db(self.path, MIGRATIONS)
            except StoreError as exc:
                if not is_corrupt(exc.__cause__):
                    raise
                kept += f"; the file found there is kept as {move_aside(self.path, datetime.now()).name}"
                self._db = open_db(self.path, MIGRATIONS)
            self._identity, self.writable = self._file(), True
            self.renewed = f"{why}: {kept}"
            log.error("%s", self.renewed)

    def _file(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def replaced(self) -> bool:
        """Whether the file at ``path`` is gone or is no longer the one this store writes (deleted while running)."""
        return self._file() != self._identity

    def damage(self) -> str | None:
        """What SQLite's quick check finds wrong with the file, or None for a sound one."""
        with self._lock:
            return damage(self._db)

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Every write inside is committed together, or none is (a kill in between leaves nothing half done)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                # SQLite may already have rolled back by itself (a full disk); then there is nothing to undo.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).lastrowid or 0

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # events
    def add_event(self, event: Event) -> None:
        self._write(
            "INSERT INTO events (wall, mono, sensor, kind, value, room) VALUES (?, ?, ?, ?, ?, ?)",
            (event.wall.isoformat(), event.mono, event.sensor, event.kind, event.value, event.room),
        )

    def add_events(self, events: list[Event]) -> None:
        """Several sensor events in one transaction: one write to the card, not one each."""
        with self.transaction():
            self._db.executemany(
                "INSERT INTO events (wall, mono, sensor, kind, value, room) VALUES (?, ?, ?, ?, ?, ?)",
                [(e.wall.isoformat(), e.mono, e.sensor, e.kind, e.value, e.room) for e in events],
            )

    def prune_events(self, before: datetime) -> int:
        """Delete the sensor events older than ``before``; how many. SQLite reuses the space: the file stops growing."""
        with self._lock:
            return self._db.execute("DELETE FROM events WHERE wall < ?", (before.isoformat(),)).rowcount

    def events(self, since: datetime | None = None) -> Iterator[Event]:
        """Stored events in time order (``since`` compares stored local times)."""
        sql = "SELECT wall, mono, sensor, kind, value, room FROM events"
        args: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE wall >= ?"
            args = (since.isoformat(),)
        for wall, mono, sensor, kind, value, room in self._read(sql + " ORDER BY id", args):
            yield Event(sensor, kind, value, room, datetime.fromisoformat(wall), mono)

    def last_activity(self) -> datetime | None:
        row = self._read("SELECT wall FROM events WHERE NOT (kind = 'motion' AND value = 0) ORDER BY id DESC LIMIT 1")
        return datetime.fromisoformat(row[0][0]) if row else None

    # outbox
    def enqueue(self, topic: str, payload: str, qos: int = 1, retain: bool = False, at: datetime | None = None) -> int:
        created = (at or datetime.now().astimezone()).isoformat()
        return self._write(
            "INSERT INTO outbox (topic, payload, qos, retain, created) VALUES (?, ?, ?, ?, ?)",
            (topic, payload, qos, int(retain), created),
        )

    def pending(self) -> list[OutboxItem]:
        rows = self._read("SELECT id, topic, payload, qos, retain, created FROM outbox ORDER BY id")
        return [OutboxItem(i, t, p, q, bool(r), _when(c)) for i, t, p, q, r, c in rows]

    def delivered(self, item_id: int) -> None:
        self._write("DELETE FROM outbox WHERE id = ?", (item_id,))

    # alerts
    def add_alert(self, alert: Alert) -> None:
        self._write(
            "INSERT INTO alerts (alert_id, kind, severity, raised_at, reason, facts) VALUES (?, ?, ?, ?, ?, ?)",
            _alert_row(alert),
        )

    def raise_alert(self, alert: Alert, topic: str, payload: str, qos: int = 1) -> int:
        """Store the alert and its message in the outbox in one transaction; the outbox row."""
        with self.transaction():
            self.add_alert(alert)
            return self.enqueue(topic, payload, qos=qos, at=alert.raised_at)

    def keep_alert(self, alert: Alert, claimed_by: str | None) -> None:
        """Write an open alert as it stands (into a fresh database); an existing row is overwritten."""
        self._write(
            "INSERT OR REPLACE INTO alerts (alert_id, kind, severity, raised_at, reason, facts, claimed_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*_alert_row(alert), claimed_by),
        )

    def open_alerts(self, home: str) -> list[Alert]:
        rows = self._read(
            "SELECT alert_id, kind, severity, raised_at, reason, facts FROM alerts"
            " WHERE closed_at IS NULL ORDER BY raised_at"
        )
        return [
            Alert(aid, home, kind, sev, datetime.fromisoformat(at), reason, json.loads(facts))
            for aid, kind, sev, at, reason, facts in rows
        ]

    def alerts(self) -> list[tuple[Alert, datetime | None, str | None]]:
        """Every alert, oldest first, with when and by whom it was closed (a carer's report)."""
        rows = self._read(
            "SELECT alert_id, kind, severity, raised_at, reason, facts, closed_at, closed_by FROM alerts"
            " ORDER BY raised_at"
        )
        return [
            (Alert(aid, "", kind, sev, datetime.fromisoformat(at), reason, json.loads(facts)), _when(closed), by)
            for aid, kind, sev, at, reason, facts, closed, by in rows
        ]

    def claim_alert(self, alert_id: str, by: str) -> bool:
        """Someone from the circle is going; False if the alert is unknown or closed."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE alerts SET claimed_by = ? WHERE alert_id = ? AND closed_at IS NULL", (by, alert_id)
            )
            return cur.rowcount == 1

    def claimed_by(self, alert_id: str) -> str | None:
        rows = self._read("SELECT claimed_by FROM alerts WHERE alert_id = ?", (alert_id,))
        return rows[0][0] if rows else None

    def close_alert(self, alert_id: str, at: datetime, by: str, note: str) -> bool:
        """Close an open alert; False if it was unknown or already closed."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE alerts SET closed_at = ?, closed_by = ?, close_note = ?"
                " WHERE alert_id = ? AND closed_at IS NULL",
                (at.isoformat(), by, note, alert_id),
            )
            return cur.rowcount == 1

    def close_and_tell(self, alert_id: str, at: datetime, by: str, note: str, topic: str, payload: str) -> int:
        """Close the alert and queue the message that tells the circle, in one transaction; the outbox row."""
        with self.transaction():
            self.close_alert(alert_id, at, by, note)
            return self.enqueue(topic, payload, qos=1, at=at)

    # status
    def add_flip(self, flip: Flip) -> None:
        self._write(
            "INSERT INTO flips (at, old, new, reason) VALUES (?, ?, ?, ?)",
            (flip.at.isoformat(), flip.old, flip.new, flip.reason),
        )

    def flips(self) -> list[tuple[datetime, str]]:
        """Every change of status: when, and to what."""
        return [(datetime.fromisoformat(at), new) for at, new in self._read("SELECT at, new FROM flips ORDER BY id")]

    def last_flip(self) -> Flip | None:
        rows = self._read("SELECT old, new, reason, at FROM flips ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        old, new, reason, at = rows[0]
        return Flip(old, new, reason, datetime.fromisoformat(at))

    # points for the history database
    def add_points(self, points: list[tuple[str, int]]) -> None:
        """Keep (line, ms) points until the history database takes them; one already waiting is not added twice."""
        with self.transaction():
            self._db.executemany("INSERT OR IGNORE INTO history_points (line, at) VALUES (?, ?)", points)

    def waiting_points(self, limit: int) -> list[tuple[int, str]]:
        """The oldest points waiting for the history database: (row, line)."""
        rows = self._read("SELECT id, line FROM history_points ORDER BY id LIMIT ?", (limit,))
        return [(row, line) for row, line in rows]

    def points_written(self, rows: list[int]) -> None:
        """The history database took these points."""
        with self.transaction():
            self._db.executemany("DELETE FROM history_points WHERE id = ?", [(row,) for row in rows])

    def prune_points(self, before_ms: int) -> int:
        """Drop points older than ``before_ms`` that never reached the history database; how many."""
        with self._lock:
            return self._db.execute("DELETE FROM history_points WHERE at < ?", (before_ms,)).rowcount

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    def stream_events(self, since: datetime | None = None, chunk: int = 5000) -> Iterator[Event]:
        """``events``, read ``chunk`` rows at a time: the history never sits in memory all at once (learning)."""
        sql = "SELECT wall, mono, sensor, kind, value, room FROM events"
        args: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE wall >= ?"
            args = (since.isoformat(),)
        with self._lock:
            cursor = self._db.execute(sql + " ORDER BY id", args)
        while True:
            with self._lock:
                rows = cursor.fetchmany(chunk)
            if not rows:
                return
            for wall, mono, sensor, kind, value, room in rows:
                yield Event(sensor, kind, value, room, datetime.fromisoformat(wall), mono)


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _alert_row(alert: Alert) -> tuple[str, str, str, str, str, str]:
    """An alert's columns as stored: id, kind, severity, raised_at, reason, facts (JSON)."""
    facts = json.dumps(alert.facts)
    return (alert.alert_id, alert.kind, alert.severity, alert.raised_at.isoformat(), alert.reason, facts)
