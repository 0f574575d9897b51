"""What the resident's "I'm OK" and their movement mean for the home's alerts: decisions as values.

The agent works out the facts (was a check running, which alerts are open, is someone going) and acts on
the decision these functions return; the choice itself is here, and tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the routine's code is imported only by an agent with detection on
    from sentinel.detect.watch import Phase


@dataclass(frozen=True, slots=True)
class CheckAnswered:
    """The check-in is answered: the signal goes off and the status says all is well."""

    reason: str


@dataclass(frozen=True, slots=True)
class CheckedIn:
    """Nothing was asked and nothing is open: a check-in, told in the status."""


@dataclass(frozen=True, slots=True)
class Close:
    """Close these alerts (told to the circle when it is the home that closes them)."""

    alert_ids: tuple[str, ...]
    who: str
    what: str
    note: str


@dataclass(frozen=True, slots=True)
class TellGoing:
    """Movement while someone is going: the alert stays open, and the circle is told what was seen."""

    alert_id: str
    going: str
    note: str


Meaning = CheckAnswered | CheckedIn | Close | TellGoing | None


def of_ok(name: str, how: str, check_was_running: bool, open_alerts: tuple[str, ...]) -> Meaning:
    """'I'm OK' from the resident (``how``: the press, or the app it came from)."""
    if check_was_running:
        return CheckAnswered(f"{name} pressed the button when asked: all is well.")
    if not open_alerts:
        return CheckedIn()
    return Close(open_alerts, "resident", "cancel", f"{name} pressed 'I'm OK' ({how}).")


def of_help(name: str, wall: datetime, open_quiet: str | None, going: str | None) -> Close | None:
    """A call for help from the button while an unusual-quiet alert (``open_quiet``) is open.

    With nobody going, the call for help takes over: the quiet alert is closed, and those told of it read that she
    called for help, not "all clear". With someone going, it stays open beside the call, and so does their word.
    """
    if open_quiet is None or going is not None:
        return None
    return Close(
        (open_quiet,), "resident", "help", f"{name} pressed the help button at {wall:%H:%M}: see the call for help."
    )


def of_movement(
    name: str,
    ended: Phase,
    place: str,
    wall: datetime,
    *,
    by_button: bool,
    open_alert: str | None,
    resolve_on_activity: bool,
    going: str | None,
    held: bool = False,
) -> Meaning:
    """A sign of life that ended the watch's phase ``ended``, seen at ``place`` (words) at ``wall``.

    ``open_alert``: the unusual-quiet alert the watch raised, if open; ``going``: who said they are going to it;
    ``held``: one of the first two signs once that alert was out, not taken for the resident's (``Tracker``).
    """
    note = f"Movement again: {place} at {wall:%H:%M}."
    if held:  # it ends nothing; whoever is going hears of it, as it may be them
        return TellGoing(open_alert, going, note) if open_alert and going and not by_button else None
    if ended == "checking":
        if by_button:  # answered; whether all is well or she calls for help, the press's gesture says next
            return CheckAnswered(f"{name} pressed the button when asked.")
        return CheckAnswered(f"Movement again ({place}) while asking: all seems well.")
    if ended != "alerted" or open_alert is None or not resolve_on_activity:
        return None
    if by_button:
        # The resident's own press, not movement; what it means is known only once it is over: "I'm OK"
        # (``of_ok``) or a call for help (``of_help``). Closing the alert at the press would tell the circle
        # "all clear" seconds before a long hold calls for help.
        return None
    if going is None:
        return Close((open_alert,), "sensors", "resolve", note)
    # The movement may be the neighbour who went: only they (or the button) can say all is well.
    return TellGoing(open_alert, going, note)
