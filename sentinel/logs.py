"""Logging to stderr only: the journal under systemd, the terminal otherwise."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable


def setup(level: str = "info") -> None:
    """Configure the root logger once."""
    # journald stamps every line itself; a terminal user wants the time.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)


class Throttle:
    """At most ``most`` of one thing a minute: log lines for one kind of junk (a flood of it must not bury the log,
    or the card), or answers to a request that may come in floods (Home Assistant's "online").

    Those beyond are counted, and the count is said with the next one allowed.
    """

    def __init__(self, most: int = 10, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.most, self.every, self.clock = most, every, clock
        self._start, self._lines, self.skipped = -math.inf, 0, 0

    def allow(self) -> str | None:
        """None: leave this one out; else the words to add to the line ('' or how many were left out)."""
        now = self.clock()
        if now - self._start >= self.every:
            self._start, self._lines = now, 0
        self._lines += 1
        if self._lines > self.most:
            self.skipped += 1
            return None
        said, self.skipped = self.skipped, 0
        return f" ({said} more like it were not logged)" if said else ""
