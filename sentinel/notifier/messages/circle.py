"""The words for the circle's keepers and members: silence, the broker, parked messages, consent, drills."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.detect.explain import duration
from sentinel.notifier.health import MemberHealth
from sentinel.notifier.messages.common import button, info_note, join_id, join_names, note
from sentinel.notifier.silence import Change
from sentinel.notifier.tokens import TOKEN_LIFETIME_S


def silence_note(name: str, change: Change, down_since: datetime | None, now: datetime) -> dict[str, Any]:
    """To the kit's keepers: the monitor at ``name``'s is offline, back, or keeps dropping out."""
    folded = ""
    if change.drops and change.first is not None:
        times = "once" if change.drops == 1 else f"{change.drops} times"
        folded = f" It dropped out {times} since {change.first:%H:%M}."
    if change.state == "offline":
        silent = duration((now - change.since).total_seconds())
        text = (
            f"No sign from the monitor at {name}'s since {change.since:%H:%M} ({silent}).{folded}"
            " Check its power and network; until it is back, it cannot raise alerts."
        )
        return info_note(f"{name}'s monitor is offline", text, ("electric_plug",))
    if change.state == "unsteady":
        text = (
            f"The monitor at {name}'s keeps dropping out and coming back.{folded} While it is out it cannot raise"
            " alerts: check its power and network."
        )
        return info_note(f"{name}'s monitor keeps dropping out", text, ("electric_plug",))
    down_for = duration((change.since - down_since).total_seconds()) if down_since else "a while"
    text = f"The monitor at {name}'s is back at {change.since:%H:%M}, after {down_for} offline."
    return info_note(f"{name}'s monitor is back", text, ("white_check_mark",))


def broker_note(lost_at: datetime, now: datetime, back: bool) -> dict[str, Any]:
    """To every keeper: the notifier lost the broker the monitors talk to (and hears it again)."""
    if back:
        text = (
            f"The notifier hears the monitors again since {now:%H:%M}, after"
            f" {duration((now - lost_at).total_seconds())}. Alerts raised meanwhile are being sent now."
        )
        return info_note("sentinel hears the monitors again", text, ("white_check_mark",))
    text = (
        f"Since {lost_at:%H:%M} the notifier cannot reach the MQTT broker that the monitors send to. The monitors"
        " may be fine, but until it is back no alert reaches you and no monitor is watched. Ask whoever runs"
        " sentinel to look at the broker and the notifier's network."
    )
    return info_note("sentinel lost the broker", text, ("warning",), 4)


def parked_note(name: str, what: str, error: str, now: datetime) -> dict[str, Any]:
    """To the kit's keepers: a message from the monitor could not be read (it is kept in the records)."""
    text = (
        f"At {now:%H:%M} a message from the monitor at {name}'s could not be read ({error})."
        f" It may have been {what}: check on {name}. Whoever runs sentinel finds it with 'sentinel incidents'."
    )
    return info_note(f"sentinel could not read a message from {name}'s monitor", text, ("warning",), 4)


def consent_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, secret: bytes, now_ts: float, again: bool
) -> dict[str, Any]:
    """To a member a home's circle has not heard agree yet: will you look out for the resident?"""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    agree = button(circle, home, member, join_id(home.id), "I agree", "agree", secret, expires)
    message = (
        f"{home.name} has asked you to look out for them: to be told on this phone when something may be wrong at"
        f" home (unusually quiet, the help button), and to say 'I'm going' if you can. Tap 'I agree' if you are"
        f" willing. Until you do, the others in {home.name}'s circle are counted on first."
        " You are never sent a diary of anyone's day, only alerts."
    )
    if again:
        message = f"Reminder: you have not tapped 'I agree' yet. {message}"
    return note("consent", f"Will you look out for {home.name}?", message, tags=["handshake"], actions=[agree])


def agreed_note(home: HomeCircle) -> dict[str, Any]:
    """To a member who tapped 'I agree': what it means from now on."""
    text = (
        f"You are in {home.name}'s circle. If something may be wrong at home you are told here, with buttons to say"
        " you are going. When you are away, tell whoever set up the circle."
    )
    return info_note(f"{home.name}: thank you", text, ("handshake",))


