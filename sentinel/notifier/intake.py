"""What the notifier accepts from a home's monitor: sizes, encodings, fields and times, checked where they enter.

An alert that can be understood is taken even if some of it is odd (an unreadable
character, a time that is not a time): it is a call for help. A message that cannot
be understood at all is parked (see ``NotifierStore.park``), never retried.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, get_args

from sentinel.core.alerts import Severity
from sentinel.core.protocol import ALERT_ID, ALERT_KINDS, believable
from sentinel.notifier.notification import MESSAGE_LIMIT, tidy

SEVERITIES: tuple[str, ...] = get_args(Severity)  # critical, high, normal, low

MAX_PAYLOAD = 16 * 1024  # an alert is well under 2 kB; this leaves room and keeps memory bounded
# Over MQTT 5 the broker is asked to send nothing larger (it drops it instead): between the two,
# a message is parked and told; beyond, it never costs the notifier memory.
MAX_PACKET = 2 * 1024 * 1024  # above the 1 MB install.md has the broker refuse: none is dropped (mqtt/probe.py)
KIND_LIMIT = 64  # the kind names the alert in its title
NO_REASON = "The monitor gave no reason that can be shown."
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unreadable(ValueError):
    """A message that cannot be used: why, in a few words."""


def decode(payload: bytes) -> dict[str, Any]:
    """A JSON object from an MQTT payload; Unreadable if too large, not UTF-8, not JSON, too deep or not an object."""
    if len(payload) > MAX_PAYLOAD:
        raise Unreadable(f"too large: {len(payload):,} bytes, the most taken is {MAX_PAYLOAD:,}")
    try:
        body = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise Unreadable("nested too deeply") from None
    except ValueError as exc:
        raise Unreadable(f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise Unreadable("not a JSON object")
    return body


def read_alert(body: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[str]]:
    """The alert as it is stored, and what had to be mended on the way in; Unreadable if it is not an alert."""
    if not isinstance(body.get("alert_id"), str):  # without it, it cannot be told apart nor answered
        raise Unreadable("an alert without an alert_id")
    if not ALERT_ID.match(body["alert_id"]):
        raise Unreadable(f"an unusable alert_id {body['alert_id']:.80}")
    notes = []
    try:
        text = json.dumps(body, ensure_ascii=False)
    except RecursionError:
        raise Unreadable("nested too deeply") from None
    if _SURROGATE.search(text):
        # A lone surrogate ("\ud800") is valid JSON but not text: SQLite and ntfy cannot carry it.
        body = json.loads(_SURROGATE.sub("\ufffd", text))
        notes.append("unreadable characters were replaced by \ufffd")
    alert = dict(body)
    for key in ("reason", "kind", "severity"):  # garbled or left out: mended below, the alert still goes
        if not isinstance(alert.get(key), str):
            notes.append(f"{key} {alert.get(key)!r:.40} is not text")
            alert[key] = ""
    # What reaches a phone, a log line or a terminal: control and bidirectional characters dropped.
    alert["reason"] = tidy(alert["reason"], MESSAGE_LIMIT) or NO_REASON
    alert["kind"] = tidy(alert["kind"], KIND_LIMIT) or "alert"
    severity = tidy(alert["severity"], KIND_LIMIT)
    if severity not in SEVERITIES:
        # Garbled on the way: the kind's own (a help press is always urgent), else loud rather than quiet.
        alert["severity"] = ALERT_KINDS.get(alert["kind"], "high")
        notes.append(f"an unknown severity {severity!r} was read as {alert['severity']!r}")
    else:
        alert["severity"] = severity
    raised, note = raised_at(body.get("raised_at"), now)
    alert["raised_at"] = raised
    if note:
        notes.append(note)
    return alert, notes


def raised_at(value: Any, now: datetime) -> tuple[str, str | None]:
    """``value`` as a stored time (ISO 8601 with a UTC offset); else the time it arrived, and a note saying so."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if when.tzinfo is not None and when.utcoffset() is not None and believable(when):
                return when.isoformat(), None
    return now.isoformat(), (
        f"raised_at {value!r:.60} is not a time with a UTC offset between 2000 and 2099; the time it arrived is used"
    )
