"""Say why a quiet spell is unusual, in a sentence a neighbour understands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sentinel.detect.contexts import arrival
from sentinel.detect.lines import Limit, RoutineModel, bin_of
from sentinel.detect.wallclock import naive


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
    """'2 h 48 min', '35 min', '30 s' (never '0 min')."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def budget_words(per_month: float) -> str:
    """'about one false alert a month', 'about 3 false alerts a month', 'about one false alert every 2 months'."""
    if per_month < 1 and abs(1 / per_month - round(1 / per_month)) < 0.05:
        return f"about one false alert every {round(1 / per_month)} months"
    return "about one false alert a month" if per_month == 1 else f"about {per_month:g} false alerts a month"


DETECTION_OFF = (
    "Inactivity detection is off in this home's config (detection.enabled: false): quiet raises no alert, whatever"
    " the routine below."
)


def _about(rounded: float, noun: bool = False) -> str:
    """'about 1', 'about 2.5', 'about 6'; nothing: 'almost no' before a noun, else 'almost none'."""
    if rounded == 0:
        return "almost no" if noun else "almost none"
    return f"about {rounded:g}"


def expected_words(model: RoutineModel, by_rooms: float = 0.0) -> str:
    """What the learned waits will cost a month: the false alerts they are drawn for, and those the ceilings force.

    ``by_rooms``: how many more a month the rooms' own limits in the config force (``forced_by_rooms``; the
    model knows nothing of them).
    """
    spent, forced_raw = model.expected_per_month - model.forced_per_month, max(model.forced_per_month + by_rooms, 0)
    # A carer's "about": the total to halves below 3 a month, to whole numbers above; the ceilings' part always to
    # halves (so that a quarter a month is told), and the waits' part what is left, so that the parts add up.
    step = 1.0 if spent + forced_raw >= 3 else 0.5
    forced = math.floor(forced_raw * 2 + 0.5) / 2
    total = max(math.floor((spent + forced_raw) / step + 0.5) * step, forced)
    drawn = total - forced
    alerts = f"{_about(total, noun=True)} {'false alert' if total == 1 else 'false alerts'} a month"
    budget = model.params.false_alerts_per_month
    # The floor can keep the waits from spending the whole budget (a large one): say so, not a contradiction.
    short = f", which the {duration(model.params.floor_s)} floor keeps them from reaching" if spent < budget / 2 else ""
    if forced == 0:  # under a quarter a month: not worth a carer's attention
        return f"With these waits, expect {alerts} (drawn for {budget:g} a month{short})."
    ceiling, door = (
        f"{s / 3600:g} h" if s % 3600 == 0 else duration(s)
        for s in (model.params.ceiling_s, model.params.door_ceiling_s)
    )
    rooms = ", or a room's own" if by_rooms > 0 else ""
    # The budget is spent on the waits; spells longer than the ceilings alert whatever the waits, so a home whose
    # history has them (days away without away mode, a kit that fell silent, a ceiling shorter than a night's sleep)
    # gets more than it was set for.
    return (
        f"With these waits, expect {alerts}: {_about(drawn)} from the waits themselves (drawn for {budget:g} a"
        f" month{short}) and {_about(forced)} from quiet spells longer than a ceiling ({ceiling} at home, {door}"
        f" after the front door{rooms}), which alert whatever the routine. If such spells in this history were days"
        " away, setting the monitor to away before going away spares those alerts; if they were ordinary nights, or"
        " ordinary time in a room with a short ceiling, the ceiling is shorter than the resident's habits."
    )


