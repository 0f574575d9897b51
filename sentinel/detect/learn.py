"""Learn the routine from the home's store, in a process of its own, and print it as a summary.

``python -m sentinel.detect.learn DATABASE REQUEST`` (REQUEST: ``summary.Request``
as JSON) reads the stored events of the window and the status changes,
replays them as the agent saw them, fits the routine and prints the
``summary.Summary`` on standard output. On failure it prints
``{"error": ..., "corrupt": ...}`` and exits 1. The agent starts it at start-up
and once a day, so that learning (numpy, and seconds of CPU on a Pi Zero)
never holds up a call for help, and numpy never lives in the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from sentinel.clock import JUMP_S
from sentinel.detect.detector import InactivityDetector, context_of
from sentinel.detect.summary import Request, Summary, state_of
from sentinel.detect.wallclock import Periods, aware, clock_jump, excluded_periods, naive
from sentinel.events import Event


def replay_stored(
    events: Iterable[Event], flips: Iterable[tuple[datetime, str]], request: Request
) -> tuple[InactivityDetector, Event | None, int]:
    """The stored events replayed as the agent saw them: the detector, the last event, how many were read.

    A spell is not learned when the home was away, paused, asked or under an
    alert, nor across a jump of the wall clock (both events of this boot, as
    far as their monotonic times tell).
    """
    detector = InactivityDetector(request.params, request.warmup, request.not_back)
    excluded = Periods(excluded_periods(flips, request.now))
    last: Event | None = None
    count = 0
    for event in events:
        if not event.is_activity:
            continue
        keep = naive(event.wall) not in excluded
        if keep and last is not None and 0 < last.mono <= event.mono and abs(clock_jump(last, event)) > JUMP_S:
            keep = False  # the wall clock moved (NTP on a Pi without a real-time clock): this spell's length is wrong
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
    started = time.process_time()
    now = request.now
    detector, last, count = replay_stored(events, flips, request)
    state = state_of(detector) if request.state else None
    first = detector.first_at
    if first is not None and aware(now) - first >= timedelta(days=detector.warmup.min_days):
        detector.silent = set(request.silent)  # fitted as if the sensors found silent had never been there
        detector.price_hint = request.price_hint
        detector.refit(naive(now))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cost = {"cpu_s": round(time.process_time() - started, 3), "peak_mb": round(usage.ru_maxrss / 1024, 1)}
    return Summary(
        now, detector._fitted_on, detector.model, detector.outing_model, detector._usual, state, last, count, cost
    )


def main(argv: list[str]) -> int:
    """Learn from the database ``argv[0]`` as ``argv[1]`` asks; the summary on standard output."""
    from sentinel.sqlite import is_corrupt
    from sentinel.store import Store

    with contextlib.suppress(OSError):
        os.nice(10)  # the agent's loop and the broker come first
    try:
        request = Request.loads(argv[1])
        store = Store(argv[0], read_only=True)
        try:
            since = request.now - timedelta(days=request.params.window_days)
            summary = learn(store.stream_events(since), store.flips(), request)
        finally:
            store.close()
    except Exception as exc:  # said to the agent, which keeps its routine and tries again later
        cause = exc.__cause__ or exc
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "corrupt": is_corrupt(cause)}))
        return 1
    sys.stdout.write(summary.dumps())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
