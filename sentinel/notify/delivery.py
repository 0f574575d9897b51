"""Send pending notifications through ntfy, retrying with backoff; record every attempt.

A failure that trying again can mend (a timeout, a 5xx, a 429) delays a
notification and never drops it. When ntfy says to hold off (429), every
notification waits: the limit is the server's, not one member's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sentinel.clock import Clock
from sentinel.config.circle import MemberConfig
from sentinel.notify.ntfy import DeliveryError, Notification, Ntfy
from sentinel.notify.store import NotifierStore

log = logging.getLogger(__name__)


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5, 10, 20 ... at most 5 minutes."""
    return min(5.0 * 2**attempts, 300.0)


class Deliverer:
    """Works through the store's pending deliveries; a failure never stops the others."""

    def __init__(
        self,
        store: NotifierStore,
        ntfy: Ntfy,
        members: list[MemberConfig],
        clock: Clock,
        on_quota: Callable[[DeliveryError, datetime], None] | None = None,
    ) -> None:
        self.store = store
        self.ntfy = ntfy
        self.members = {m.id: m for m in members}
        self.clock = clock
        self.on_quota = on_quota
        self.hold_until: datetime | None = None  # ntfy asked us to wait until then
        self.quota_spent = False  # since the last refusal for the daily quota, nothing has gone through

    def deliver_due(self) -> int:
        """Send what is due; each failure is retried with backoff, or recorded as failed. How many were sent."""
        sent = 0
        for delivery in self.store.due_deliveries(self.clock.now()):
            now = self.clock.now()
            if self.hold_until is not None and now < self.hold_until:
                break  # they stay pending and go when the hold is over
            member = self.members.get(delivery.member)
            if member is None:
                self.store.failed(delivery.id, "no such member")
                continue
            body = delivery.body
            if body.get("kind") == "alert" and delivery.alert_id and self.store.is_closed(delivery.alert_id):
                # An alert held up by ntfy must not ring after the all-clear it was overtaken by.
                self.store.skip(delivery.id, "the incident closed before it could be sent")
                continue
            note = Notification(
                member.topic,
                body["title"],
                body["message"],
                body["priority"],
                tuple(body["tags"]),
                body.get("click"),
                tuple(body.get("actions", ())),
            )
            try:
                self.ntfy.publish(note)
            except DeliveryError as exc:
                what = self._failed(delivery.id, delivery.attempts, member.id, exc, now)
                if delivery.alert_id:
                    self.store.step(delivery.alert_id, now, what, member.id, str(exc))
                continue
            self.store.delivered(delivery.id)
            self.quota_spent = False
            sent += 1
            if delivery.alert_id:
                self.store.step(delivery.alert_id, now, "sent", member.id, body["title"])
        return sent

    def _failed(self, delivery_id: int, attempts: int, member: str, exc: DeliveryError, now: datetime) -> str:
        """Record a failed attempt; 'failed' when retrying cannot help, else 'retry'."""
        if exc.permanent:
            self.store.failed(delivery_id, str(exc))
            log.error("could not notify %s: %s", member, exc)
            return "failed"
        next_try = now + timedelta(seconds=backoff(attempts))
        if exc.retry_after:
            self.hold_until = now + timedelta(seconds=exc.retry_after)
            next_try = self.hold_until
            if exc.quota and not self.quota_spent and self.on_quota is not None:
                self.on_quota(exc, self.hold_until)  # once per spell, however many times it is refused again
            self.quota_spent = self.quota_spent or exc.quota
        self.store.retry(delivery_id, str(exc), next_try)
        log.warning("notifying %s failed (%s); trying again at %s", member, exc, f"{next_try:%H:%M:%S}")
        return "retry"
