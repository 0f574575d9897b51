"""The config's detection section: the routine's knobs, quiet windows, room limits and asking the resident first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentinel.config.schema import Seconds, setting
from sentinel.config.values import DAYS, _between, _clock, _days


@dataclass(frozen=True, slots=True)
class CheckinConfig:
    """Ask the resident before the circle is told of unusual quiet."""

    enabled: bool = setting(
        False,
        doc="Ask first: sound the buzzer and/or light the LED (or ask on the phone), then wait."
        " Needs buzzer_pin, led_pin or phone.",
    )
    wait: Seconds = setting(
        Seconds(600),
        doc="How long to wait for a button press or any movement before telling the circle.",
        check=_between(30, 3600),
    )
    buzzer_pin: int | None = setting(
        None, doc="GPIO of a buzzer to sound while asking.", check=_between(0, 27, "not a GPIO pin")
    )
    led_pin: int | None = setting(
        None, doc="GPIO of an LED to light while asking.", check=_between(0, 27, "not a GPIO pin")
    )
    phone: bool = setting(
        False,
        doc="The circle's notifier also asks on the resident's phone (its circle.yaml names the resident's topic);"
        " then no buzzer or LED is needed.",
    )


# Also a circle member's on-call time and quiet hours (config/circle.py).
@dataclass(frozen=True, slots=True)
class Window:
    """A daily window of time, on some days of the week."""

    start: str = setting(doc="From this time of day (HH:MM).", check=_clock)
    end: str = setting(
        doc="Until this time of day (HH:MM), not the start's; past midnight is fine, and '24:00' is the day's end.",
        check=_clock,
    )
    days: list[str] = setting(list(DAYS), doc="On these days (mon ... sun; not none); default every day.", check=_days)


def check_windows(windows: list[Window], raw: Any, path: str, errors: Any) -> None:
    """A daily window from a time to the same time holds none: never quiet, never on call, and nobody told why."""
    for k, window in enumerate(windows):
        if window.start == window.end:
            where = f"{path}[{k}]" if isinstance(raw, list) else path
            item = raw[k] if isinstance(raw, list) else raw
            line = getattr(item, "lines", {}).get("end", getattr(item, "line", 1))
            whole = "a whole day is 00:00 to 24:00"
            errors.add(line, where, f"runs from {window.start} to {window.end}: no time at all ({whole})")


@dataclass(frozen=True, slots=True)
class RoomRule:
    """Limits for quiet spells that begin in one room, whatever was learned."""

    room: str = setting(
        doc="The room, as the sensors' room: says it.", empty="give the room, as a sensor's room: says it"
    )
    floor: Seconds | None = setting(
        None, doc="Never alert sooner than this after a sign of life here.", check=_between(60, 24 * 3600)
    )
    ceiling: Seconds | None = setting(
        None,
        doc="Always alert after this much quiet that began here (no shorter than its floor).",
        check=_between(60, 48 * 3600),
    )


@dataclass(frozen=True, slots=True)
class DoorAtNightConfig:
    """Opt-in: the outside door left open during the usual night."""

    enabled: bool = setting(False, doc="Alert when the front door stays open at night.")
    after: Seconds = setting(Seconds(900), doc="How long open counts as left open.", check=_between(60, 6 * 3600))
    start: str = setting("23:00", doc="Night starts (HH:MM).", check=_clock)
    end: str = setting("06:00", doc="Night ends (HH:MM).", check=_clock)


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Learned unusual-inactivity detection."""

    enabled: bool = setting(True, doc="Learn the routine and alert on unusual quiet.")
    false_alerts_per_month: float = setting(
        1.0,
        doc="The main knob: how many unnecessary alerts a month the circle accepts. Lower waits longer. Quiet spells"
        " longer than a ceiling alert on top: `sentinel routine -c` says how many to expect.",
        check=_between(0.1, 30),
    )
    floor: Seconds = setting(
        Seconds(1800), doc="Never alert sooner than this after the last sign of life.", check=_between(300, 6 * 3600)
    )
    ceiling: Seconds = setting(
        Seconds(16 * 3600),
        doc="Always alert after this long, no shorter than the floor (after the front door, within 24 h: longer stays"
        " are what away mode is for).",
        check=_between(3600, 48 * 3600),
    )
    learn_days: float = setting(7.0, doc="Days of history before the learned routine is used.", check=_between(1, 60))
    warmup_day: Seconds = setting(
        Seconds(6 * 3600), doc="Alert after this much quiet by day while learning.", check=_between(1800, 24 * 3600)
    )
    warmup_night: Seconds = setting(
        Seconds(12 * 3600), doc="The same at night (20:00-08:00) while learning.", check=_between(1800, 24 * 3600)
    )
    window_days: float = setting(
        56.0, doc="How many days of history the routine is learned from.", check=_between(7, 365)
    )
    resolve_on_activity: bool = setting(
        True,
        doc="Close an inactivity alert (and tell the circle) when the resident is up and about again: a third "
        "sign of life since it went out, or the front door (one or two isolated signs close nothing).",
    )
    not_back: bool = setting(
        False, doc="Opt-in: alert when an outing lasts far longer than the resident's outings at that time."
    )
    door_open_at_night: DoorAtNightConfig = setting(DoorAtNightConfig(), doc="Opt-in door alert.")
    quiet_windows: list[Window] = setting([], doc="Times with no inactivity alerts (postponed to the end).")
    rooms: list[RoomRule] = setting([], doc="Per-room floors and ceilings.")
    checkin: CheckinConfig = setting(CheckinConfig(), doc="Ask the resident first.")
