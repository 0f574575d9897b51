"""Checks of one config value each: names, topic parts, ranges, times of day, days and addresses."""

from __future__ import annotations

import re
from collections.abc import Callable

from sentinel.config.schema import Seconds, _show

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _slug(value: str) -> str | None:
    if not _SLUG.match(value):
        return f"{value!r} must be 1-40 lower-case letters, digits, '-' or '_'"
    return None


def _topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "#+\0") or value.startswith("/") or value.endswith("/"):
        return f"{value!r} is not a usable MQTT topic prefix"
    return None


def _friendly_name(value: str) -> str | None:
    if not value.strip() or any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/"):
        return f"{value!r} is not a zigbee2mqtt friendly name that can be a topic"
    return None


def _between(low: float, high: float, what: str = "") -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        if low <= value <= high:
            return None
        if isinstance(value, Seconds):
            # A duration is shown as one, so '10m' is not answered with '600'.
            return f"{_show(value)} is {what or 'out of range'} ({_show(Seconds(low))}-{_show(Seconds(high))})"
        return f"{value:g} is {what or 'out of range'} ({low:g}-{high:g})"

    return check


_CLOCK = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: str) -> str | None:
    return None if _CLOCK.match(value) else f"{value!r} is not a time of day like '07:30'"


def _days(value: list[str]) -> str | None:
    wrong = [d for d in value if d not in DAYS]
    return f"{', '.join(map(repr, wrong))}: days are {', '.join(DAYS)}" if wrong else None


def _http_url(value: str) -> str | None:
    if not re.match(r"^https?://[^/\s]+", value):
        return f"{value!r} is not an http:// or https:// address, e.g. http://nas.local:8086"
    return None
