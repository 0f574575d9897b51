"""Turn raw pin edges into readings and gestures, debounced, with explicit time.

Each logic object takes edges with a monotonic timestamp and is ticked by the
agent at its ``deadline()``; it returns what happened. No timers or threads here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Reading:
    """The sensor's settled value changed (1 active/open/pressed, 0 not)."""

    value: int


@dataclass(frozen=True, slots=True)
class Gesture:
    """The resident did something with the button."""

    what: Literal["help", "ok"]
    how: str


Output = Reading | Gesture


class Debouncer:
    """Report a change at its first edge, then ignore chatter for ``bounce`` seconds.

    Reporting the leading edge keeps a help press fast; re-reading the level when
    the lock-out ends means chatter that settles on the other level is not lost.
    """

    def __init__(self, bounce: float, level: bool) -> None:
        self.bounce = bounce
        self.level = level  # last reported
        self._raw = level
        self._locked_until: float | None = None

    def edge(self, level: bool, t: float) -> bool | None:
        """A raw edge; returns the new settled level if it changed."""
        self._raw = level
        if self._locked_until is not None and t < self._locked_until:
            return None
        return self._settle(t)

    def tick(self, t: float) -> bool | None:
        """End of a lock-out; returns the settled level if chatter changed it."""
        if self._locked_until is None or t < self._locked_until:
            return None
        self._locked_until = None
        return self._settle(t)

    def deadline(self) -> float | None:
        return self._locked_until

    def _settle(self, t: float) -> bool | None:
        if self._raw == self.level:
            return None
        self.level = self._raw
        if self.bounce > 0:
            self._locked_until = t + self.bounce
        return self.level


class DoorLogic:
    """A reed switch: one reading per settled open or close."""

    def __init__(self, bounce: float, is_open: bool) -> None:
        self._debounce = Debouncer(bounce, is_open)

    @property
    def value(self) -> int:
        return int(self._debounce.level)

    def edge(self, is_open: bool, t: float) -> list[Output]:
        return self._out(self._debounce.edge(is_open, t))

    def tick(self, t: float) -> list[Output]:
        return self._out(self._debounce.tick(t))

    def deadline(self) -> float | None:
        return self._debounce.deadline()

    @staticmethod
    def _out(level: bool | None) -> list[Output]:
        return [] if level is None else [Reading(int(level))]


class MotionLogic:
    """A PIR: triggers closer than ``hold_time`` are one episode (1 ... 0)."""

    def __init__(self, hold_time: float) -> None:
        self.hold_time = hold_time
        self.value = 0
        self._active = False
        self._ends_at: float | None = None

    def edge(self, active: bool, t: float) -> list[Output]:
        self._active = active
        if active:
            self._ends_at = None
            if not self.value:
                self.value = 1
                return [Reading(1)]
        elif self.value:
            self._ends_at = t + self.hold_time
        return []

    def tick(self, t: float) -> list[Output]:
        if self._ends_at is not None and t >= self._ends_at and not self._active:
            self._ends_at = None
            self.value = 0
            return [Reading(0)]
        return []

    def deadline(self) -> float | None:
        return self._ends_at


class ButtonLogic:
    """The help button: readings for every press, and the gestures they make.

    A long hold or a quick double press is a call for help (as configured); a
    single short press, once no second press can follow, means "I'm OK".
    """

    def __init__(self, bounce: float, help_on: str, long_press: float, double_press: float) -> None:
        self._debounce = Debouncer(bounce, False)
        self.long_enabled = help_on in ("long", "long_or_double")
        self.double_enabled = help_on in ("double", "long_or_double")
        self.long_press = long_press
        self.double_press = double_press
        self._pressed_at: float | None = None
        self._held_fired = False
        self._single_until: float | None = None  # a released short press awaiting a second

    @property
    def value(self) -> int:
        return int(self._debounce.level)

    def edge(self, pressed: bool, t: float) -> list[Output]:
        return self._settled(self._debounce.edge(pressed, t), t)

    def tick(self, t: float) -> list[Output]:
        out = self._settled(self._debounce.tick(t), t)
        pressed_at = self._pressed_at
        held = pressed_at is not None and not self._held_fired and self.long_enabled
        if held and pressed_at is not None and t >= pressed_at + self.long_press:
            self._held_fired = True
            out.append(Gesture("help", "long press"))
        if self._single_until is not None and t >= self._single_until:
            self._single_until = None
            out.append(Gesture("ok", self._single))
        return out

    @property
    def _single(self) -> str:
        """How "I'm OK" was pressed: with long presses off, a press held long is one too."""
        return "short press" if self.long_enabled else "press"

    def deadline(self) -> float | None:
        times = [self._debounce.deadline(), self._single_until]
        if self._pressed_at is not None and not self._held_fired and self.long_enabled:
            times.append(self._pressed_at + self.long_press)
        return min((x for x in times if x is not None), default=None)

    def _settled(self, level: bool | None, t: float) -> list[Output]:
        if level is None:
            return []
        out: list[Output] = [Reading(int(level))]
        if level:
            self._pressed_at, self._held_fired = t, False
            if self._single_until is not None:  # only set when double press is on
                self._single_until = None
                out.append(Gesture("help", "double press"))
                self._held_fired = True  # this press already called for help
        else:
            was_held = self._held_fired
            self._pressed_at, self._held_fired = None, False
            if not was_held:
                if self.double_enabled:
                    self._single_until = t + self.double_press
                else:
                    out.append(Gesture("ok", self._single))
        return out