def not_agreed_note(home: HomeCircle, names: list[str], asked: datetime) -> dict[str, Any]:
    """To a home's keepers, once per member: someone has not agreed to be counted on."""
    who = join_names(names)
    verb = "has" if len(names) == 1 else "have"
    text = (
        f"{who} {verb} not tapped 'I agree' on the request sent on {asked:%a %d %b}. Until they do, the others in"
        f" {home.name}'s circle are asked first and the circle does not wait for them. Their phone may not be"
        " subscribed to their topic: please check with them. They are reminded once a week."
    )
    return info_note(f"{home.name}'s circle: {who} {verb} not agreed yet", text, ("hourglass",))


def drill_note(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    drill_id: str,
    secret: bytes,
    now_ts: float,
    answer_by: datetime,
) -> dict[str, Any]:
    """The test notice: tap 'Received' so the circle knows this phone still rings."""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    received = button(circle, home, member, drill_id, "Received", "received", secret, expires)
    text = (
        "This is a test, nothing is wrong. Tap 'Received' so the circle knows your phone still gets sentinel's"
        f" notices. If you have not by {answer_by:%a %H:%M}, the circle's organisers are told your phone may not"
        " be receiving."
    )
    return note("drill", "sentinel test: please tap Received", text, tags=["bell"], actions=[received])


def drill_missed_note(home: HomeCircle, names: list[str], sent: datetime) -> dict[str, Any]:
    """To a home's keepers: members who did not answer a drill."""
    who = join_names(names)
    verb = "has" if len(names) == 1 else "have"
    text = (
        f"{who} {verb} not tapped 'Received' on the test notice of {sent:%a %d %b %H:%M}. Their phone may have"
        f" stopped getting sentinel's notices (app removed, notifications off, battery saving): an alert for"
        f" {home.name} might not reach them. Please check with them."
    )
    return info_note(f"{home.name}'s circle: {who} did not answer the test", text, ("warning",), 4)


def health_note(circle: CircleConfig, home: HomeCircle, members: list[MemberHealth], now: datetime) -> dict[str, Any]:
    """To a home's keepers, weekly: how its circle stands, in words (nothing about the resident's day)."""
    mine = [m for m in members if any(h.id == home.id for h, _ in m.homes)]
    sentences = [f"How {home.name}'s circle stands on {now:%a %d %b}."]
    if circle.consent == "required":
        agreed = [m.name for m in mine for h, c in m.homes if h.id == home.id and c and c.agreed_at]
        waiting = [
            f"{m.name} (asked {c.asked_at:%d %b})" if c and c.asked_at else m.name
            for m in mine
            for h, c in m.homes
            if h.id == home.id and not (c and c.agreed_at)
        ]
        if agreed:
            sentences.append(f"Agreed to be asked: {join_names(agreed)}.")
        if waiting:
            sentences.append(f"Not agreed yet: {join_names(waiting)}; the circle does not wait for them.")
    drilled = [m for m in mine if m.last_drill is not None]
    if drilled:
        answered = [m.name for m in drilled if m.last_drill and m.last_drill.answered_at]
        silent = [m.name for m in drilled if m.last_drill and m.last_drill.missed_at and not m.last_drill.answered_at]
        last = max(m.last_drill.sent_at for m in drilled if m.last_drill)
        said = f"At the last test notice ({last:%d %b}) "
        said += f"{join_names(answered)} answered" if answered else "nobody has answered yet"
        if silent:
            said += f"; {join_names(silent)} did not: their phone may not be receiving"
        sentences.append(said + ".")
    elif circle.drill is None:
        sentences.append("Test notices are off: nobody knows whether each phone still rings (see 'drill').")
    away = [f"{m.name} until {m.away_until}" for m in mine if m.away_until and now.date().isoformat() < m.away_until]
    if away:
        sentences.append(f"Away: {join_names(away)}.")
    heard = [f"{m.name} {m.last_press[0]:%d %b}" if m.last_press else f"{m.name} never" for m in mine]
    sentences.append(f"Last button pressed: {join_names(heard)}.")
    return info_note(f"{home.name}'s circle this week", " ".join(sentences), ("clipboard",), 2)
