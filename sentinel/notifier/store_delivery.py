"""The notifier's outgoing queue and its parked messages, in the notifier's database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sentinel.notifier.records import EPOCH, PARKED_PAYLOAD_BYTES, DeadLetter, Delivery, when

# What must not wait behind routine notes (the kinds messages.note gives them), nor ring after its all-clear.
URGENT_KINDS = ("alert", "last_resort")
URGENT = f"json_extract(body, '$.kind') IN {URGENT_KINDS!r}"


class DeliveryTables:
    """Deliveries (one notification to one member) and dead letters; mixed into ``NotifierStore``."""

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        raise NotImplementedError  # NotifierStore's

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # NotifierStore's

    def set_meta(self, key: str, value: str) -> None:
        raise NotImplementedError  # NotifierStore's

    def notified(self, alert_id: str) -> list[str]:
        """Members an alert notification was sent (or is being sent) to, in order."""
        rows = self._run(
            "SELECT DISTINCT member FROM deliveries WHERE alert_id = ? AND json_extract(body, '$.kind') = 'alert'"
            " ORDER BY id",
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
        """What is due, most urgent first: alerts and last resorts (loudest first), then the rest as written.

        Under ntfy's request limit only a few go at a time: a help press must not wait behind a weekly
        note to a whole street. The rest keep the order they were written in, so that notes to one
        member never overtake each other.
        """
        rows = self._run(
            "SELECT id, alert_id, home, member, body, attempts FROM deliveries"
            " WHERE status = 'pending' AND julianday(next_try) <= julianday(?)"
            f" ORDER BY {URGENT} DESC, CASE WHEN {URGENT} THEN json_extract(body, '$.priority') END DESC, id LIMIT ?",
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

    def maybe_sent(self, delivery_id: int, error: str, next_try: datetime) -> None:
        """ntfy may have it (its answer was lost): left 'sending', to be asked about; sent again at ``next_try``."""
        self._run(
            "UPDATE deliveries SET status = 'sending', last_error = ?, next_try = ? WHERE id = ?",
            (error, next_try.isoformat(), delivery_id),
        )

    def resend(self, delivery_id: int, why: str, at: datetime | None = None) -> None:
        """A delivery that may have gone that ntfy does not have (or that cannot be checked): send it again, at
        ``at`` if given (else after the backoff it had)."""
        if at is None:
            self._run("UPDATE deliveries SET status = 'pending', last_error = ? WHERE id = ?", (why, delivery_id))
        else:
            self._run(
                "UPDATE deliveries SET status = 'pending', last_error = ?, next_try = ? WHERE id = ?",
                (why, at.isoformat(), delivery_id),
            )

    def sent_like(self, member: str, body: dict[str, Any]) -> int:
        """How many deliveries with exactly this body were sent to ``member``."""
        row = self._run(
            "SELECT COUNT(*) FROM deliveries WHERE member = ? AND status = 'sent' AND body = ?",
            (member, json.dumps(body, ensure_ascii=False)),
        ).fetchone()
        return int(row[0])

    def retry(self, delivery_id: int, error: str, next_try: datetime, body: dict[str, Any] | None = None) -> None:
        """Try again at ``next_try`` (with ``body`` instead, when given)."""
        self._run(
            "UPDATE deliveries SET status = 'pending', last_error = ?, next_try = ? WHERE id = ?",
            (error, next_try.isoformat(), delivery_id),
        )
        if body is not None:
            text = json.dumps(body, ensure_ascii=False)
            self._run("UPDATE deliveries SET body = ? WHERE id = ?", (text, delivery_id))

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
