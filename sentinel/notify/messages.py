"""The words and buttons of each notification (pure: no network, no clock)."""

from __future__ import annotations

import json
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.notify.escalation import PRIORITY, Step
from sentinel.notify.store import Incident
from sentinel.notify.tokens import sign

TITLES = {
    "help": "pressed the help button",
    "inactivity": "unusually quiet",
    "not_up": "not up yet",
    "not_back": "not back home",
    "door_open": "front door open at night",
}
TOKEN_LIFETIME_S = 48 * 3600


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
) -> dict[str, Any]:
    """The alert as one member sees it, with signed buttons."""
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
    if step.final:
        title = f"URGENT, nobody is going yet. {title}"
        priority, tags = 5, [*tags, "rotating_light"]
    elif step.round > 0:
        message = f"Reminder: nobody has said they are going yet. {message}"
    return {
        "kind": "alert",
        "title": title,
        "message": message,
        "priority": priority,
        "tags": tags,
        "click": click,
        "actions": actions,
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
