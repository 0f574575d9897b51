"""The notifier's SQLite database: incidents and their steps, deliveries, used tokens, parked messages."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    # Messages that could not be read, kept once each (a redelivery only counts), never retried;
    # and ntfy's id for each notification it took, so a restart can ask ntfy what it already has.
    """
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        home TEXT,
        size INTEGER NOT NULL,
        payload TEXT NOT NULL,
        error TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 1
    );
    ALTER TABLE deliveries ADD COLUMN ntfy_id TEXT;
    """,
    # The circle's rhythm: who agreed to be counted on (per home), each drill's answer, and a log of every
    # member's notices and presses outside incidents. A database that has already sent notifications
    # was in use before members were asked: its members are taken as having agreed (consent_from_before).
    """
    CREATE TABLE consent (
        home TEXT NOT NULL,
        member TEXT NOT NULL,
        asked_at TEXT,
        reminded_at TEXT,
        agreed_at TEXT,
        how TEXT NOT NULL DEFAULT '',
        keepers_told_at TEXT,
        PRIMARY KEY (home, member)
    );
    CREATE TABLE drills (
        drill_id TEXT NOT NULL,
        member TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        answered_at TEXT,
        missed_at TEXT,
        PRIMARY KEY (drill_id, member)
    );
    CREATE TABLE member_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        home TEXT NOT NULL DEFAULT '',
        member TEXT NOT NULL,
        what TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX member_log_member ON member_log (member, what);
    ALTER TABLE deliveries ADD COLUMN sent_at TEXT;
    INSERT INTO meta (key, value) SELECT 'consent_from_before', '1' WHERE EXISTS (SELECT 1 FROM deliveries);
    """,
    # Checking in: each time the resident's phone was asked ('Are you all right?', 'I'm OK today') and how
    # it was answered; and the away dates members set from their phones (with the YAML's date they overrode).
    """
    CREATE TABLE resident_checks (
        home TEXT NOT NULL,
        check_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        asked_at TEXT NOT NULL,
        answered_at TEXT,
        outcome TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (home, check_id)
    );
    CREATE TABLE availability (
        member TEXT PRIMARY KEY,
        away_until TEXT,
        yaml_was TEXT,
        set_at TEXT NOT NULL,
        how TEXT NOT NULL DEFAULT ''
    );
    """,
    # Following up: after an incident closes, the one who went is asked how the resident is.
    """
    CREATE TABLE follow_ups (
        alert_id TEXT PRIMARY KEY,
        home TEXT NOT NULL,
        member TEXT NOT NULL,
        due_at TEXT NOT NULL,
        asked_at TEXT,
        answer TEXT,
        answered_at TEXT
    );
    CREATE INDEX follow_ups_due ON follow_ups (asked_at, due_at);
    """,
)

log = logging.getLogger(__name__)

PARKED_PAYLOAD_BYTES = 1000  # what is kept of a parked message: enough to see what it was
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be read: kept, counted, never retried."""

    topic: str
    home: str | None
    size: int
    payload: str
    error: str
    first_seen: datetime
    last_seen: datetime
    count: int


def _dt(text: str | None) -> datetime | None:
    return when(text, EPOCH) if text else None


_warned: set[str] = set()


def when(text: Any, fallback: datetime, what: str = "a time") -> datetime:
    """A stored time; ``fallback`` (said once in the log) for one that cannot be read, never an exception."""
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError("no UTC offset")
        return parsed
    except (TypeError, ValueError) as exc:
        key = f"{what}:{text!r:.80}"
        if key not in _warned:
            _warned.add(key)
            log.warning("unreadable %s %.80r in the database (%s); %s is used instead", what, text, exc, fallback)
        return fallback


