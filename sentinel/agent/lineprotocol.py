"""InfluxDB line protocol: one point a line, with its own timestamp, so a point sent twice overwrites itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

Point = tuple[str, int]
"""A line of line protocol and its time in ms since the epoch."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch, exactly."""
    return (at - _EPOCH) // timedelta(milliseconds=1)


def hour_of(at: datetime) -> datetime:
    """The start of the local hour ``at`` falls in."""
    return at.replace(minute=0, second=0, microsecond=0)


def _escape(text: str) -> str:
    """A tag key, tag value or field key as line protocol wants it (a measurement name here needs the same)."""
    text = " ".join(text.splitlines()) or "-"  # a line is a point; an empty tag value is not allowed
    for char in ("\\", ",", "=", " "):
        text = text.replace(char, "\\" + char)
    return text


def line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, int | float], at: datetime) -> Point:
    """One point: ``measurement,tag=v field=1i <ms>``; tags sorted, as InfluxDB stores them."""
    tag_text = "".join(f",{_escape(k)}={_escape(v)}" for k, v in sorted(tags.items()))
    field_text = ",".join(
        f"{_escape(k)}={v}i" if isinstance(v, int) else f"{_escape(k)}={float(v)!r}" for k, v in fields.items()
    )
    ms = epoch_ms(at)
    return f"{_escape(measurement)}{tag_text} {field_text} {ms}", ms
