"""Button presses from the ack topic: one long-lived ntfy subscription, reconnected with backoff.

Polling the topic every few seconds would spend ntfy's request allowance (a bucket
of 60, one more every 5 s per visitor, shared with publishing) and starve the
alerts themselves; one open subscription costs one request per reconnect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sentinel.clock import Clock
from sentinel.notifier.ntfy import DeliveryError, Ntfy

log = logging.getLogger(__name__)

FIRST_RETRY_S = 1.0
MAX_RETRY_S = 60.0
# After the subscription opens, ntfy sends the presses kept since the last one read at once: this long after,
# every press made while the notifier could not read them has been read (and can be counted on).
SETTLE_S = 30.0
# A subscription down this long (a wrong token, a proxy cutting it) is not waited for: what the notifier cannot
# read, nobody's press can tell it, and a drill is there to show just that.
UNREAD_GRACE_S = 3600.0
REFUSED_RETRY_S = 300.0  # a wrong token or a forbidden topic needs a person, not a quick retry


class AckReader:
    """A thread that hands every message on the ack topic to ``on_press``, in order, once per connection."""

    def __init__(
        self, ntfy: Ntfy, topic: str, since: str, on_press: Callable[[dict[str, Any]], None], clock: Clock
    ) -> None:
        self.ntfy = ntfy
        self.clock = clock
        self.opened_at: float | None = None  # monotonic time the subscription last opened; None while closed
        self.down_since: float | None = clock.monotonic()  # since when it has not been open (from the start)
        self.topic = topic
        self.since = since  # the last message id read: a reconnect continues after it
        self.on_press = on_press
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ntfy-acks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.ntfy.abort_stream()
        self._thread.join(timeout)

    def caught_up(self) -> bool:
        """Whether every press made so far has been read: the subscription is open, and has been for a while."""
        opened = self.opened_at
        return opened is not None and self.clock.monotonic() - opened >= SETTLE_S

    def judged(self) -> bool:
        """Whether who did not answer can be said now: every press is read, or none can be for an hour."""
        down = self.down_since
        return self.caught_up() or (down is not None and self.clock.monotonic() - down >= UNREAD_GRACE_S)

    def _run(self) -> None:
        wait = FIRST_RETRY_S
        failing: str | None = None
        while not self._stop.is_set():
            try:
                for event in self.ntfy.stream(self.topic, self.since):
                    if self._stop.is_set():
                        return
                    kind = event.get("event")
                    if kind == "open":
                        self.opened_at, self.down_since = self.clock.monotonic(), None
                        self.connected.set()
                        wait = FIRST_RETRY_S
                        if failing:
                            log.warning("reading button presses from ntfy again")
                            failing = None
                    elif kind == "message" and isinstance(event.get("id"), str):
                        self.since = event["id"]
                        self.on_press(event)
            except DeliveryError as exc:
                self.connected.clear()
                self.opened_at = None
                self.down_since = self.down_since if self.down_since is not None else self.clock.monotonic()
                if self._stop.is_set():
                    return
                pause = max(wait, exc.retry_after or 0.0, REFUSED_RETRY_S if exc.permanent else 0.0)
                if str(exc) != failing:  # once per kind of trouble, not once a minute
                    level = logging.ERROR if exc.permanent else logging.WARNING
                    log.log(level, "cannot read button presses (%s); trying again in %.0f s", exc, pause)
                    failing = str(exc)
                wait = min(wait * 2, MAX_RETRY_S)
                self._stop.wait(pause)
