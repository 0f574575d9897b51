"""Open alerts the circle's notifier has not said it has: sent again until it does.

The broker's acknowledgement is not delivery. A broker restarted without its saved sessions (killed before it
saved them, or its file lost) drops an alert published before the notifier has subscribed again, and nobody would
know. The notifier answers every alert with "received" on its ack topic (any other word of its on the alert, a
claim say, shows it has it too); until then the agent sends the alert again after 1 minute, then 2, 4, 8, and
every 15 after that. Which alerts were received is kept across a restart. Subscribers take an alert once by its id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from sentinel.agent.journal import RECEIVED, Journal

FIRST_S = 60.0
MOST_S = 15 * 60.0


class Receipts:
    """When each open alert not yet received is next sent again (monotonic seconds), and the wait after that."""

    def __init__(self, received: Iterable[str] = ()) -> None:
        self.received: set[str] = set(received)
        self._due: dict[str, tuple[float, float]] = {}
        self._held = False  # no broker: nothing is due until it is back (then what fell due meanwhile goes at once)

    @classmethod
    def kept(cls, journal: Journal) -> Receipts:
        """As kept before a restart (none if what is kept cannot be read)."""
        try:
            ids = json.loads(journal.get_setting(RECEIVED) or "[]")
            return cls(str(i) for i in ids) if isinstance(ids, list) else cls()
        except ValueError:
            return cls()

    def heard(self, alert_id: str, journal: Journal) -> None:
        """A notifier has it: it is not sent again, also after a restart."""
        self._due.pop(alert_id, None)
        if alert_id not in self.received:
            self.received.add(alert_id)
            journal.set_setting(RECEIVED, json.dumps(sorted(self.received)))

    def due(self, open_ids: Iterable[str], now: float, send: bool = True) -> list[str]:
        """The open alerts to send again now (first seen here: in ``FIRST_S``); each waits twice as long the next
        time. Not ``send`` (no broker): none, and ``next_due`` says none until it is back (no loop in vain)."""
        self._held = not send
        opened = set(open_ids)
        self.received &= opened  # a closed alert is never sent again (one opened again by a claim was received)
        wanted = opened - self.received
        self._due = {a: d for a, d in self._due.items() if a in wanted}
        again = []
        for alert_id in sorted(wanted):
            at, wait = self._due.setdefault(alert_id, (now + FIRST_S, FIRST_S))
            if now >= at and send:
                self._due[alert_id] = (now + min(2 * wait, MOST_S), min(2 * wait, MOST_S))
                again.append(alert_id)
        return again

    def next_due(self) -> float:
        """The monotonic time the next alert is due again (infinity: none)."""
        return math.inf if self._held else min((at for at, _ in self._due.values()), default=math.inf)
