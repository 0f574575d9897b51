"""The real agent in its own process on mock pins, living one simulated day at accelerated time.

Usage: ``python benchmarks/_day_driver.py CONFIG REAL_SECONDS [SEED]``. Prints ``ready``, then
``day-done EDGES`` when the day is over; on end of standard input it stops and prints the stored counts.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from gpiozero.pins.mock import MockFactory, MockPin

from sentinel import logs
from sentinel.agent.app import Agent
from sentinel.clock import ScaledClock
from sentinel.config import Config, load_config
from sentinel.store import Store

DAY = 86400.0
ROOMS = {  # PIR sensor -> weight by part of the day (night, morning, afternoon, evening)
    "bedroom_pir": (6, 2, 1, 2),
    "hall_pir": (3, 2, 2, 2),
    "kitchen_pir": (1, 4, 3, 4),
    "lounge_pir": (0, 2, 4, 5),
}
Action = tuple[float, Callable[[], None]]  # simulated seconds after midnight, what to do


class Resident:
    """A seeded day: a few night trips, PIR pulses while awake, outings by the front door, button presses."""

    def __init__(self, config: Config, factory: MockFactory, clock: ScaledClock, seed: int) -> None:
        self.config = config
        self.factory = factory
        self.clock = clock
        self.midnight = clock.now()
        self.rng = random.Random(seed)
        self.edges = 0

    def pin(self, sensor: str) -> MockPin:
        return self.factory.pin(self.config.sensor(sensor).pin)

    def wait(self, seconds: float) -> None:
        self.clock.sleep_until(self.clock.now() + timedelta(seconds=seconds))

    def drive(self, sensor: str, high: bool) -> None:
        pin = self.pin(sensor)
        (pin.drive_high if high else pin.drive_low)()
        self.edges += 1

    def pulse(self, sensor: str) -> None:
        """One PIR trigger: high for a few seconds."""
        self.drive(sensor, True)
        self.wait(self.rng.uniform(2, 8))
        self.drive(sensor, False)

    def door(self) -> None:
        """Open the front door, go through, shut it; the reed chatters each time."""
        for is_open in (True, False):
            for _ in range(3):
                self.drive("front_door", not is_open)
                self.drive("front_door", is_open)
            self.wait(self.rng.uniform(4, 10))

    def press(self, *holds: float) -> None:
        """Presses of the help button (active low) held this long, 0.3 s apart."""
        for hold in holds:
            self.drive("help_button", False)
            self.wait(hold)
            self.drive("help_button", True)
            self.wait(0.3)

    def plan(self) -> list[Action]:
        """The day's actions in time order."""
        out: list[Action] = []
        away = [(10 * 3600, 11.5 * 3600), (15 * 3600, 15.5 * 3600)]  # shopping, a walk
        for minute in range(24 * 60):
            t = minute * 60.0
            awake = 7 * 3600 <= t < 23 * 3600
            if any(a <= t < b for a, b in away):
                continue
            if not awake and self.rng.random() > 0.01:  # asleep: now and then a trip to the bathroom
                continue
            part = min(3, int(t // (6 * 3600)))
            rooms = [r for r, w in ROOMS.items() for _ in range(w[part])]
            for _ in range(self.rng.randint(1, 3)):
                out.append((t + self.rng.uniform(0, 50), partial(self.pulse, self.rng.choice(rooms))))
        for a, b in away:
            out += [(a - 30, self.door), (b, self.door)]
        out += [(8 * 3600 + 5, self.door), (8 * 3600 + 60, self.door)]  # the post
        out.append((9 * 3600 + 59, lambda: self.press(0.3)))  # the morning "I'm OK" check-in
        out.append((13 * 3600 + 59, lambda: self.press(3.0)))  # help: a long press ...
        out.append((13 * 3600 + 59 + 180, lambda: self.press(0.3)))  # ... cancelled by a short one
        out.append((19 * 3600 + 59, lambda: self.press(0.2, 0.2)))  # help: a double press ...
        out.append((19 * 3600 + 59 + 120, lambda: self.press(0.3)))  # ... cancelled
        return sorted(out, key=lambda action: action[0])

    def live(self, done: threading.Event) -> None:
        """Do the day's actions at their simulated times."""
        self.drive("front_door", False)  # the door is shut
        for at, action in self.plan():
            self.clock.sleep_until(self.midnight + timedelta(seconds=at))
            action()
        self.clock.sleep_until(self.midnight + timedelta(seconds=DAY))
        done.set()


def main() -> None:
    config = load_config(sys.argv[1])
    speed = DAY / float(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    logs.setup(config.log_level)
    store = Store(Path(config.state_dir or ".") / "agent.db")
    factory = MockFactory()
    clock = ScaledClock(datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0), speed)
    agent = Agent(config, store, clock=clock, pin_factory=factory)
    agent.start()
    stop, done = threading.Event(), threading.Event()
    loop = threading.Thread(target=agent.loop, args=(stop,), name="agent")
    loop.start()
    resident = Resident(config, factory, clock, seed)
    print("ready", flush=True)
    threading.Thread(target=resident.live, args=(done,), name="resident", daemon=True).start()
    while not done.wait(1.0):
        if not loop.is_alive():
            sys.exit("the agent's loop died; see the traceback above")
    print("day-done", resident.edges, flush=True)
    sys.stdin.read()
    stop.set()
    loop.join(10)
    agent.close()
    events = sum(1 for _ in store.events())
    print("stored", events, len(store.pending()), flush=True)
    store.close()


if __name__ == "__main__":
    main()
