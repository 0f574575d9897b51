"""The home's SQLite file: its schema, opening it (or what can be read of it), renewing it and transactions."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sentinel.errors import StoreError
from sentinel.sqlite import (
    SIDE_FILES,
    NewerSchema,
    damage,
    describe,
    is_corrupt,
    memory_db,
    move_aside,
    open_db,
    open_stale,
)
from sentinel.statedir import open_readonly

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

log = logging.getLogger(__name__)


class StoreFile:
    """One SQLite file in WAL mode, opened and kept open through damage and deletion; safe to share between threads.

    The tables are read and written by ``sentinel.store.Store``, built on this.
    """

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False, keep_going: bool = False) -> None:
        """Open (creating and migrating) the database; ``read_only``: an existing one, untouched (a carer's tool).

        A file that is not a database any more is moved aside and a fresh one started (``renewed`` says so).
        ``keep_going`` (the agent): a file there that can be neither opened, read nor moved aside (a card gone
        read-only) leaves the store reading an empty database in memory instead of raising StoreError.
        """
        self.path = Path(path)
        self._lock = threading.RLock()
        self.renewed: str | None = None
        self.renewals = 0
        """How many times a fresh file was started at ``path`` since it was opened (a check of the old one is moot)."""
        self.due: tuple[str, bool] | None = None
        """A fresh file that could not be started yet: why, and whether the old one is damaged (to keep aside)."""
        self.writable = not read_only
        if read_only:
            self._db = open_readonly(self.path, MIGRATIONS)
        else:
            try:
                self._db = self._open_sound()
            except NewerSchema:
                raise
            except StoreError as exc:
                self._db = self._open_stale(exc, keep_going)
        self._identity = self._file()

    def _open_stale(self, error: StoreError, keep_going: bool) -> sqlite3.Connection:
        """What can be read of a database that cannot be written now; writes fail until ``reopen`` succeeds."""
        why = describe(error.__cause__ or error, self.path)
        if self.due is not None:
            why = f"{self.due[0]}, and no fresh one can be started yet: {why}"
        db = None
        if self.path.is_file():
            with contextlib.suppress(StoreError):
                db = open_stale(self.path, MIGRATIONS)
        self.writable = False
        if db is None:
            # Nothing at the path at all is a wrong state_dir (said at once); a file there is the resident's card.
            if not keep_going or not (self.path.is_file() or self.due):
                raise error
            log.error("%s: %s; starting from memory, and trying again to write it", self.path, why)
            return memory_db(MIGRATIONS)
        log.error("%s: %s; reading it only, and trying again to write it", self.path, why)
        return db

    def reopen(self) -> None:
        """Open the database for writing again, after it could only be read; StoreError while it still cannot."""
        with self._lock:
            db = open_db(self.path, MIGRATIONS)
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db, self.writable = db, True
            self._identity = self._file()
            log.debug("%s opened for writing again", self.path)  # whether it can be, the next write tells

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

        StoreError when no database can be started there now (a full or read-only card, a file that cannot be
        moved aside): then the store reads an empty database in memory, refuses writes, and ``due`` holds the
        renewal still to be made (the agent's WriteQueue tries it again).
        """
        with self._lock:
            if reopen:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()  # a deleted file's -wal and -shm go with its last connection
            try:
                kept = self._fresh(damaged)
            except (OSError, StoreError) as exc:
                self.writable, self.due = False, (why, damaged)
                if reopen:
                    self._db = memory_db(MIGRATIONS)
                cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ is not None else exc
                raise StoreError(f"{why}, and no fresh database can be started: {cause}") from cause
            self._identity, self.writable, self.due = self._file(), True, None
            self.renewed = f"{why}: {kept}"
            self.renewals += 1
            log.error("%s", self.renewed)

    def _fresh(self, damaged: bool) -> str:
        """A fresh database at ``path``, the damaged one (or a file that is none) moved aside first; what was done."""
        kept = "started a fresh database"
        # A -wal left of the old file would be read into the fresh one: it goes aside too, even alone.
        if damaged and any(self.path.with_name(self.path.name + s).exists() for s in ("", *SIDE_FILES)):
            kept += f"; the old one is kept as {move_aside(self.path, datetime.now()).name}"
        try:
            self._db = open_db(self.path, MIGRATIONS)
        except StoreError as exc:
            if not is_corrupt(exc.__cause__):
                raise
            kept += f"; the file found there is kept as {move_aside(self.path, datetime.now()).name}"
            self._db = open_db(self.path, MIGRATIONS)
        return kept

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

    def damage_apart(self) -> str | None:
        """What SQLite's quick check finds wrong, read on a connection of its own: writes go on meanwhile.

        It reads the whole file (a fifth of a second for a year of a busy home here, seconds on a Pi Zero),
        so it runs on a thread of its own and never holds the store's lock. StoreError or sqlite3.Error when
        the file cannot be read for it.
        """
        if self.writable:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        else:
            db = open_stale(self.path, MIGRATIONS)  # as the store reads it now (a card gone read-only)
        try:
            return damage(db)
        finally:
            db.close()

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
