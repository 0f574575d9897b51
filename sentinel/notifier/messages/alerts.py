"""The words of an incident: the alert, "you are going", on scene, released, confirm, last resort, follow-up."""

from __future__ import annotations

from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.notifier.escalation import PRIORITY, Step
from sentinel.notifier.messages.common import TITLES, button, buttons, info_note, note
from sentinel.notifier.store import Incident
from sentinel.notifier.tokens import TOKEN_LIFETIME_S


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
    choices = ("I'm going", "claim"), ("I called, all OK", "resolve"), ("I can't go", "decline")
    actions = buttons(circle, home, member, incident.alert_id, secret, now_ts, *choices)
    # ntfy shows three buttons at most: the incident page opens on a tap of the notification itself.
    click = circle.ntfy.incident_url.replace("{alert_id}", incident.alert_id) if circle.ntfy.incident_url else None
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
    return note("alert", title, message, priority=priority, tags=tags, actions=actions, click=click)


def going_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """To the one who said 'I'm going': the others know; a way back if they cannot go after all."""
    # ntfy carries at most three buttons: arriving, being with the resident, and the way back.
    choices = ("I'm there", "on_scene"), (f"With {home.name}", "with"), ("I can't go after all", "release")
    actions = buttons(circle, home, member, incident.alert_id, secret, now_ts, *choices)
    return note(
        "going",
        f"{home.name}: you are going",
        f"Thank you. The others know you are on your way to {home.name}. Tap 'I'm there' when you arrive and"
        f" 'With {home.name}' when you are with them: the others are told. If you cannot go after all, tap"
        " 'I can't go after all': the others are told, and the circle is asked again from where it was.",
        tags=["runner"],
        actions=actions,
    )


def with_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """To the one who said they are with the resident: the others know; 'All OK' closes the alert."""
    actions = [all_ok(circle, home, member, incident, secret, now_ts)]
    return note(
        "confirm",
        f"{home.name}: you are with them",
        f"The others know you are with {home.name}. When all is well, tap 'All OK' to close the alert.",
        tags=["handshake"],
        actions=actions,
    )


def all_ok(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """'All OK' for the one who is with the resident: it closes the alert and says so to the others."""
    said = f"{member.name} is with {home.name}: all is well."
    return button(
        circle, home, member, incident.alert_id, "All OK", "resolve", secret, int(now_ts + TOKEN_LIFETIME_S), said
    )


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
    actions = [all_ok(circle, home, member, incident, secret, now_ts)]
    return note(
        "confirm",
        f"{home.name}: movement at home",
        f"{seen} That may be you. When you are with {home.name} and all is well, tap 'All OK'."
        " Until then the alert stays open.",
        priority=4,
        tags=["eyes"],
        actions=actions,
    )


def last_resort_note(home: HomeCircle, incident: Incident, address: str, call: str) -> dict[str, Any]:
    """The e-mail (through ntfy) when nobody is going after the final call; its copy goes to a keeper's phone."""
    title = TITLES.get(incident.kind, incident.kind.replace("_", " "))
    text = (
        f"sentinel, which looks out for {home.name}: nobody in {home.name}'s circle has said they are going, after"
        f" the final call to all of them. {title.capitalize()}: {incident.reason} Please check on {home.name} now."
        f" If you cannot reach {home.name}, call {call}.{SENT_TO.format(address=address)}"
    )
    note = info_note(f"{home.name}: nobody is going, please check on them", text, ("rotating_light",), 5)
    return {**note, "kind": "last_resort", "email": address}


SENT_TO = " (This e-mail went to {address}.)"


def without_email(body: dict[str, Any], why: str) -> dict[str, Any]:
    """An e-mail's notification that ntfy would not e-mail: its push alone, saying the e-mail was not sent."""
    address = body["email"]
    text = body["message"].removesuffix(SENT_TO.format(address=address))
    text += f" The e-mail to {address} was not sent ({why})."
    return {**{k: v for k, v in body.items() if k != "email"}, "message": text}


FOLLOW_UP_SAID = {
    "fine": "{home} is fine today, says {who}.",
    "needs_help": "{who} says {home} needs some help today: can you help?",
    "call_me": "{who} would like a call about how {home} is today.",
}


def call_me_note(home: HomeCircle, member: MemberConfig | None, name: str, said: str) -> dict[str, Any]:
    """To the keepers and those told: the one who went would like a call (with their number, if the circle has it)."""
    title = f"{home.name}: {name} asks for a call"
    if member is None or not member.phone:
        return info_note(title, said, ("telephone_receiver",))
    dial = "tel:" + "".join(c for c in member.phone if c.isdigit() or c == "+")
    actions = [{"action": "view", "label": f"Call {name}"[:40], "url": dial}]
    message = f"{said} {name}'s number: {member.phone}."
    return note("info", title, message, tags=("telephone_receiver",), actions=actions)


def follow_up_ask_note(
    circle: CircleConfig, home: HomeCircle, member: MemberConfig, incident: Incident, secret: bytes, now_ts: float
) -> dict[str, Any]:
    """The morning after an incident, to the one who went: how is the resident today?"""
    choices = ("Fine", "fine"), ("Needs help", "needs_help"), ("Call me", "call_me")
    actions = buttons(circle, home, member, incident.alert_id, secret, now_ts, *choices)
    title = TITLES.get(incident.kind, incident.kind.replace("_", " "))
    text = (
        f"After yesterday's alert ({title}), how is {home.name} today? Your answer goes to the others in one line."
        f" 'Needs help' asks the circle who can help; 'Call me' asks them to ring you."
    )
    return note("follow_up", f"How is {home.name} today?", text, tags=["seedling"], actions=actions)


def follow_up_said(home: HomeCircle, who: str, answer: str) -> str:
    """The one line the circle is told of an answer."""
    return FOLLOW_UP_SAID[answer].format(home=home.name, who=who)
