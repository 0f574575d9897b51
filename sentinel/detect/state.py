"""Where a tracker stands, as plain data: what the learning process hands the agent with the routine.

Read back with care: the state comes from the database, and a damaged one must be refused whole (ValueError,
KeyError or TypeError) when it is loaded, not fail later on a sign of life.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sentinel.detect.contexts import Sign
from sentinel.detect.silent import Kept, Usual
from sentinel.detect.tracker import Tracker

USUAL_FIELDS = ("signs", "max_gap", "max_others", "runs", "max_alone", "max_alone_s")


def usual_list(usual: Usual) -> list[float]:
    """A sensor's usual gaps and runs, in ``USUAL_FIELDS`` order."""
    return [getattr(usual, f) for f in USUAL_FIELDS]


def usual_of(values: Any) -> Usual:
    """A sensor's usual gaps and runs; kept before runs were counted, it has none, and is not judged alone."""
    values = [*values, 0, 0, 0.0] if len(values) == 3 else list(values)
    if len(values) != len(USUAL_FIELDS):
        raise ValueError(f"{len(values)} figures for a sensor's usual, not {len(USUAL_FIELDS)}")
    signs, max_gap, max_others, runs, alone, alone_s = values
    return Usual(_count(signs), _seconds(max_gap), _count(max_others), _count(runs), _count(alone), _seconds(alone_s))


def faulty_dict(faulty: dict[str, tuple[Usual, datetime]]) -> dict[str, list[Any]]:
    """The sensors found alone, each with the usual runs it is judged by and when it was last found."""
    return {name: [usual_list(usual), at.isoformat()] for name, (usual, at) in faulty.items()}


def faulty_of(data: Any) -> dict[str, tuple[Usual, datetime]]:
    return {str(name): (usual_of(usual), _time(at)) for name, (usual, at) in data.items()}


def finite(value: Any, what: str, least: float = -math.inf) -> float:
    """``value`` as a float if it is a finite number of at least ``least`` (not a bool), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < least:
        raise ValueError(f"{value!r} is not {what}")
    return float(value)


def _count(value: Any) -> int:
    return int(finite(value, "a count", 0))


def _seconds(value: Any) -> float:
    return finite(value, "a number of seconds", 0)


def _time(text: Any) -> datetime:
    """A time with its UTC offset: the agent's are all aware, and a naive one cannot be compared with them."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return at


def _sign(sign: Sign | None) -> list[Any] | None:
    return None if sign is None else [sign.at.isoformat(), sign.context, sign.learn]


def _sign_of(data: list[Any] | None) -> Sign | None:
    return None if data is None else Sign(_time(data[0]), str(data[1]), bool(data[2]))


def _when(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _when_of(text: str | None) -> datetime | None:
    return _time(text) if text is not None else None


def state_of(tracker: Tracker) -> dict[str, Any]:
    """Where the tracker stands: the spell being followed, the front door, each sensor's last sign, its runs."""
    run, kept = tracker.run, tracker._before
    return {
        "from": _sign(tracker._from),
        "out": _sign(tracker._out),
        "strays": [_sign(s) for s in tracker._strays],
        "went_out": tracker._went_out,
        "outing_contexts": sorted(tracker.outing_contexts),
        "doors": sorted(tracker._doors),
        "unjudged": sorted(tracker._unjudged),
        "first_at": _when(tracker.first_at),
        "last_at": _when(tracker.last_at),
        "last_context": tracker.last_context,
        "silent": sorted(tracker.silent),
        "moves": tracker._moves,
        "moved_from": tracker._moved_from,
        "last_sign": {name: [count, at.isoformat()] for name, (count, at) in tracker._last_sign.items()},
        "run": [run.sensor, run.signs, _when(run.since), run.alone, run.skipped] if run.sensor else None,
        "faulty": faulty_dict(run.faulty),
        # Where it stood before the current sensor's signs in a row (a learner's place in its spells stays behind).
        "latest": tracker._latest,
        "before": None
        if kept is None
        else [
            _sign(kept.begun),
            _sign(kept.out),
            [_sign(s) for s in kept.strays],
            kept.went_out,
            _when(kept.last_at),
            kept.last_context,
        ],
    }


def check_state(state: dict[str, Any]) -> None:
    """Read the state once into a throw-away tracker, so that a damaged one fails when it is loaded."""
    restore(Tracker(), state)


def restore(tracker: Tracker, state: dict[str, Any]) -> None:
    """Put ``tracker`` where ``state_of`` found another (its routine is ``adopt``ed apart)."""
    tracker._from = _sign_of(state["from"])
    tracker._out = _sign_of(state["out"])
    strays = [_sign_of(s) for s in state["strays"]]
    tracker._strays = [s for s in strays if s is not None]
    tracker._went_out = bool(state["went_out"])
    tracker.outing_contexts = {str(c) for c in state["outing_contexts"]}
    tracker._doors = {str(c) for c in state["doors"]}
    # "door_sensors": a state kept before other kinds were left unjudged too.
    tracker._unjudged = {str(c) for c in state.get("unjudged", state.get("door_sensors", []))}
    tracker.first_at = _when_of(state["first_at"])
    tracker.last_at = _when_of(state["last_at"])
    tracker.last_context = state["last_context"]
    tracker.silent = {str(s) for s in state["silent"]}
    tracker._last_sign = {
        str(name): (_count(count), _time(at)) for name, (count, at) in state["last_sign"].items()
    }
    if "moves" in state:
        tracker._moves = _count(state["moves"])
        tracker._moved_from = None if state.get("moved_from") is None else str(state["moved_from"])
    else:  # kept when signs, not moves, were counted: counted afresh from here (a silence is found later, not sooner)
        tracker._moves, tracker._moved_from = 0, None
        tracker._last_sign = {name: (0, at) for name, (_, at) in tracker._last_sign.items()}
    # A state kept before runs were followed has none of these: the next sign starts a run, nothing is faulty.
    if run := state.get("run"):
        sensor, signs, since, alone, skipped = run
        if not isinstance(sensor, str):
            raise ValueError(f"a run of {sensor!r}, not of a sensor")
        tracker.run.sensor, tracker.run.signs, tracker.run.since = sensor, _count(signs), _time(since)
        tracker.run.alone, tracker.run.skipped = bool(alone), bool(skipped)
    tracker.run.faulty = faulty_of(state.get("faulty", {}))
    latest, before = state.get("latest"), state.get("before")
    tracker._latest = None if latest is None else str(latest)
    if before is not None:
        begun, out, strays_before, went_out, last_at, last_context = before
        kept_strays = tuple(s for s in (_sign_of(x) for x in strays_before) if s is not None)
        last = None if last_at is None else _time(last_at)
        context = None if last_context is None else str(last_context)
        tracker._before = Kept(_sign_of(begun), _sign_of(out), kept_strays, bool(went_out), last, context, None)