class NotifierStore:
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

    def follow_up(self, alert_id: str, home: str, member: str, due: datetime) -> bool:
        """Ask ``member`` how the resident is at ``due``; False if this incident has one already."""
        cur = self._run(
            "INSERT OR IGNORE INTO follow_ups (alert_id, home, member, due_at) VALUES (?, ?, ?, ?)",
            (alert_id, home, member, due.isoformat()),
        )
        return cur.rowcount == 1

    def follow_ups_due(self, now: datetime) -> list[FollowUp]:
        rows = self._run(
            _FOLLOW_UP_SQL + " WHERE asked_at IS NULL AND due_at <= ? ORDER BY due_at", (now.isoformat(),)
        ).fetchall()
        return [_follow_up(r) for r in rows]

    def follow_up_of(self, alert_id: str) -> FollowUp | None:
        row = self._run(_FOLLOW_UP_SQL + " WHERE alert_id = ?", (alert_id,)).fetchone()
        return _follow_up(row) if row else None

    def follow_up_asked(self, alert_id: str, now: datetime) -> None:
        self._run("UPDATE follow_ups SET asked_at = ? WHERE alert_id = ?", (now.isoformat(), alert_id))

    def follow_up_answered(self, alert_id: str, member: str, answer: str, now: datetime) -> bool:
        """Record the answer; False unless ``member`` was asked and has not answered yet."""
        cur = self._run(
            "UPDATE follow_ups SET answer = ?, answered_at = ? WHERE alert_id = ? AND member = ?"
            " AND asked_at IS NOT NULL AND answered_at IS NULL",
            (answer, now.isoformat(), alert_id, member),
        )
        return cur.rowcount == 1

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

    # the circle's rhythm: consent, drills, what each member was sent and pressed
    def consent_rows(self) -> dict[tuple[str, str], Consent]:
        """Every (home, member) the notifier has met, with where they stand."""
        rows = self._run(
            "SELECT home, member, asked_at, reminded_at, agreed_at, how, keepers_told_at FROM consent"
        ).fetchall()
        return {(r[0], r[1]): Consent(r[0], r[1], _dt(r[2]), _dt(r[3]), _dt(r[4]), r[5], _dt(r[6])) for r in rows}

    def meet(self, home: str, member: str, agreed_at: datetime | None = None, how: str = "") -> bool:
        """Note a member of a home the first time they are seen; False if they were known."""
        cur = self._run(
            "INSERT OR IGNORE INTO consent (home, member, agreed_at, how) VALUES (?, ?, ?, ?)",
            (home, member, agreed_at.isoformat() if agreed_at else None, how),
        )
        return cur.rowcount == 1

    def asked(self, home: str, member: str, now: datetime) -> None:
        """The member was asked to agree (again): the first ask is kept, a reminder's clock starts now."""
        self._run(
            "UPDATE consent SET asked_at = COALESCE(asked_at, ?), reminded_at = ? WHERE home = ? AND member = ?",
            (now.isoformat(), now.isoformat(), home, member),
        )

    def agree(self, home: str, member: str, now: datetime, how: str) -> bool:
        """Record a member's agreement; False if they had agreed already."""
        cur = self._run(
            "UPDATE consent SET agreed_at = ?, how = ? WHERE home = ? AND member = ? AND agreed_at IS NULL",
            (now.isoformat(), how, home, member),
        )
        return cur.rowcount == 1

    def keepers_told(self, home: str, member: str, now: datetime) -> None:
        self._run(
            "UPDATE consent SET keepers_told_at = ? WHERE home = ? AND member = ?", (now.isoformat(), home, member)
        )

    def agreed(self, home: str) -> set[str]:
        """The members of ``home`` who have agreed to be counted on."""
        rows = self._run("SELECT member FROM consent WHERE home = ? AND agreed_at IS NOT NULL", (home,)).fetchall()
        return {r[0] for r in rows}

    def drill_sent(self, drill_id: str, member: str, now: datetime, due: datetime) -> bool:
        cur = self._run(
            "INSERT OR IGNORE INTO drills (drill_id, member, sent_at, due_at) VALUES (?, ?, ?, ?)",
            (drill_id, member, now.isoformat(), due.isoformat()),
        )
        return cur.rowcount == 1

    def drill_answered(self, drill_id: str, member: str, now: datetime) -> bool | None:
        """Record a 'received'; None if there was no such drill, False if it was answered already."""
        cur = self._run(
            "UPDATE drills SET answered_at = ? WHERE drill_id = ? AND member = ? AND answered_at IS NULL",
            (now.isoformat(), drill_id, member),
        )
        if cur.rowcount == 1:
            return True
        known = self._run("SELECT 1 FROM drills WHERE drill_id = ? AND member = ?", (drill_id, member)).fetchone()
        return False if known else None

    def drills_missed(self, now: datetime) -> list[Drill]:
        """Drills past their answer time without an answer, not yet told to the keepers."""
        rows = self._run(
            _DRILL_SQL + " WHERE answered_at IS NULL AND missed_at IS NULL AND due_at <= ? ORDER BY sent_at",
            (now.isoformat(),),
        ).fetchall()
        return [_drill(r) for r in rows]

    def drill_missed(self, drill_id: str, member: str, now: datetime) -> None:
        self._run(
            "UPDATE drills SET missed_at = ? WHERE drill_id = ? AND member = ?", (now.isoformat(), drill_id, member)
        )

    def last_drill(self, member: str) -> Drill | None:
        row = self._run(_DRILL_SQL + " WHERE member = ? ORDER BY sent_at DESC LIMIT 1", (member,)).fetchone()
        return _drill(row) if row else None

    def log_member(self, now: datetime, home: str, member: str, what: str, detail: str = "") -> None:
        """A line in a member's record: asked, agreed, drilled, pressed, refused."""
        self._run(
            "INSERT INTO member_log (at, home, member, what, detail) VALUES (?, ?, ?, ?, ?)",
            (now.isoformat(), home, member, what, detail[:500]),
        )

    def member_log(self, member: str, what: str | None = None) -> list[tuple[datetime, str, str, str]]:
        """A member's record, oldest first: (at, home, what, detail)."""
        where, args = ("member = ? AND what = ?", (member, what)) if what else ("member = ?", (member,))
        rows = self._run(f"SELECT at, home, what, detail FROM member_log WHERE {where} ORDER BY id", args).fetchall()
        return [(when(at, EPOCH, "log time"), h, w, d) for at, h, w, d in rows]

    def last_sent(self, member: str) -> tuple[datetime, str] | None:
        """When the last notification reached ntfy for ``member``, and its title."""
        row = self._run(
            "SELECT sent_at, body FROM deliveries WHERE member = ? AND status = 'sent' AND sent_at IS NOT NULL"
            " ORDER BY sent_at DESC, id DESC LIMIT 1",
            (member,),
        ).fetchone()
        return (when(row[0], EPOCH, "sent_at"), str(json.loads(row[1]).get("title", ""))) if row else None

    # checking in: the resident's phone, and members' availability from theirs
    def resident_asked(self, home: str, check_id: str, kind: str, now: datetime) -> bool:
        """Note that the resident's phone was asked; False if this check was asked before (a re-sent status)."""
        cur = self._run(
            "INSERT OR IGNORE INTO resident_checks (home, check_id, kind, asked_at) VALUES (?, ?, ?, ?)",
            (home, check_id, kind, now.isoformat()),
        )
        return cur.rowcount == 1

    def resident_check(self, home: str, check_id: str) -> ResidentCheck | None:
        row = self._run(_CHECK_SQL + " WHERE home = ? AND check_id = ?", (home, check_id)).fetchone()
        return _check(row) if row else None

    def resident_answered(self, home: str, check_id: str, now: datetime, outcome: str) -> bool:
        """Record the answer; False if it was answered already."""
        cur = self._run(
            "UPDATE resident_checks SET answered_at = ?, outcome = ? WHERE home = ? AND check_id = ?"
            " AND answered_at IS NULL",
            (now.isoformat(), outcome, home, check_id),
        )
        return cur.rowcount == 1

    def resident_checks(self, home: str, since: datetime) -> list[ResidentCheck]:
        """The checks of ``home`` asked or answered since ``since``, oldest first."""
        rows = self._run(
            _CHECK_SQL + " WHERE home = ? AND (asked_at >= ? OR answered_at >= ?) ORDER BY asked_at",
            (home, since.isoformat(), since.isoformat()),
        ).fetchall()
        return [_check(r) for r in rows]

    def set_away(self, member: str, away_until: str | None, yaml_was: str | None, now: datetime, how: str) -> None:
        """A member's own away date (None: back), overriding the config's ``yaml_was`` until that changes."""
        self._run(
            "INSERT OR REPLACE INTO availability (member, away_until, yaml_was, set_at, how) VALUES (?, ?, ?, ?, ?)",
            (member, away_until, yaml_was, now.isoformat(), how),
        )

    def away_rows(self) -> dict[str, Away]:
        rows = self._run("SELECT member, away_until, yaml_was, set_at, how FROM availability").fetchall()
        return {r[0]: Away(r[0], r[1], r[2], when(r[3], EPOCH, "away set_at"), r[4]) for r in rows}


