"""Signed acknowledgement tokens: one per alert (or join, or drill), member and action, with an expiry.

Reading a notification (or its topic) shows the buttons' bodies, but without
the notifier's key nobody can make a token for another alert, member or action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sentinel.notifier.notification import NOTE_LIMIT, tidy
from sentinel.text import clean

# "on_scene" and "with": the one going says they are there, and with the resident; "decline": 'I can't go'.
INCIDENT_ACTIONS = ("claim", "resolve", "release", "on_scene", "with", "decline")
# The answers to "How is Mary today?" after an incident (the alert_id slot holds the incident's).
FOLLOW_UP_ACTIONS = ("fine", "needs_help", "call_me")
# A member's own answers, outside any incident: "I agree" to join a home's circle, "Received" to a drill.
# Their alert_id slot holds "join-<home>" or "drill-<day>".
# Checking in: the resident's 'I'm OK' when asked ("check-<since>") and 'I'm OK today' ("today-<day>"); a
# member's 'Away until ...' ("away-<date>": the date is signed with it) and 'Back' ("back-<day>").
CHECKIN_ACTIONS = ("ok", "ok_today", "away", "back")
MEMBER_ACTIONS = ("agree", "received", *CHECKIN_ACTIONS)
ACTIONS = INCIDENT_ACTIONS + MEMBER_ACTIONS + FOLLOW_UP_ACTIONS
TOKEN_LIFETIME_S = 48 * 3600  # a button works for two days after its notification
# The notifier signs every token for TOKEN_LIFETIME_S from when it sends it; a little more allows for
# the clock being set back a few minutes. A later expiry was not made by this notifier's rules.
EXPIRY_MARGIN_S = 600
FIELD_LIMIT = 200  # a press's ids, names and token: far longer than any the notifier makes


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

    @classmethod
    def read(cls, body: dict[str, Any], home: str | None = None, alert_id: str | None = None) -> Ack:
        """A press from its JSON fields (``home`` and ``alert_id`` when the topic gives them); ValueError if malformed.

        The action is ``action`` in a button's body and ``what`` on the MQTT ack topic.
        """
        try:
            # Cleaned as they come: they are logged (a refusal names them) and stored before the token is checked.
            return cls(
                clean(str(home if home is not None else body["home"]), FIELD_LIMIT),
                clean(str(alert_id if alert_id is not None else body["alert_id"]), FIELD_LIMIT),
                clean(str(body["member"]), FIELD_LIMIT),
                clean(str(body["action"] if "action" in body else body["what"]), FIELD_LIMIT),
                int(body["expires"]),
                clean(str(body["token"]), FIELD_LIMIT),
                tidy(str(body.get("note", "")), NOTE_LIMIT),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"not a button press: {exc}") from None

    @classmethod
    def parse(cls, text: str) -> Ack:
        """A press as the ntfy message text a button posted; ValueError if malformed."""
        try:
            body = json.loads(text)
        except RecursionError:
            raise ValueError("nested too deeply") from None
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return cls.read(body)


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
    # compare_digest refuses str with characters beyond ASCII (a TypeError): no token of ours has any.
    if not ack.token.isascii() or not hmac.compare_digest(expected, ack.token):
        return "forged token"
    if now > ack.expires:
        return "expired token"
    if ack.expires > now + TOKEN_LIFETIME_S + EXPIRY_MARGIN_S:
        return "expiry too far ahead"
    return None
