"""The pure sensor logic at exact time boundaries."""

from __future__ import annotations

import random

import pytest

from sentinel.core.sensors import ButtonLogic, Debouncer, DoorLogic, Gesture, MotionLogic, Reading


def run(logic, edges: list[tuple[float, bool]], until: float) -> list[tuple[float, object]]:
    """Feed edges and tick at every deadline up to ``until``; (time, output) pairs."""
    out: list[tuple[float, object]] = []
    pending = sorted(edges)
    t = 0.0
    while True:
        deadline = logic.deadline()
        next_edge = pending[0][0] if pending else None
        candidates = [x for x in (deadline, next_edge) if x is not None and x <= until]
        if not candidates:
            return out
        t = min(candidates)
        if next_edge is not None and next_edge == t:
            _, level = pending.pop(0)
            out += [(t, o) for o in logic.edge(level, t)]
        else:
            out += [(t, o) for o in logic.tick(t)]


@pytest.mark.parametrize("seed", range(20))
def test_reed_chatter_of_1_to_20_ms_gives_one_door_event(seed: int) -> None:
    rng = random.Random(seed)
    duration = rng.uniform(0.001, 0.020)
    edges, t, level = [], 10.0, True
    while t < 10.0 + duration:
        edges.append((t, level))
        level = not level
        t += rng.uniform(0.0002, 0.003)
    edges.append((10.0 + duration, True))  # settles open
    out = run(DoorLogic(0.05, False), edges, until=20.0)
    assert [o for _, o in out] == [Reading(1)]
    assert out[0][0] == 10.0  # reported at the first edge, not after the chatter


def test_chatter_that_settles_back_is_corrected_after_the_lockout() -> None:
    out = run(DoorLogic(0.05, False), [(1.0, True), (1.01, False)], until=5)
    assert out == [(1.0, Reading(1)), (1.05, Reading(0))]


def test_debouncer_reports_an_edge_exactly_at_the_end_of_the_lockout() -> None:
    d = Debouncer(0.05, False)
    assert d.edge(True, 1.0) is True
    assert d.edge(False, 1.0499) is None
    assert d.tick(1.0499) is None
    assert d.tick(1.05) is False


def test_pir_retriggers_within_hold_time_are_one_episode() -> None:
    edges = [(0, True), (5, False), (20, True), (25, False), (54.9, True), (60, False)]
    out = run(MotionLogic(30), edges, until=200)
    assert out == [(0, Reading(1)), (90, Reading(0))]


def test_pir_episode_ends_exactly_hold_time_after_the_last_trigger() -> None:
    logic = MotionLogic(30)
    assert logic.edge(True, 0) == [Reading(1)]
    assert logic.edge(False, 2) == []
    assert logic.tick(31.999) == []
    assert logic.tick(32) == [Reading(0)]


def button(help_on: str = "long_or_double") -> ButtonLogic:
    return ButtonLogic(0.05, help_on, long_press=2.0, double_press=0.6)


def gestures(out):
    return [(t, o) for t, o in out if isinstance(o, Gesture)]


def test_long_press_calls_for_help_at_exactly_the_hold_time() -> None:
    out = run(button(), [(1.0, True), (4.0, False)], until=10)
    assert gestures(out) == [(3.0, Gesture("help", "long press"))]


def test_press_just_short_of_long_is_an_ok_once_no_second_press_can_follow() -> None:
    out = run(button(), [(1.0, True), (2.999, False)], until=10)
    assert gestures(out) == [(2.999 + 0.6, Gesture("ok", "short press"))]


def test_double_press_calls_for_help_at_the_second_press() -> None:
    out = run(button(), [(1.0, True), (1.2, False), (1.5, True), (1.7, False)], until=10)
    assert gestures(out) == [(1.5, Gesture("help", "double press"))]


def test_second_press_after_the_window_is_two_oks() -> None:
    out = run(button(), [(1.0, True), (1.2, False), (1.81, True), (1.9, False)], until=10)
    assert [g for _, g in gestures(out)] == [Gesture("ok", "short press")] * 2


def test_long_only_button_treats_double_press_as_two_oks_at_release() -> None:
    out = run(button("long"), [(1.0, True), (1.2, False), (1.5, True), (1.7, False)], until=10)
    assert gestures(out) == [(1.2, Gesture("ok", "short press")), (1.7, Gesture("ok", "short press"))]


def test_double_only_button_ignores_a_long_hold() -> None:
    out = run(button("double"), [(1.0, True), (9.0, False)], until=20)
    assert gestures(out) == [(9.6, Gesture("ok", "press"))]  # "I'm OK", held long: not called a short press


def test_button_bounce_is_one_press() -> None:
    edges = [(1.0, True), (1.002, False), (1.004, True), (1.3, False), (1.302, True), (1.303, False)]
    out = run(button(), edges, until=10)
    assert [o for _, o in out if isinstance(o, Reading)] == [Reading(1), Reading(0)]
    assert [g for _, g in gestures(out)] == [Gesture("ok", "short press")]
