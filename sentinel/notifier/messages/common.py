"""What every notification shares: the alert titles, the signed buttons, a plain notice, names in a list."""

from __future__ import annotations

import json
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
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


def buttons(
    circle: CircleConfig,
    home: HomeCircle,
    member: MemberConfig,
    alert_id: str,
    secret: bytes,
    now_ts: float,
    *choices: tuple[str, str],
) -> list[dict[str, Any]]:
    """Signed buttons, one per (label, action), all about ``alert_id`` and working for two days from ``now_ts``."""
    expires = int(now_ts + TOKEN_LIFETIME_S)
    return [button(circle, home, member, alert_id, label, action, secret, expires) for label, action in choices]


def note(
    kind: str,
    title: str,
    message: str,
    priority: int = 3,
    tags: list[str] | tuple[str, ...] = (),
    actions: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    click: str | None = None,
) -> dict[str, Any]:
    """A notification as the delivery thread takes it: what it is, its words, how loud, its buttons."""
    return {
        "kind": kind,
        "title": title,
        "message": message,
        "priority": priority,
        "tags": list(tags),
        "click": click,
        "actions": list(actions),
    }


def info_note(
    title: str, message: str, tags: tuple[str, ...] = ("information_source",), priority: int = 3
) -> dict[str, Any]:
    """A notice without buttons: someone is going, it is resolved, the monitor is offline."""
    return note("info", title, message, priority, tags)


def join_id(home_id: str) -> str:
    """The alert_id slot of a home's 'I agree' button."""
    return f"join-{home_id}"


def join_names(names: list[str]) -> str:
    """'Ann', 'Ann and Bob', 'Ann, Bob and Carol'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
