"""The words and buttons of each notification (pure: no network, no clock)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.detect.explain import duration
from sentinel.notifier.escalation import PRIORITY, Step
from sentinel.notifier.silence import Change
from sentinel.notifier.store import Incident
from sentinel.notifier.tokens import TOKEN_LIFETIME_S, sign

TITLES = {
    "help": "pressed the help button",
    "inactivity": "unusually quiet",
    "not_up": "not up yet",
    "not_back": "not back home",
    "door_open": "front door open at night",
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
