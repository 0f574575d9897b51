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

import dataclasses
import json
import logging
import resource
import sys
import time
from datetime import timedelta

from sentinel.detect.learn import learn
from sentinel.detect.summary import Request
from sentinel.giveway import give_way
from sentinel.sqlite import is_corrupt
from sentinel.store import Store

log = logging.getLogger(__name__)

def main(argv: list[str]) -> int:
    """Learn from the database ``argv[0]`` as ``argv[1]`` asks; the summary on standard output."""
    give_way()  # before the events and the fit take their memory
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
