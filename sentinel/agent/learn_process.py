"""The learning process: learn the routine from the home's store and print it as a summary.

``python -m sentinel.agent.learn_process DATABASE REQUEST`` (REQUEST: ``summary.Request``
as JSON) reads the stored events of the window and the status changes, learns
the routine from them (``sentinel.detect.learn``) and prints the ``summary.Summary``
on standard output. On failure it prints ``{"error": ..., "corrupt": ...}`` and
exits 1. The agent starts it at start-up and once a day, so that learning
(numpy, and seconds of CPU on a Pi Zero) never holds up a call for help, and
numpy never lives in the agent. It offers itself to the kernel's out-of-memory killer first,
so that on a Pi short of memory the learning is killed (and tried again later), not the agent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

from sentinel.detect.learn import learn
from sentinel.detect.summary import Request
from sentinel.sqlite import is_corrupt
from sentinel.store import Store

log = logging.getLogger(__name__)

OOM_SCORE_ADJ = Path("/proc/self/oom_score_adj")


def first_to_go(path: Path = OOM_SCORE_ADJ) -> None:
    """Ask the kernel to kill this process first when memory runs out (1000: the most willing); Linux only."""
    try:
        path.write_text("1000")  # raising one's own score needs no privilege
    except OSError as exc:  # not Linux, or /proc not mounted: learning goes on all the same
        log.debug("could not raise the learning process's out-of-memory score (%s)", exc)


def main(argv: list[str]) -> int:
    """Learn from the database ``argv[0]`` as ``argv[1]`` asks; the summary on standard output."""
    first_to_go()  # before the events and the fit take their memory
    with contextlib.suppress(OSError):
        os.nice(10)  # the agent's loop and the broker come first
    try:
        request = Request.loads(argv[1])
        store = Store(argv[0], read_only=True)
        try:
            since = request.now - timedelta(days=request.params.window_days)
            started = time.process_time()
            summary = learn(store.stream_events(since), store.flips(), request)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            cost = {"cpu_s": round(time.process_time() - started, 3), "peak_mb": round(peak_mb, 1)}
            summary = dataclasses.replace(summary, cost=cost)
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
