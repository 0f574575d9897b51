"""Open a SQLite database the way every sentinel store wants it: WAL, migrated, shareable."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from sentinel.errors import StoreError


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
            raise StoreError(f"{path} was written by a newer sentinel (schema {version})")
        # Each entry moves the schema one version up; a released entry is never edited.
        for number, script in enumerate(migrations[version:], start=version + 1):
            db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
        return db
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
