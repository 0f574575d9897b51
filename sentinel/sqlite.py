"""Open a SQLite database the way every sentinel store wants it: WAL, migrated, shareable; and say why it fails."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sentinel.errors import StoreError

# A file that is not a database at all (a damaged first page) or one with a damaged page inside.
CORRUPT = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
SIDE_FILES = ("-wal", "-shm", "-journal")
ALMOST_FULL = 1 << 20
"""Below this many free bytes, an SD card that fails writes is called full (SQLite may say only "disk I/O error")."""


class NewerSchema(StoreError):
    """The database was written by a newer sentinel: it is refused, never damaged."""


def open_db(path: Path, migrations: Sequence[str]) -> sqlite3.Connection:
    """Open (creating) ``path`` in WAL mode and bring its schema up to date; StoreError when it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process kill; only power loss can lose
        # the last commits, and fsync on every write would wear an SD card.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(migrations):
            db.close()
            raise NewerSchema(f"{path} was written by a newer sentinel (schema {version})")
        migrate(db, migrations, version)
        return db
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from exc


def migrate(db: sqlite3.Connection, migrations: Sequence[str], version: int = 0) -> None:
    """Bring ``db`` from schema ``version`` up to date: each entry moves it one up; a released entry is never edited."""
    for number, script in enumerate(migrations[version:], start=version + 1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")


def open_stale(path: Path, migrations: Sequence[str]) -> sqlite3.Connection:
    """The database at ``path`` for reading only, when it cannot be opened for writing (a card gone read-only).

    Tried with SQLite's usual locking first (it reads the -wal too), then as an immutable file (the main file
    only: the last commits before a crash may be missing). StoreError when neither reads it.
    """
    uri = path.resolve().as_uri()
    for query in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"{uri}?{query}", uri=True, check_same_thread=False, isolation_level=None)
            if db.execute("PRAGMA user_version").fetchone()[0] == len(migrations):
                return db
            db.close()
        except sqlite3.Error:
            continue
    raise StoreError(f"cannot read the database {path} either")


def memory_db(migrations: Sequence[str]) -> sqlite3.Connection:
    """An empty database in memory with the schema, refusing writes: what is read while no file can be opened."""
    db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    migrate(db, migrations)
    # Writes fail as on a read-only card, so they wait in the agent's memory for the real file.
    db.execute("PRAGMA query_only=ON")
    return db


def is_corrupt(exc: BaseException | None) -> bool:
    """Whether SQLite said the file is damaged (as opposed to full, read-only or missing)."""
    return isinstance(exc, sqlite3.DatabaseError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in CORRUPT


def damage(db: sqlite3.Connection) -> str | None:
    """What ``PRAGMA quick_check`` finds wrong (its first complaint), or None for a sound database."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc):
            return str(exc)
        raise
    problems = [row[0] for row in rows if row[0] != "ok"]
    return problems[0] if problems else None


def move_aside(path: Path, at: datetime) -> Path:
    """Rename a damaged database and its -wal/-shm files to ``<name>.corrupt-<time>``; the new name of the database.

    OSError when a file cannot be renamed (a card gone read-only): the caller keeps the database as it is.
    """
    aside = path.with_name(f"{path.name}.corrupt-{at:%Y%m%dT%H%M%S}")
    for suffix in ("", *SIDE_FILES):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, aside.with_name(aside.name + suffix))
    return aside


def describe(exc: BaseException, path: Path) -> str:
    """Why a write to the database at ``path`` failed, in words a carer can act on."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and free_bytes(path) < ALMOST_FULL):
        return f"the SD card is full ({exc})"
    if read_only_mount(path):
        return f"the SD card is mounted read-only: it may be failing ({exc})"
    if code == sqlite3.SQLITE_READONLY:
        return f"the database is read-only: the SD card may have failed or been remounted read-only ({exc})"
    if code == sqlite3.SQLITE_IOERR:
        return f"the SD card could not be written: it may be failing ({exc})"
    if code in CORRUPT:
        return f"the database is damaged ({exc})"
    if code == sqlite3.SQLITE_CANTOPEN:
        return f"the database cannot be opened for writing: the SD card may be read-only or failing ({exc})"
    if isinstance(exc, OSError):  # a file could not be renamed or made beside the database
        if exc.errno == errno.ENOSPC:
            return f"the SD card is full ({exc})"
        if exc.errno == errno.EROFS:
            return f"the SD card is mounted read-only: it may be failing ({exc})"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return f"the monitor may not change the files in {path.parent} ({exc})"
        return f"the SD card could not be written: it may be failing ({exc})"
    return str(exc) or type(exc).__name__


def read_only_mount(path: Path) -> bool:
    """Whether the file system holding ``path`` is mounted read-only (as Linux does to a card with errors)."""
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding ``path``; a large number if unknown."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return 1 << 62
    return st.f_bavail * st.f_frsize
