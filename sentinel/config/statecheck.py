"""Whether a program (the agent, the notifier) can keep its database in ``state_dir``: tried for real, as the user
who asks."""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path
from typing import Any

from sentinel.config.yamllines import LineDict

SERVICE_USER = "sentinel"  # User= in systemd/sentinel-agent.service and sentinel-notifier.service


def check_state_dir(
    state_dir: str | None, raw: LineDict, errors: Any, run: bool, database: str = "agent.db", program: str = "agent"
) -> None:
    """``state_dir`` exists or can be made, and can be written: an error for ``run``, a warning for check-config.

    check-config may be run by a carer as themselves, or on another machine, while the service runs as its own
    user: that this user cannot write the directory, or that it is not there yet, may be no mistake. A file
    where the directory should be is a mistake for everyone.
    """
    if not state_dir:
        return  # the default: systemd's StateDirectory, made for the service's user
    line, key = raw.lines.get("state_dir", 1), "state_dir"
    path = Path(state_dir)
    try:
        _check(path, line, key, errors, run, database, program)
    except OSError as exc:  # a part above it this user may not even look into
        text = f"user {_user()} cannot look into {exc.filename or path}: {exc.strerror or exc}{_hint(path)}"
        if run:
            errors.add(line, key, text)
        else:
            errors.warn(line, key, text)


def _check(path: Path, line: int, key: str, errors: Any, run: bool, database: str, program: str) -> None:
    user = _user()
    above = next((p for p in (path, *path.parents) if os.path.lexists(p)), None)
    if above is not None and not above.is_dir():
        what = f"{path} is" if above == path else f"{path} cannot be made: {above} is"
        errors.add(line, key, f"{what} a file, not a directory; give the directory to keep the database in")
        return
    if run:
        if errors.items or (path / database).exists():
            # Nothing is made for an agent that will not start. A database already there was written by this
            # agent: a card that has turned read-only since is a failing card, not a wrong path, and the agent
            # starts from memory (the store says so) rather than leave the help button dead.
            return
        problem = _make(path) or _probe(path)
        if problem:
            errors.add(line, key, f"user {user} cannot keep the database in {path}: {problem}{_hint(path)}")
        return
    if path.is_dir():
        problem = _probe(path)
        if problem:
            errors.warn(
                line,
                key,
                f"user {user} cannot write {path} ({problem}); the {program} cannot start unless its own user can"
                f" (the service's is {SERVICE_USER}: check as that user, sudo -u {SERVICE_USER} ...){_hint(path)}",
            )
        return
    problem = _probe_parent(above) if above is not None else "no part of it exists"
    if problem:
        errors.warn(
            line,
            key,
            f"{path} does not exist, and user {user} cannot make it ({problem}); the {program} makes it when it"
            " starts, so its own user must be able to, or make it for that user first",
        )


def _make(path: Path) -> str | None:
    """Make the directory (the store would, a moment later); what went wrong, if anything."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _probe(path: Path) -> str | None:
    """Write a file there and remove it: the only sure test (a read-only card, a sandbox, a root who may not)."""
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _probe_parent(above: Path) -> str | None:
    """Make a directory in the nearest part that exists and remove it: whether the rest could be made."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=above))
    except OSError as exc:
        return f"{above}: {exc.strerror or exc}"
    return None


def _hint(path: Path) -> str:
    """Under the systemd service only its own directory may be written (ProtectSystem=strict)."""
    if path == Path("/var/lib/sentinel") or Path("/var/lib/sentinel") in path.parents:
        return ""
    return "; under the systemd service the database can be kept only in /var/lib/sentinel (leave state_dir out)"


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return str(os.geteuid())
