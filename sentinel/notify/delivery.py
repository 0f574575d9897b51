"""Send pending notifications through ntfy, retrying with backoff; record every attempt."""

from __future__ import annotations

import logging
from datetime import timedelta

from sentinel.clock import Clock
from sentinel.config.circle import MemberConfig
from sentinel.notify.ntfy import DeliveryError, Notification, Ntfy
from sentinel.notify.store import NotifierStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # about 20 minutes of retrying with backoff


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5, 10, 20 ... at most 5 minutes."""
    return min(5.0 * 2**attempts, 300.0)


class Deliverer:
    """Works through the store's pending deliveries; a failure never stops the others."""

    def __init__(self, store: NotifierStore, ntfy: Ntfy, members: list[MemberConfig], clock: Clock) -> None:
        self.store = store
        self.ntfy = ntfy
        self.members = {m.id: m for m in members}
        self.clock = clock

    def deliver_due(self) -> int:
        """Send what is due; each failure is retried with backoff, or recorded as failed. How many were sent."""
        sent = 0
        for delivery in self.store.due_deliveries(self.clock.now()):
            member = self.members.get(delivery.member)
            if member is None:
                self.store.failed(delivery.id, "no such member")
                continue
            body = delivery.body
            note = Notification(
                member.topic,
                body["title"],
                body["message"],
                body["priority"],
                tuple(body["tags"]),
                body.get("click"),
                tuple(body.get("actions", ())),
            )
            now = self.clock.now()
            try:
                self.ntfy.publish(note)
            except DeliveryError as exc:
                attempts = delivery.attempts + 1
                if exc.permanent or attempts >= MAX_ATTEMPTS:
                    self.store.failed(delivery.id, str(exc))
                    log.error("could not notify %s: %s", member.id, exc)
                    what = "failed"
                else:
                    self.store.retry(delivery.id, str(exc), now + timedelta(seconds=backoff(delivery.attempts)))
                    log.warning("notifying %s failed (%s); retrying", member.id, exc)
                    what = "retry"
                if delivery.alert_id:
                    self.store.step(delivery.alert_id, now, what, member.id, str(exc))
                continue
            self.store.delivered(delivery.id)
            sent += 1
            if delivery.alert_id:
                self.store.step(delivery.alert_id, now, "sent", member.id, body["title"])
        return sent
