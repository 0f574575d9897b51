"""Signed acknowledgement tokens: one per alert, member and action, with an expiry.

Reading a notification (or its topic) shows the buttons' bodies, but without
the notifier's key nobody can make a token for another alert, member or action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

ACTIONS = ("claim", "resolve")


@dataclass(frozen=True, slots=True)
class Ack:
    """A button press, as it arrives."""

    home: str
    alert_id: str
    member: str
    action: str
    expires: int  # unix seconds
    token: str
    note: str = ""


def sign(secret: bytes, home: str, alert_id: str, member: str, action: str, expires: int) -> str:
    """The token for this alert, member and action, valid until ``expires``."""
    message = f"{home}|{alert_id}|{member}|{action}|{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def check(secret: bytes, ack: Ack, now: float) -> str | None:
    """Why ``ack`` is refused, or None when it is genuine and current."""
    if ack.action not in ACTIONS:
        return f"unknown action {ack.action!r}"
    expected = sign(secret, ack.home, ack.alert_id, ack.member, ack.action, ack.expires)
    if not hmac.compare_digest(expected, ack.token):
        return "forged token"
    if now > ack.expires:
        return "expired token"
    return None
