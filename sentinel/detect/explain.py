"""Say why a quiet spell is unusual, in a sentence a neighbour understands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinel.detect.routine import RoutineModel, bin_of


@dataclass(frozen=True, slots=True)
class Place:
    """How to name where the person last was."""

    sensor: str
    kind: str
    room: str | None

    def words(self, value: int | None) -> str:
        room = f" in the {self.room}" if self.room else ""
        if self.kind == "motion":
            return f"movement{room}"
        if self.kind == "pressure":
            return f"the {self.sensor.replace('_', ' ')} ({'occupied' if value else 'left'})"
        if self.kind == "door":
            return "the front door"
        if self.kind == "button":
            return "the help button"
        return f"the {self.sensor.replace('_', ' ')}{room}"


def duration(seconds: float) -> str:
    """'2 h 48 min', '35 min'."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def explain(
    name: str,
    start: datetime,
    now: datetime,
    context: str,
    place: Place,
    value: int | None,
    line_s: float,
    model: RoutineModel | None,
    outing: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The reason sentence and the figures behind it."""
    quiet = (now - start).total_seconds()
    if outing:
        reason = f"{name} went out at {start:%H:%M} and is not back after {duration(quiet)}."
    else:
        reason = (
            f"No sign of activity since {start:%H:%M} ({duration(quiet)}); "
            f"{name} was last noticed by {place.words(value)}."
        )
    facts: dict[str, Any] = {
        "last_activity": start.isoformat(timespec="seconds"),
        "quiet_min": round(quiet / 60),
        "line_min": round(line_s / 60),
        "context": context,
        "learning": model is None,
    }
    if model is None:
        reason += f" The routine is still being learned; the alert came after the default {duration(line_s)}."
        return reason, facts
    longest = model.longest.get(context)
    longest_s = float(longest[bin_of(start)]) if longest is not None else 0.0
    days = round(model.days)
    facts["longest_usual_min"] = round(longest_s / 60)
    facts["days_learned"] = days
    if longest_s > 0:
        what = "outings" if outing else "such quiet spells"
        reason += f" At this time of day {what} have lasted at most {duration(longest_s)} in the last {days} days."
    night = model.night
    if night is not None and model.in_night(start):
        facts["usually_up_by"] = _clock(night.usually_up)
        facts["latest_up"] = _clock(night.up_by)
        reason += (
            f" {name} is usually up by {_clock(night.usually_up)}; the latest in {days} days was {_clock(night.up_by)}."
        )
    return reason, facts


def _clock(seconds_after_noon: float) -> str:
    minutes = int((seconds_after_noon / 60 + 12 * 60) % (24 * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
