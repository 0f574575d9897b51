"""The words and buttons of each notification (pure: no network, no clock)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.detect.explain import duration
from sentinel.notifier.escalation import PRIORITY, Step
from sentinel.notifier.health import MemberHealth
from sentinel.notifier.silence import Change
from sentinel.notifier.store import Incident
from sentinel.notifier.tokens import TOKEN_LIFETIME_S, sign

TITLES = {
    "help": "pressed the help button",
    "inactivity": "unusually quiet",
    "not_up": "not up yet",
    "not_back": "not back home",
    "door_open": "front door open at night",
    "follow_up": "needs some help today",
}


def button(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    alert_id: str,
    label: str,
    action: str,
    secret: bytes,
    expires: int,
    note: str = "",
) -> dict[str, Any]:
    """An http action that posts a signed press of ``action`` to the ack topic (``note``: what it tells the others)."""
    body: dict[str, Any] = {
        "home": home.id,
        "alert_id": alert_id,
        "member": member.id,
        "action": action,
        "expires": expires,
        "token": sign(secret, home.id, alert_id, member.id, action, expires),
    }
    if note:
        body["note"] = note
    return {
        "action": "http",
        "label": label,
        "url": f"{circle.ntfy.server.rstrip('/')}/{circle.ntfy.ack_topic}",
        "method": "POST",
        "body": json.dumps(body),
        "clear": True,
    }


def alert_note(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    incident: Incident,
    step: Step,
    secret: bytes,
    now_ts: float,
    helpers: str = "",
) -> dict[str, Any]:
    """The alert as one member sees it, with signed buttons (``helpers``: who else can do what, one line)."""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    actions = [
        button(circle, home, member, incident.alert_id, "I'm going", "claim", secret, expires),
        button(circle, home, member, incident.alert_id, "I called, all OK", "resolve", secret, expires),
    ]
    click = None
    if circle.ntfy.incident_url:
        click = circle.ntfy.incident_url.replace("{alert_id}", incident.alert_id)
        actions.append({"action": "view", "label": "Incident", "url": click})
    title = f"{home.name}: {TITLES.get(incident.kind, incident.kind.replace('_', ' '))}"
    message = incident.reason
    priority = PRIORITY.get(incident.severity, 3)
    tags = ["sos"] if incident.kind == "help" else ["warning"]
    if step.final and incident.severity != "low":
        title = f"URGENT, nobody is going yet. {title}"
        priority, tags = 5, [*tags, "rotating_light"]
        if home.last_resort:
            # The loudest message says plainly what to do when nobody can go.
            message = f"{message} If you cannot reach {home.name}, call {home.last_resort.call}."
    elif step.round > 0 or step.final:
        message = f"Reminder: nobody has said they are going yet. {message}"
    if helpers:
        message = f"{message}\n{helpers}"
    return {
        "kind": "alert",
        "title": title,
        "message": message,
        "priority": priority,
        "tags": tags,
        "click": click,
        "actions": actions,
    }


def going_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """To the one who said 'I'm going': the others know; a way back if they cannot go after all."""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    alert_id = incident.alert_id
    # ntfy carries at most three buttons: arriving, being with the resident, and the way back.
    actions = [
        button(circle, home, member, alert_id, "I'm there", "on_scene", secret, expires),
        button(circle, home, member, alert_id, f"With {home.name}", "with", secret, expires),
        button(circle, home, member, alert_id, "I can't go after all", "release", secret, expires),
    ]
    return {
        "kind": "going",
        "title": f"{home.name}: you are going",
        "message": (
            f"Thank you. The others know you are on your way to {home.name}. Tap 'I'm there' when you arrive and"
            f" 'With {home.name}' when you are with them: the others are told. If you cannot go after all, tap"
            " 'I can't go after all': the others are told, and the circle is asked again from where it was."
        ),
        "priority": 3,
        "tags": ["runner"],
        "click": None,
        "actions": actions,
    }


def with_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """To the one who said they are with the resident: the others know; 'All OK' closes the alert."""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    said = f"{member.name} is with {home.name}: all is well."
    actions = [button(circle, home, member, incident.alert_id, "All OK", "resolve", secret, expires, said)]
    return {
        "kind": "confirm",
        "title": f"{home.name}: you are with them",
        "message": f"The others know you are with {home.name}. When all is well, tap 'All OK' to close the alert.",
        "priority": 3,
        "tags": ["handshake"],
        "click": None,
        "actions": actions,
    }


def released_note(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    incident: Incident,
    who: str,
    secret: bytes,
    now_ts: float,
) -> dict[str, Any]:
    """To those already told: the one going cannot after all; fresh buttons, since theirs may be spent."""
    note = alert_note(circle, home, member, incident, Step(0, (), False, 0), secret, now_ts)
    title = TITLES.get(incident.kind, incident.kind.replace("_", " "))
    return {
        **note,
        "title": f"{home.name}: {who} cannot go after all",
        "message": f"Nobody is going to {home.name} now. Can you? ({title}: {incident.reason})",
    }


