"""Learn the routine from the stored events and status changes, replayed as the agent saw them.

Run by ``sentinel.agent.learn_process``, a process of its own, so that learning
(numpy, and seconds of CPU on a Pi Zero) never holds up a call for help.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sentinel.core.events import Event
from sentinel.detect.detector import InactivityDetector, context_of
from sentinel.detect.state import state_of
from sentinel.detect.summary import Request, Summary
from sentinel.detect.wallclock import JUMP_S, Periods, aware, clock_jump, excluded_periods, naive


def replay_stored(
    events: Iterable[Event], flips: Iterable[tuple[datetime, str]], request: Request
) -> tuple[InactivityDetector, Event | None, int]:
    """The stored events replayed as the agent saw them: the detector, the last event, how many were read.

    A spell is not learned when the home was away, paused, asked or under an
    alert, nor across a jump of the wall clock (both events of this boot, as
    far as their monotonic times tell). After the clock was set forward, the
    learning week counts from then: the signs before were stamped by a clock
    that was behind (a Pi that booted with the date its card was made).
    """
    detector = InactivityDetector(request.params, request.warmup, request.not_back)
    detector.judge_runs(request.usual, request.faulty)  # a sensor that reported alone is not learned from
    excluded = Periods(excluded_periods(flips, request.now))
    last: Event | None = None
    count = 0
    for event in events:
        if not event.is_activity:
            continue
        keep = naive(event.wall) not in excluded
        jump = clock_jump(last, event) if last is not None and 0 < last.mono <= event.mono else 0.0
        if abs(jump) > JUMP_S:
            keep = False  # the wall clock moved (NTP on a Pi without a real-time clock): this spell's length is wrong
        if jump > JUMP_S:
            detector.first_at = None  # the signs before it do not make the window longer
        detector.activity(
            aware(event.wall),
            context_of(event.sensor, event.kind, event.value),
            event.kind == "door",
            keep,
            False,
            kind=event.kind,
        )
        last = event
        count += 1
    return detector, last, count


def learn(events: Iterable[Event], flips: Iterable[tuple[datetime, str]], request: Request) -> Summary:
    """The routine of the window before ``request.now``, learned from the stored events (see ``replay``)."""
    now = request.now
    detector, last, count = replay_stored(events, flips, request)
    state = state_of(detector) if request.state else None
    first = detector.first_at
    if first is not None and aware(now) - first >= timedelta(days=detector.warmup.min_days):
        detector.silent = set(request.silent)  # fitted as if the sensors found silent had never been there
        detector.price_hint = request.price_hint
        detector.prior_hint = request.prior_hint
        detector.refit(naive(now), replay=True)
    model, outing = detector.model, detector.outing_model
    faulty = detector.run.faulty
    return Summary(now, detector._fitted_on, model, outing, detector.usual, state, last, count, faulty=faulty)
