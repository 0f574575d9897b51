"""The learned routine as plain numbers: what the learning process hands the agent, and the store keeps.

Its size does not grow with history: a line per half hour for each place the
home has (and for weekends, and for outings when ``not_back`` is on), the usual
night, each sensor's usual gaps, and where the spell being followed stood.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sentinel.core.events import Event
from sentinel.detect.lines import BINS, Night, Params, RoutineModel, Warmup
from sentinel.detect.silent import Usual
from sentinel.detect.state import check_state, faulty_dict, faulty_of, finite, usual_list, usual_of

VERSION = 1
MAX_BYTES = 4_000_000
"""A summary larger than this is not one (a home with 100 sensors writes about 1 MB)."""


@dataclass(frozen=True, slots=True)
class Request:
    """What to learn: the window before ``now``, with the home's knobs; ``state``: also say where the spell stands."""

    now: datetime
    params: Params
    warmup: Warmup
    not_back: bool = False
    silent: tuple[str, ...] = ()
    state: bool = True
    price_hint: float | None = None  # the routine in use's price: today's is searched for near it
    prior_hint: tuple[float, float | None] | None = None  # the routine in use's weight, kept for a week (prior.py)
    # The agent's sensors' usual runs, and those found reporting alone: the replay judges runs by them as it did.
    usual: dict[str, Usual] = dataclasses.field(default_factory=dict)
    faulty: dict[str, tuple[Usual, datetime]] = dataclasses.field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(
            {
                "now": self.now.isoformat(),
                "params": dataclasses.asdict(self.params),
                "warmup": dataclasses.asdict(self.warmup),
                "not_back": self.not_back,
                "silent": list(self.silent),
                "state": self.state,
                "price_hint": self.price_hint,
                "prior_hint": self.prior_hint,
                "usual": {name: usual_list(u) for name, u in self.usual.items()},
                "faulty": faulty_dict(self.faulty),
            }
        )

    @classmethod
    def loads(cls, text: str) -> Request:
        data = json.loads(text)
        return cls(
            datetime.fromisoformat(data["now"]),
            Params(**data["params"]),
            Warmup(**data["warmup"]),
            bool(data["not_back"]),
            tuple(data["silent"]),
            bool(data["state"]),
            data["price_hint"],
            (hint[0], hint[1]) if (hint := data.get("prior_hint")) else None,
            {str(name): usual_of(values) for name, values in data.get("usual", {}).items()},
            faulty_of(data.get("faulty", {})),
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """A learned routine and, when asked for, the tracker's state at the last stored event (``last``)."""

    now: datetime
    fitted_on: date | None
    model: RoutineModel | None
    outing_model: RoutineModel | None
    usual: dict[str, Usual]
    state: dict[str, Any] | None = None
    last: Event | None = None
    count: int = 0  # stored events read
    cost: dict[str, float] = dataclasses.field(default_factory=dict)  # what learning took (seconds, MB)
    # The sensors found reporting alone, with the runs they are judged by: kept with the routine across restarts.
    faulty: dict[str, tuple[Usual, datetime]] = dataclasses.field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(
            {
                "version": VERSION,
                "now": self.now.isoformat(),
                "fitted_on": self.fitted_on.isoformat() if self.fitted_on else None,
                "model": _model_dict(self.model),
                "outing_model": _model_dict(self.outing_model),
                "usual": {name: usual_list(u) for name, u in self.usual.items()},
                "state": self.state,
                "last": _event_dict(self.last),
                "count": self.count,
                "cost": self.cost,
                "faulty": faulty_dict(self.faulty),
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Summary:
        """The summary in ``text``; ValueError, saying what is wrong, for anything else."""
        if len(text) > MAX_BYTES:
            raise ValueError(f"a learned routine of {len(text)} bytes is too big to be one")
        try:
            data = json.loads(text)
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, not {VERSION}")
            state = data["state"]
            if state is not None:
                check_state(state)
            return cls(
                datetime.fromisoformat(data["now"]),
                date.fromisoformat(data["fitted_on"]) if data["fitted_on"] else None,
                _model_of(data["model"]),
                _model_of(data["outing_model"]),
                {str(name): usual_of(values) for name, values in data["usual"].items()},
                state,
                _event_of(data["last"]),
                int(data["count"]),
                {str(k): float(v) for k, v in data["cost"].items()},
                faulty_of(data.get("faulty", {})),  # a routine kept before runs were judged has none
            )
        except ValueError:
            raise
        except (KeyError, IndexError, TypeError, AttributeError, OverflowError) as exc:  # a damaged or foreign row
            raise ValueError(f"not a learned routine ({type(exc).__name__}: {exc})") from exc


def _lines(values: Any) -> list[float]:
    lines = [float(v) for v in values]
    if len(lines) != BINS or any(math.isnan(v) for v in lines):
        raise ValueError(f"a line per half hour expected ({BINS} numbers)")
    return lines


def _model_dict(model: RoutineModel | None) -> dict[str, Any] | None:
    if model is None:
        return None

    def table(lines: dict[str, Any]) -> dict[str, list[float]]:
        return {name: [float(v) for v in values] for name, values in lines.items()}

    night = model.night
    return {
        "params": dataclasses.asdict(model.params),
        "days": model.days,
        "spells_per_day": model.spells_per_day,
        "price": model.price,
        "lines": table(model.lines),
        "weekend_lines": table(model.weekend_lines),
        "longest": table(model.longest),
        "night": [night.bed_from, night.usually_up, night.up_by, night.nights] if night else None,
        "doors": sorted(model.doors),
        "expected_per_month": model.expected_per_month,
        "forced_per_month": model.forced_per_month,
        "prior_weight": model.prior_weight,
        "prior_chosen_s": model.prior_chosen_s,
    }


def _model_of(data: dict[str, Any] | None) -> RoutineModel | None:
    if data is None:
        return None
    night = data["night"]
    model = RoutineModel(
        Params(**data["params"]),
        float(data["days"]),
        float(data["spells_per_day"]),
        float(data["price"]),
        lines={str(k): _lines(v) for k, v in data["lines"].items()},
        weekend_lines={str(k): _lines(v) for k, v in data["weekend_lines"].items()},
        longest={str(k): _lines(v) for k, v in data["longest"].items()},
        night=Night(float(night[0]), float(night[1]), float(night[2]), int(night[3])) if night else None,
        doors=frozenset(str(d) for d in data["doors"]),
        expected_per_month=float(data["expected_per_month"]),
        forced_per_month=float(data["forced_per_month"]),
        prior_weight=float(data.get("prior_weight", 1.0)),  # a routine kept before the weight was learned: 1
        prior_chosen_s=_seconds_or_none(data.get("prior_chosen_s")),
    )
    if not (math.isfinite(model.prior_weight) and model.prior_weight > 0):
        raise ValueError(f"the prior weight {model.prior_weight!r} is not a number above 0")
    if "" not in model.lines or (model.weekend_lines and "" not in model.weekend_lines):
        raise ValueError("the lines for places never seen are missing")
    return model


def _seconds_or_none(value: Any) -> float | None:
    """A time in wall seconds, or None; anything else is a damaged summary."""
    return None if value is None else finite(value, "a time in seconds")


def _event_dict(event: Event | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {
        "sensor": event.sensor,
        "kind": event.kind,
        "value": event.value,
        "room": event.room,
        "wall": event.wall.isoformat(),
        "mono": event.mono,
    }


def _event_of(data: dict[str, Any] | None) -> Event | None:
    if data is None:
        return None
    wall = datetime.fromisoformat(data["wall"])
    room = data["room"]
    return Event(str(data["sensor"]), str(data["kind"]), int(data["value"]), room and str(room), wall, data["mono"])
