"""The circle's rhythm in the notifier's database: consent, drills, members' records, checks, away dates."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sentinel.notifier.records import (
    CHECK_SQL,
    DRILL_SQL,
    EPOCH,
    FOLLOW_UP_SQL,
    Away,
    Consent,
    Drill,
    FollowUp,
    ResidentCheck,
    check_row,
    drill_row,
    follow_up_row,
    stored_time,
    when,
)


class RhythmTables:
    """The tables of the circle's rhythm; mixed into ``NotifierStore``, which owns the connection."""

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        raise NotImplementedError  # NotifierStore's

    # the circle's rhythm: consent, drills, what each member was sent and pressed
    def consent_rows(self) -> dict[tuple[str, str], Consent]:
        """Every (home, member) the notifier has met, with where they stand."""
        rows = self._run(
            "SELECT home, member, asked_at, reminded_at, agreed_at, how, keepers_told_at FROM consent"
        ).fetchall()
        return {
            (r[0], r[1]): Consent(
                r[0], r[1], stored_time(r[2]), stored_time(r[3]), stored_time(r[4]), r[5], stored_time(r[6])
            )
            for r in rows
        }

    def met(self) -> set[tuple[str, str]]:
        """Every (home, member) the notifier has met, in one read."""
        return set(self._run("SELECT home, member FROM consent").fetchall())

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
            DRILL_SQL + " WHERE answered_at IS NULL AND missed_at IS NULL AND julianday(due_at) <= julianday(?)"
            " ORDER BY julianday(sent_at)",
            (now.isoformat(),),
        ).fetchall()
        return [drill_row(r) for r in rows]

    def drill_missed(self, drill_id: str, member: str, now: datetime) -> None:
        self._run(
            "UPDATE drills SET missed_at = ? WHERE drill_id = ? AND member = ?", (now.isoformat(), drill_id, member)
        )

    def last_drill(self, member: str) -> Drill | None:
        row = self._run(DRILL_SQL + " WHERE member = ? ORDER BY sent_at DESC LIMIT 1", (member,)).fetchone()
        return drill_row(row) if row else None

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
        row = self._run(CHECK_SQL + " WHERE home = ? AND check_id = ?", (home, check_id)).fetchone()
        return check_row(row) if row else None

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
            CHECK_SQL
            + " WHERE home = ? AND (julianday(asked_at) >= julianday(?) OR julianday(answered_at) >= julianday(?))"
            " ORDER BY julianday(asked_at)",
            (home, since.isoformat(), since.isoformat()),
        ).fetchall()
        return [check_row(r) for r in rows]

    def set_away(self, member: str, away_until: str | None, yaml_was: str | None, now: datetime, how: str) -> None:
        """A member's own away date (None: back), overriding the config's ``yaml_was`` until that changes."""
        self._run(
            "INSERT OR REPLACE INTO availability (member, away_until, yaml_was, set_at, how) VALUES (?, ?, ?, ?, ?)",
            (member, away_until, yaml_was, now.isoformat(), how),
        )

    def away_rows(self) -> dict[str, Away]:
        rows = self._run("SELECT member, away_until, yaml_was, set_at, how FROM availability").fetchall()
        return {r[0]: Away(r[0], r[1], r[2], when(r[3], EPOCH, "away set_at"), r[4]) for r in rows}

    # following up: how the resident is, the morning after an incident
    def follow_up(self, alert_id: str, home: str, member: str, due: datetime) -> bool:
        """Ask ``member`` how the resident is at ``due``; False if this incident has one already."""
        cur = self._run(
            "INSERT OR IGNORE INTO follow_ups (alert_id, home, member, due_at) VALUES (?, ?, ?, ?)",
            (alert_id, home, member, due.isoformat()),
        )
        return cur.rowcount == 1

    def follow_ups_due(self, now: datetime) -> list[FollowUp]:
        rows = self._run(
            FOLLOW_UP_SQL + " WHERE asked_at IS NULL AND julianday(due_at) <= julianday(?) ORDER BY julianday(due_at)",
            (now.isoformat(),),
        ).fetchall()
        return [follow_up_row(r) for r in rows]

    def follow_up_of(self, alert_id: str) -> FollowUp | None:
        row = self._run(FOLLOW_UP_SQL + " WHERE alert_id = ?", (alert_id,)).fetchone()
        return follow_up_row(row) if row else None

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