def confirm_note(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    incident: Incident,
    seen: str,
    secret: bytes,
    now_ts: float,
) -> dict[str, Any]:
    """To the one who is going: the sensors saw movement; only they can say all is well."""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    said = f"{member.name} is with {home.name}: all is well."
    actions = [button(circle, home, member, incident.alert_id, "All OK", "resolve", secret, expires, said)]
    return {
        "kind": "confirm",
        "title": f"{home.name}: movement at home",
        "message": (
            f"{seen} That may be you. When you are with {home.name} and all is well, tap 'All OK'."
            " Until then the alert stays open."
        ),
        "priority": 4,
        "tags": ["eyes"],
        "click": None,
        "actions": actions,
    }


def last_resort_note(home: HomeCircle, incident: Incident, address: str, call: str) -> dict[str, Any]:
    """The e-mail (through ntfy) when nobody is going after the final call; its copy goes to a keeper's phone."""
    title = TITLES.get(incident.kind, incident.kind.replace("_", " "))
    text = (
        f"sentinel, which looks out for {home.name}: nobody in {home.name}'s circle has said they are going, after"
        f" the final call to all of them. {title.capitalize()}: {incident.reason} Please check on {home.name} now."
        f" If you cannot reach {home.name}, call {call}. (This e-mail went to {address}.)"
    )
    note = info_note(f"{home.name}: nobody is going, please check on them", text, ("rotating_light",), 5)
    return {**note, "kind": "last_resort", "email": address}


def info_note(
    title: str, message: str, tags: tuple[str, ...] = ("information_source",), priority: int = 3
) -> dict[str, Any]:
    """A notice without buttons: someone is going, it is resolved, the monitor is offline."""
    return {
        "kind": "info",
        "title": title,
        "message": message,
        "priority": priority,
        "tags": list(tags),
        "click": None,
        "actions": [],
    }


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
    return {
        "kind": "consent",
        "title": f"Will you look out for {home.name}?",
        "message": message,
        "priority": 3,
        "tags": ["handshake"],
        "click": None,
        "actions": [agree],
    }


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


FOLLOW_UP_SAID = {
    "fine": "{home} is fine today, says {who}.",
    "needs_help": "{who} says {home} needs some help today: can you help?",
    "call_me": "{who} would like a call about how {home} is today.",
}


def follow_up_ask_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """The morning after an incident, to the one who went: how is the resident today?"""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    alert_id = incident.alert_id
    actions = [
        button(circle, home, member, alert_id, "Fine", "fine", secret, expires),
        button(circle, home, member, alert_id, "Needs help", "needs_help", secret, expires),
        button(circle, home, member, alert_id, "Call me", "call_me", secret, expires),
    ]
    title = TITLES.get(incident.kind, incident.kind.replace("_", " "))
    text = (
        f"After yesterday's alert ({title}), how is {home.name} today? Your answer goes to the others in one line."
        f" 'Needs help' asks the circle who can help; 'Call me' asks them to ring you."
    )
    return {
        "kind": "follow_up",
        "title": f"How is {home.name} today?",
        "message": text,
        "priority": 3,
        "tags": ["seedling"],
        "click": None,
        "actions": actions,
    }


def follow_up_said(home: HomeCircle, who: str, answer: str) -> str:
    """The one line the circle is told of an answer."""
    return FOLLOW_UP_SAID[answer].format(home=home.name, who=who)


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
    return {
        "kind": "drill",
        "title": "sentinel test: please tap Received",
        "message": text,
        "priority": 3,
        "tags": ["bell"],
        "click": None,
        "actions": [received],
    }


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
    return {
        "kind": "check",
        "title": f"Are you all right, {home.name}?",
        "message": text,
        "priority": 4,
        "tags": ["wave"],
        "click": None,
        "actions": [ok],
    }


def resident_today_note(
    circle: CircleConfig, home: HomeCircle, resident: MemberConfig, day_id: str, secret: bytes, expires: int
) -> dict[str, Any]:
    """To the resident, once a day if they chose it: a gentle way to check in."""
    ok = button(circle, home, resident, day_id, "I'm OK today", "ok_today", secret, expires)
    text = (
        "If you like, tap 'I'm OK today' to let your circle know all is well. Nothing happens if you don't:"
        " this is only a note. The button works until midnight."
    )
    return {
        "kind": "today",
        "title": f"Hello {home.name}",
        "message": text,
        "priority": 2,
        "tags": ["sunny"],
        "click": None,
        "actions": [ok],
    }


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
"""What a press of the resident's 'I'm OK' (or 'I'm OK today') did, as the thank-you says it."""

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
) -> str:
    """One home in a member's daily note, in words: its state, today's alerts, the last movement reported.

    ``alerts``: today's alerts as (kind, raised at, closed). Never a list of rooms or visits.
    """
    well = offline_since is None and state in ("ok", "learning") and all(closed for _, _, closed in alerts)
    parts = []
    if offline_since is not None:
        parts.append(f"the monitor is offline since {offline_since:%H:%M}")
    elif state is None:
        parts.append("no word from the monitor yet")
    elif not well or state == "learning":
        parts.append(STATE_WORDS.get(state, state).format(name=name))
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
    return {
        "kind": "availability",
        "title": "sentinel: are you around?",
        "message": text,
        "priority": 2,
        "tags": ["calendar"],
        "click": None,
        "actions": actions,
    }


def join_id(home_id: str) -> str:
    """The alert_id slot of a home's 'I agree' button."""
    return f"join-{home_id}"


def join_names(names: list[str]) -> str:
    """'Ann', 'Ann and Bob', 'Ann, Bob and Carol'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


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
