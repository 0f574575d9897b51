"""Open alerts the circle's notifier has not said it received: sent again until it does.

The broker's acknowledgement is not delivery. A broker restarted without its saved sessions (killed before it
saved them, or its file lost) drops an alert published before the notifier has subscribed again, and nobody would
know. The notifier answers every alert with "received" on its ack topic; until one comes, the agent sends the
alert again after 1 minute, then 2, 4, 8, and every 15 after that. Subscribers take an alert once by its id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

FIRST_S = 60.0
MOST_S = 15 * 60.0


class Receipts:
    """When each open alert not yet received is next sent again (monotonic seconds), and the wait after that."""

    def __init__(self) -> None:
        self._due: dict[str, tuple[float, float]] = {}

    def received(self, alert_id: str) -> None:
        """A notifier has it: it is not sent again."""
        self._due[alert_id] = (math.inf, math.inf)

    def due(self, open_ids: Iterable[str], now: float) -> list[str]:
        """The open alerts to send again now (first seen here: in ``FIRST_S``; one after a restart is sent again too,
        as the notifier may have missed it while the agent was down); each waits twice as long the next time."""
        wanted = set(open_ids)
        self._due = {a: d for a, d in self._due.items() if a in wanted}  # closed: never again
        again = []
        for alert_id in sorted(wanted):
            at, wait = self._due.setdefault(alert_id, (now + FIRST_S, FIRST_S))
            if now >= at:
                again.append(alert_id)
                self._due[alert_id] = (now + min(2 * wait, MOST_S), min(2 * wait, MOST_S))
        return again

    def next_due(self) -> float:
        """The monotonic time the next alert is due again (infinity: none)."""
        return min((at for at, _ in self._due.values()), default=math.inf)
