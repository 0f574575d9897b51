"""Where the services keep their databases, and how a carer's tool reads one without touching it."""

from __future__ import annotations

import getpass
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from sentinel.errors import StoreError

# StateDirectory=sentinel in systemd/sentinel-*.service: where both services keep their databases.
SERVICE_STATE_DIR = Path("/var/lib/sentinel")
AGENT_DB = "agent.db"
NOTIFIER_DB = "notifier.db"


class NoDatabase(StoreError):
    """A tool that only reads found no database to read (it never creates one)."""

    unreadable = False  # a place it looked in could not be read: the database may be there

def xdg_state_dir() -> Path:
    """The per-user state directory a service started by hand writes to."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "sentinel"


def systemd_state_dir() -> Path | None:
    """The StateDirectory systemd gave this process, if any."""
    value = os.environ.get("STATE_DIRECTORY")
    return Path(value.split(":")[0]) if value else None


def service_state_dir(state_dir: str | None) -> Path:
    """Where the agent will keep its database: state_dir, systemd's, the service's if installed, else this user's."""
    if state_dir:
        return Path(state_dir)
    given = systemd_state_dir()
    if given:
        return given
    return SERVICE_STATE_DIR if SERVICE_STATE_DIR.is_dir() else xdg_state_dir()


def _places(state_dir: str | None) -> list[tuple[Path, str]]:
    """Where the service would have written, most specific first, each with why it is looked at."""
    if state_dir:
        return [(Path(state_dir), "state_dir in the config")]
    given = systemd_state_dir()
    if given:
        return [(given, "$STATE_DIRECTORY")]
    return [(SERVICE_STATE_DIR, "the systemd service's"), (xdg_state_dir(), "when started by hand as this user")]


def find_database(name: str, state_dir: str | None, config_path: str | None = None) -> Path:
    """The existing database ``name`` of a service, for a tool that reads it; NoDatabase naming where it looked."""
    looked: list[str] = []
    unreadable = False
    for place, why in _places(state_dir):
        path = place / name
        try:
            if path.is_file():
                return path
            looked.append(f"  {path} ({why}): not there")
        except PermissionError:
            unreadable = True
            looked.append(f"  {path} ({why}): {place} may not be read by user {_user()}")
    where = f"state_dir in {config_path}" if config_path else "state_dir in the config"
    error = NoDatabase(
        f"no {name} to read; looked in\n"
        + "\n".join(looked)
        + f"\nRun this as the service's user (sudo -u sentinel ...) or as root (sudo ...),"
        f" or set {where} to where the service keeps it. Nothing was created."
    )
    error.unreadable = unreadable
    raise error


def open_readonly(path: Path, migrations: Sequence[str]) -> sqlite3.Connection:
    """Open an existing database read-only: no file, table or migration is created; StoreError when it cannot."""
    try:
        # mode=ro never creates the file nor writes to it. SQLite may still create the -wal and -shm files
        # beside it; run as root it gives them to the database's owner, so the service can still open them.
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot read the database {path} as user {_user()}: {exc}."
            f" Run this as the user who owns it ({_owner(path)}) or as root."
        ) from exc
    if version != len(migrations):
        db.close()
        if version > len(migrations):
            raise StoreError(f"{path} was written by a newer sentinel (schema {version}): upgrade sentinel")
        raise StoreError(
            f"{path} has schema {version}, this sentinel reads {len(migrations)}:"
            " start the service once (it brings the database up to date), then try again"
        )
    return db


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return str(os.geteuid())


def _owner(path: Path) -> str:
    try:
        from pwd import getpwuid

        return getpwuid(path.stat().st_uid).pw_name
    except (OSError, KeyError):
        return "the service's user"
