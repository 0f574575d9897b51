"""The home's SQLite database: events, alerts, status flips, the MQTT outbox and points for the history database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sentinel.core.alerts import Alert
from sentinel.core.events import Event
from sentinel.core.status import Flip
from sentinel.statedir import systemd_state_dir, xdg_state_dir
from sentinel.store_file import StoreFile


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


class Store(StoreFile):
    """The home's tables over one SQLite file (``StoreFile``: opening, renewal, transactions)."""

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

    def last_value(self, sensor: str, within: int = 100_000) -> int | None:
        """The value of ``sensor``'s last stored event among the last ``within`` (None: none there, or unreadable)."""
        try:
            row = self._read(
                "SELECT value FROM events WHERE id > (SELECT COALESCE(MAX(id), 0) FROM events) - ? AND sensor = ?"
                " ORDER BY id DESC LIMIT 1",
                (within, sensor),
            )
        except sqlite3.DatabaseError:  # a damaged file is renewed once the agent runs (journal.py): not known
            return None
        return int(row[0][0]) if row else None

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

    def last_raised(self, kinds: tuple[str, ...]) -> datetime | None:
        """When the latest alert of one of ``kinds`` was raised, open or closed."""
        marks = ", ".join("?" * len(kinds))
        sql = f"SELECT raised_at FROM alerts WHERE kind IN ({marks}) ORDER BY julianday(raised_at) DESC LIMIT 1"
        row = self._read(sql, kinds)
        return datetime.fromisoformat(row[0][0]) if row else None

    def raised_since(self, kinds: tuple[str, ...], since: datetime) -> list[tuple[datetime, datetime | None]]:
        """When the alerts of one of ``kinds`` raised at or after ``since`` went out, and were closed (None: open)."""
        marks = ", ".join("?" * len(kinds))
        sql = f"SELECT raised_at, closed_at FROM alerts WHERE kind IN ({marks})"
        rows = self._read(sql + " AND julianday(raised_at) >= julianday(?)", (*kinds, since.isoformat()))
        return [(datetime.fromisoformat(raised), _when(closed)) for raised, closed in rows]

    def open_alerts(self, home: str) -> list[Alert]:
        rows = self._read(
            "SELECT alert_id, kind, severity, raised_at, reason, facts FROM alerts"
            " WHERE closed_at IS NULL ORDER BY raised_at"
        )
        return [
            Alert(aid, home, kind, sev, datetime.fromisoformat(at), reason, json.loads(facts))
            for aid, kind, sev, at, reason, facts in rows
        ]

    def moved_on(self, home: str, most: int) -> list[Alert]:
        """The latest ``most`` alerts closed here on movement, oldest first (a claim for one may be on its way)."""
        rows = self._read(
            "SELECT alert_id, kind, severity, raised_at, reason, facts FROM alerts"
            " WHERE closed_by = 'sensors' ORDER BY julianday(closed_at) DESC LIMIT ?",
            (most,),
        )
        return [
            Alert(aid, home, kind, sev, datetime.fromisoformat(at), reason, json.loads(facts))
            for aid, kind, sev, at, reason, facts in reversed(rows)
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

    def reopen_alert(self, alert_id: str, by: str) -> bool:
        """An alert closed here on movement that someone had already set out to: open again, and theirs."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE alerts SET closed_at = NULL, closed_by = NULL, close_note = NULL, claimed_by = ?"
                " WHERE alert_id = ? AND closed_by = 'sensors'",
                (by, alert_id),
            )
            return cur.rowcount == 1

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

    def stream_events(
        self, since: datetime | None = None, chunk: int = 5000, until: datetime | None = None
    ) -> Iterator[Event]:
        """``events``, read ``chunk`` rows at a time: the history never sits in memory all at once (learning).

        With ``until`` too, the rows between are found by their time's index, not by reading the whole table.
        """
        sql = "SELECT wall, mono, sensor, kind, value, room FROM events"
        args: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE wall >= ?"
            args = (since.isoformat(),)
            if until is not None:
                sql += " AND wall <= ?"
                args += (until.isoformat(),)
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
