"""A seeded simulated resident: plausible days of sensor rows, for tests and the demo."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sentinel.core.events import Row

SENSORS = {
    "bedroom_pir": ("motion", "bedroom"),
    "bathroom_pir": ("motion", "bathroom"),
    "kitchen_pir": ("motion", "kitchen"),
    "living_pir": ("motion", "living room"),
    "front_door": ("door", "hall"),
}


@dataclass
class Resident:
    """Mary's habits, with day-to-day variation drawn from a seeded generator."""

    seed: int = 7
    wake: float = 7.25  # hours
    bedtime: float = 22.5
    outing_chance: float = 0.5

    def days(self, start: datetime, count: int, fall_at: datetime | None = None) -> list[Row]:
        """Rows for ``count`` days from midnight ``start``; nothing after ``fall_at``."""
        rng = random.Random(self.seed)
        rows: list[Row] = []
        for day in range(count):
            rows.extend(self._day(rng, start + timedelta(days=day)))
        rows.sort(key=lambda r: r.at)
        if fall_at is not None:
            rows = [r for r in rows if r.at <= fall_at]
        return rows

    def _day(self, rng: random.Random, midnight: datetime) -> list[Row]:
        out: list[Row] = []
        t = midnight + timedelta(hours=self.wake + rng.gauss(0, 0.4))
        end = midnight + timedelta(hours=self.bedtime + rng.gauss(0, 0.4))
        night_visit = midnight + timedelta(hours=rng.uniform(2, 4))
        self._motion(out, "bathroom_pir", night_visit)
        self._motion(out, "bedroom_pir", night_visit + timedelta(minutes=rng.uniform(3, 8)))
        self._motion(out, "bedroom_pir", t)
        self._motion(out, "bathroom_pir", t + timedelta(minutes=rng.uniform(2, 6)))
        t += timedelta(minutes=rng.uniform(15, 25))
        went_out = False
        while t < end:
            place = rng.choices(["kitchen_pir", "living_pir", "bathroom_pir"], [3, 6, 1])[0]
            self._motion(out, place, t)
            if not went_out and 10 <= t.hour < 15 and rng.random() < self.outing_chance / 4:
                went_out = True
                self._door(out, t + timedelta(minutes=2))
                t += timedelta(minutes=rng.uniform(60, 150))
                self._door(out, t)
                self._motion(out, "living_pir", t + timedelta(minutes=1))
            # Mostly short gaps; sometimes a long sit with a book.
            gap = rng.expovariate(1 / 8) if rng.random() < 0.85 else rng.uniform(30, 75)
            t += timedelta(minutes=gap + 0.5)
        self._motion(out, "bathroom_pir", end)
        self._motion(out, "bedroom_pir", end + timedelta(minutes=rng.uniform(5, 15)))
        return out

    @staticmethod
    def _motion(out: list[Row], sensor: str, at: datetime) -> None:
        kind, room = SENSORS[sensor]
        out.append(Row(at.replace(microsecond=0), sensor, kind, 1, room))
        out.append(Row((at + timedelta(seconds=30)).replace(microsecond=0), sensor, kind, 0, room))

    @staticmethod
    def _door(out: list[Row], at: datetime) -> None:
        kind, room = SENSORS["front_door"]
        out.append(Row(at.replace(microsecond=0), "front_door", kind, 1, room))
        out.append(Row((at + timedelta(seconds=20)).replace(microsecond=0), "front_door", kind, 0, room))