@dataclass(frozen=True, slots=True)
class Consent:
    """Where one member of one home stands on being counted on."""

    home: str
    member: str
    asked_at: datetime | None
    reminded_at: datetime | None
    agreed_at: datetime | None
    how: str
    keepers_told_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResidentCheck:
    """One time the resident's phone was asked, and the answer."""

    home: str
    check_id: str
    kind: str  # 'check' (are you all right?) or 'today' (I'm OK today)
    asked_at: datetime
    answered_at: datetime | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Away:
    """A member's away date set from their phone; ``yaml_was``: the config's date it overrode."""

    member: str
    away_until: str | None
    yaml_was: str | None
    set_at: datetime
    how: str

    def over(self, yaml_date: str | None) -> str | None:
        """The away date that stands: this one, unless the config's has changed since it was set."""
        return self.away_until if self.yaml_was == yaml_date else yaml_date


@dataclass(frozen=True, slots=True)
class Drill:
    """One member's part in one drill."""

    drill_id: str
    member: str
    sent_at: datetime
    due_at: datetime
    answered_at: datetime | None
    missed_at: datetime | None


_CHECK_SQL = "SELECT home, check_id, kind, asked_at, answered_at, outcome FROM resident_checks"


def _check(row: tuple[Any, ...]) -> ResidentCheck:
    return ResidentCheck(row[0], row[1], row[2], when(row[3], EPOCH), _dt(row[4]), row[5])


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The question after an incident: how is the resident today?"""

    alert_id: str
    home: str
    member: str
    due_at: datetime
    asked_at: datetime | None
    answer: str | None
    answered_at: datetime | None


_FOLLOW_UP_SQL = "SELECT alert_id, home, member, due_at, asked_at, answer, answered_at FROM follow_ups"


def _follow_up(row: tuple[Any, ...]) -> FollowUp:
    return FollowUp(row[0], row[1], row[2], when(row[3], EPOCH), _dt(row[4]), row[5], _dt(row[6]))


_DRILL_SQL = "SELECT drill_id, member, sent_at, due_at, answered_at, missed_at FROM drills"


def _drill(row: tuple[Any, ...]) -> Drill:
    return Drill(row[0], row[1], when(row[2], EPOCH), when(row[3], EPOCH), _dt(row[4]), _dt(row[5]))


_INCIDENT_SQL = (
    "SELECT alert_id, home, kind, severity, reason, raised_at, next_index, next_at, claimed_by, closed_at,"
    " closed_by, close_note, received_at FROM incidents"
)


def _incident(row: tuple[Any, ...]) -> Incident:
    """An incident row; a time that cannot be read (a row written before alerts were checked) never stops the loop."""
    alert_id, home, kind, severity, reason, raised, index, next_at, claimed, closed, by, note, received = row
    received_at = when(received, EPOCH, "received_at")
    return Incident(
        alert_id,
        home,
        kind,
        severity,
        reason,
        when(raised, received_at, f"raised_at of {alert_id}"),
        index,
        when(next_at, received_at, f"next_at of {alert_id}"),
        claimed,
        _dt(closed),
        by,
        note,
    )