def explain(
    name: str,
    start: datetime,
    now: datetime,
    context: str,
    place: Place,
    value: int | None,
    limit: Limit,
    model: RoutineModel | None,
    outing: bool = False,
    asks_first: bool = False,
    learn_days: float = 7.0,
    counted_from: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The reason sentence and the figures behind it.

    It says what happened, where the alert line sits for this place and time of
    day, and why it sits there. ``asks_first``: the resident is asked before the
    circle is told (the caller says how that went). ``learn_days``: how long the
    warm-up lasts. ``counted_from``: what the quiet is counted from at ``start``
    when it is not a sign ("the all clear").
    """
    quiet = (now - start).total_seconds()
    if counted_from is not None:  # the sign before it came before an alert that was closed: not when this began
        after = f"{duration(quiet)} after {counted_from} at {start:%H:%M}"
        if outing:
            reason = f"{capital(name)} is not back from going out {after}."
        else:
            reason = f"No sign of activity {after}; {name} was last noticed by {place.words(value)}."
    elif outing:
        reason = f"{capital(name)} went out at {start:%H:%M} and is not back after {duration(quiet)}."
    else:
        reason = (
            f"No sign of activity since {start:%H:%M} ({duration(quiet)}); "
            f"{name} was last noticed by {place.words(value)}."
        )
    facts: dict[str, Any] = {
        "last_activity": start.isoformat(timespec="seconds"),
        "quiet_min": round(quiet / 60),
        "line_min": round(limit.seconds / 60) if math.isfinite(limit.seconds) else None,
        "line_cause": limit.cause,
        "context": context,
        "learning": model is None,
    }
    if counted_from is not None:
        facts["counted_from"] = counted_from
    if limit.room is not None:
        facts["room"] = limit.room
    if model is not None:
        longest = model.longest.get(context)
        longest_s = float(longest[bin_of(start)]) if longest is not None else 0.0
        # None, not 0, when no such spell was seen at this time of day: nothing is known.
        facts["longest_usual_min"] = round(longest_s / 60) if longest_s >= 60 else None
        facts["days_learned"] = round(model.days)
        facts["false_alerts_per_month"] = model.params.false_alerts_per_month
        night = model.night
        if night is not None and not outing and model.in_night(start):
            facts["usually_up_by"] = clock_after_noon(night.usually_up)
            facts["latest_up"] = clock_after_noon(night.up_by)
            reason += (
                f" {capital(name)} is usually up by {clock_after_noon(night.usually_up)}; "
                f"the latest in {_days(model.days)} was {clock_after_noon(night.up_by)}."
            )
    if limit.cause == "stray" and limit.since is not None:
        facts["went_out"] = limit.since.isoformat(timespec="seconds")
    line = _line_sentence(name, place, value, limit, model, outing, asks_first, learn_days, start, arrival(context))
    return f"{reason} {line}", facts


def _line_sentence(
    name: str,
    place: Place,
    value: int | None,
    limit: Limit,
    model: RoutineModel | None,
    outing: bool,
    asks_first: bool,
    learn_days: float,
    start: datetime | None = None,
    came_in: bool = False,
) -> str:
    """Where the alert line sits, and why, in a neighbour's words (``came_in``: after the door, she came in)."""
    verb = f"checks on {name}" if asks_first else "alerts"
    wait = duration(limit.seconds)
    when = f"once the {'outing' if outing else 'quiet'} lasts {wait}"
    if limit.cause == "warmup" and limit.since is not None and came_in:
        return (
            f"sentinel is still learning {name}'s routine (that takes {learn_days:g} days), so for now, after "
            f"{name} came in through the front door, it {verb} after a fixed {wait} of quiet at this time of day."
        )
    if limit.cause == "warmup" and limit.since is not None:
        return (
            f"sentinel is still learning {name}'s routine (that takes {learn_days:g} days), so for now, after "
            f"the front door ({limit.since:%H:%M}), it {verb} after a fixed {wait} without a sign of life "
            f"({name} may be out)."
        )
    if limit.cause == "warmup":
        return (
            f"sentinel is still learning {name}'s routine (that takes {learn_days:g} days), "
            f"so for now it {verb} after a fixed {wait} of quiet at this time of day."
        )
    if limit.cause in ("room floor", "room ceiling"):
        which = "shortest" if limit.cause == "room floor" else "longest"
        return f"After {place.words(value)}, sentinel {verb} {when}, the {which} wait set for the {limit.room}."
    if limit.cause == "outing":  # callers raise no alert on an infinite line; said for completeness
        return f"{capital(name)} is probably out, so sentinel raises no inactivity alert."
    if limit.cause == "stray" and limit.since is not None and start is not None:
        deadline = start + timedelta(seconds=limit.seconds)
        return (
            f"{capital(name)} went out at {limit.since:%H:%M}; one or two signs of life since then, with no return "
            f"through the front door, look like a sensor's stray blip in an empty home, so sentinel keeps "
            f"the outing's wait and {verb} at {deadline:%H:%M}."
        )
    if model is None:  # a learned cause without its model: say what is known, never fail an alert for it
        return f"sentinel {verb} {when}."
    days = _days(model.days)
    if limit.cause == "night":
        latest, floor = (model.night.up_by if model.night else 0.0), model.params.floor_s
        return (
            f"For quiet that begins in the night, sentinel {verb} {duration(floor)} after that latest time, "
            f"at {clock_after_noon(latest + floor)}."
        )
    lead = f"At this time of day{'' if outing else f', after {place.words(value)},'} sentinel {verb} {when}"
    if limit.cause == "floor":
        return f"{lead}, the shortest wait set for this home (from {name}'s last {days} alone it would be sooner)."
    if limit.cause == "ceiling" and place.kind == "door":
        return f"{lead}, the longest wait after the front door set for this home."
    if limit.cause == "ceiling":
        return f"{lead}, the longest wait set for this home (from {name}'s last {days} alone it would be later)."
    return (
        f"{lead}. That wait is learned from {name}'s last {days} so that ordinary "
        f"{'outings' if outing else 'quiet spells'} cause {budget_words(model.params.false_alerts_per_month)}, "
        "as chosen for this home."
    )


def bridge_words(name: str, ceiling_s: float, asks_first: bool) -> str:
    """Why an inactivity alert came only after the home's ceiling: the Zigbee bridge was offline."""
    verb = f"checked on {name}" if asks_first else "alerted"
    return (
        "The Zigbee bridge is offline, so the Zigbee sensors cannot report and their silence says nothing;"
        f" sentinel waited for the longest wait set for this home, {duration(ceiling_s)}, and {verb} then."
    )


def capital(name: str) -> str:
    """``name`` to begin a sentence: "the resident" as "The resident", "Mary" as it is."""
    return name[:1].upper() + name[1:]


def _days(days: float) -> str:
    count = max(1, round(days))
    return f"{count} day" if count == 1 else f"{count} days"


def clock_after_noon(seconds_after_noon: float) -> str:
    """A time of day the routine counts from noon (its nights are not cut at midnight), as HH:MM."""
    minutes = int((seconds_after_noon / 60 + 12 * 60) % (24 * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def alone_words(place: Place | None, sensor: str, signs: int, since: datetime, now: datetime) -> str:
    """What a sensor found reporting alone did, in words (a clause, for a sentence to go on)."""
    where = f"The {place.room} sensor ({sensor})" if place is not None and place.room else f"The sensor {sensor}"
    when = f"{naive(since):%H:%M}" if naive(since).date() == naive(now).date() else f"{naive(since):%a %H:%M}"
    return f"{where} has reported {signs} times in a row since {when}, with nothing else noticed"
