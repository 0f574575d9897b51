"""The words for the resident's own phone, the daily notes and the availability note."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.notifier.messages.common import TITLES, button, info_note, note
from sentinel.notifier.tokens import TOKEN_LIFETIME_S


def resident_check_note(
    circle: CircleConfig, home: HomeCircle, resident: MemberConfig, check_id: str, secret: bytes, expires: int
) -> dict[str, Any]:
    """To the resident's own phone while the monitor asks first: are you all right?"""
    ok = button(circle, home, resident, check_id, "I'm OK", "ok", secret, expires)
    text = (
        "Your monitor has not noticed you moving for longer than usual. If you are all right, tap 'I'm OK'"
        " (or press your button at home once, or just move about). If nobody answers soon, your circle is asked"
        " to look in on you."
    )
    return note("check", f"Are you all right, {home.name}?", text, priority=4, tags=["wave"], actions=[ok])


def resident_today_note(
    circle: CircleConfig, home: HomeCircle, resident: MemberConfig, day_id: str, secret: bytes, expires: int
) -> dict[str, Any]:
    """To the resident, once a day if they chose it: a gentle way to check in."""
    ok = button(circle, home, resident, day_id, "I'm OK today", "ok_today", secret, expires)
    text = (
        "If you like, tap 'I'm OK today' to let your circle know all is well. Nothing happens if you don't:"
        " this is only a note. The button works until midnight."
    )
    return note("today", f"Hello {home.name}", text, priority=2, tags=["sunny"], actions=[ok])


def resident_thanks(home: HomeCircle, outcome: str) -> dict[str, Any]:
    """To the resident after a press: what it did, in a sentence."""
    return info_note(f"Thank you, {home.name}", outcome, ("white_check_mark",), 2)


CHECK_OUTCOMES = {
    "cancelled": "Your monitor knows you are all right: your circle is not told.",
    "late": "Your circle had been told you did not answer; they are now told all is well.",
    "ended": "Your monitor had already seen you moving: all is well, nobody was told.",
    "noted": "Noted: your circle can see you checked in today.",
    "open": (
        "Noted. Your circle was asked to look in on you earlier and is still waiting: to tell them all is well,"
        " press your button at home once."
    ),
}


STATE_WORDS = {
    "ok": "all well",
    "learning": "all well (the monitor is still learning the routine)",
    "checking": "the monitor is asking {name} whether all is well",
    "alert": "an alert is open",
    "away": "{name} is away",
    "paused": "the monitor is paused",
}


def daily_line(
    name: str,
    state: str | None,
    offline_since: datetime | None,
    alerts: list[tuple[str, datetime, bool]],
    last_movement: datetime | None,
    checked_in: datetime | None,
    up: datetime | None = None,
    out: Sequence[tuple[datetime, datetime]] = (),
    today: date | None = None,
) -> str:
    """One home in a member's daily note, in words: its state, when the resident got up and was out (if the home
    shares its day), today's alerts, the last movement reported.

    ``alerts``: today's alerts as (kind, raised at, closed); ``out``: outings over today as (left, back);
    ``today``: the note's day, for an outing begun before it. Never a list of rooms or visits.
    """
    well = offline_since is None and state in ("ok", "learning") and all(closed for _, _, closed in alerts)
    parts = []
    if offline_since is not None:
        parts.append(f"the monitor is offline since {offline_since:%H:%M}")
    elif state is None:
        parts.append("no word from the monitor yet")
    elif not well or state == "learning":
        parts.append(STATE_WORDS.get(state, state).format(name=name))
    if up is not None:
        parts.append(f"up at {up:%H:%M}")
    if out:
        parts.append(outings_words(out, today or out[-1][0].date()))
    if not alerts:
        parts.append("no alerts today")
    else:
        told = [
            f"{TITLES.get(kind, kind.replace('_', ' '))} at {at:%H:%M}, {'all clear' if closed else 'still open'}"
            for kind, at, closed in alerts
        ]
        count = "1 alert" if len(alerts) == 1 else f"{len(alerts)} alerts"
        parts.append(f"{count} today ({'; '.join(told)})")
    if last_movement is not None:
        parts.append(f"last movement reported at {last_movement:%H:%M}")
    if checked_in is not None:
        parts.append(f"{name} said 'I'm OK' at {checked_in:%H:%M}")
    head = f"At {name}'s today"
    if well:
        head = f"All well at {name}'s today" if not alerts else f"All well at {name}'s now"
    return f"{head}: {', '.join(parts)}."


def outings_words(out: Sequence[tuple[datetime, datetime]], today: date) -> str:
    """'out 10:00-11:30 and 15:00-16:10' (an en dash); many outings as how many and the last: a note, not a diary."""

    def clock(at: datetime) -> str:
        if at.date() >= today:
            return f"{at:%H:%M}"
        return f"yesterday {at:%H:%M}" if at.date() == today - timedelta(days=1) else f"{at:%a %d %b %H:%M}"

    told = [f"{clock(left)}\u2013{clock(back)}" for left, back in out]
    if len(told) > 3:
        return f"out {len(told)} times, the last {told[-1]}"
    return "out " + (told[0] if len(told) == 1 else f"{', '.join(told[:-1])} and {told[-1]}")


def daily_note(homes: list[str], lines: list[str]) -> dict[str, Any]:
    """A member's daily note: one line per home they asked about."""
    title = f"{homes[0]} today" if len(homes) == 1 else "Your circle today"
    return info_note(title, "\n".join(lines), ("sunny",), 2)


def availability_note(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    away_until: str | None,
    choices: list[date],
    secret: bytes,
    now: datetime,
) -> dict[str, Any]:
    """To a member now and then (and after they set it): are you around? Buttons to say away until ..., or back."""
    expires = int(now.timestamp() + TOKEN_LIFETIME_S)
    if away_until:
        until = date.fromisoformat(away_until)
        text = (
            f"You are away until {until:%a %d %b}: the circle does not ask you to go before then."
            " Back sooner? Tap 'Back'."
        )
        actions = [button(circle, home, member, f"back-{now:%Y-%m-%d}", "Back", "back", secret, expires)]
    else:
        text = (
            "You may be asked to look in when something may be wrong. Going away? Tap a button and the circle will"
            " not ask you until the day you are back."
        )
        actions = []
    actions += [
        button(circle, home, member, f"away-{day.isoformat()}", f"Away until {day:%a %d %b}", "away", secret, expires)
        for day in choices[: 3 - len(actions)]
    ]
    return note("availability", "sentinel: are you around?", text, priority=2, tags=["calendar"], actions=actions)
