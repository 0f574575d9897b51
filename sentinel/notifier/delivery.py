"""Send pending notifications through ntfy, retrying with backoff; record every attempt.

A failure that trying again can mend (a timeout, a 5xx, a 429) delays a
notification and never drops it. When ntfy says to hold off (429), every
notification waits: the limit is the server's, not one member's. A refused
e-mail is the exception: the same push goes at once without it, and the
e-mail alone waits (an hour, as ntfy's e-mail limit refills) or is given up.

Each attempt is recorded ('sending') before the request goes out, and 'sent'
with ntfy's message id once ntfy answers. A notifier stopped in between finds
the delivery still 'sending' when it starts again: it may or may not have gone.
So does an attempt whose answer was lost (a timeout) or an error from a proxy
(5xx): ntfy keeps a message before it answers. ntfy cannot replace or
deduplicate a message (it makes every id itself), so the notifier reads the
member's topic back from ntfy, after the last message it knows it sent there,
and sends it again only if ntfy does not have it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sentinel.clock import Clock
from sentinel.config.circle import MemberConfig
from sentinel.notifier import messages
from sentinel.notifier.ntfy import EMAIL_LIMIT_CODE, EMAIL_PAUSE_S, DeliveryError, Notification, Ntfy
from sentinel.notifier.store import Delivery, NotifierStore
from sentinel.notifier.store_delivery import URGENT_KINDS

log = logging.getLogger(__name__)

RECHECK_S = 5.0  # how often to ask ntfy again whether a delivery that may have gone arrived
# Asked this many times without an answer, ntfy is not waited on any longer: the delivery goes again (it may arrive
# twice), since meanwhile every later notification to that member waits too, a help press included.
READBACK_TRIES = 3
QUOTA_SPENT = "quota_spent"  # the store's meta key: "1" while the daily quota is spent


def backoff(attempts: int) -> float:
    """Seconds before the next try: 5, 10, 20 ... at most 5 minutes."""
    return min(5.0 * 2**attempts, 300.0)


def notification(member: MemberConfig, body: dict[str, Any]) -> Notification:
    """A stored delivery's body as the notification that goes to ``member``'s topic."""
    return Notification(
        member.topic,
        body["title"],
        body["message"],
        body["priority"],
        tuple(body["tags"]),
        body.get("click"),
        tuple(body.get("actions", ())),
        body.get("email"),
    )


def fingerprint(message: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one notification from another, as sent and as ntfy gives it back (ntfy adds ids and times)."""
    actions = message.get("actions") or []
    return (
        str(message.get("title", "")).strip(),
        str(message.get("message", "")).strip(),
        tuple((str(a.get("label", "")), str(a.get("body", ""))) for a in actions if isinstance(a, dict)),
    )


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
        # Since the last refusal for the daily quota, nothing has gone through: kept, so a restart tells it once.
        self._quota_spent = self.store.get_meta(QUOTA_SPENT) == "1"
        self.unsure: set[str] | None = None  # members with a delivery that may have gone; None: not looked yet
        self._ask_again: datetime | None = None  # when to ask ntfy again about those
        self._lost: set[int] = set()  # deliveries whose answer was lost in this run (not at a stop)
        self._asked: dict[int, int] = {}  # per delivery that may have gone, the read-backs that failed

    def deliver_due(self) -> int:
        """Send what is due; each failure is retried with backoff, or recorded as failed. How many were sent."""
        if self.unsure is None or (self.unsure and self._ask_again and self.clock.now() >= self._ask_again):
            self.unsure = self.recover()
            self._ask_again = self.clock.now() + timedelta(seconds=RECHECK_S)
        sent = 0
        for delivery in self.store.due_deliveries(self.clock.now()):
            now = self.clock.now()
            if self.hold_until is not None and now < self.hold_until:
                break  # they stay pending and go when the hold is over
            if delivery.member in self.unsure:
                continue  # first know whether the one before went: a new one would hide it
            member = self.members.get(delivery.member)
            if member is None:
                self.store.failed(delivery.id, "no such member")
                continue
            body = delivery.body
            loud = body.get("kind") in URGENT_KINDS
            if loud and delivery.alert_id and self.store.is_closed(delivery.alert_id):
                # An alert held up by ntfy must not ring after the all-clear it was overtaken by.
                self.store.skip(delivery.id, "the incident closed before it could be sent")
                continue
            note = notification(member, body)
            self.store.sending(delivery.id)  # committed before the request: a crash now means "maybe sent"
            try:
                ntfy_id = self.ntfy.publish(note)
            except Exception as exc:  # whatever it was, the delivery must not stay 'sending' until a restart
                error = exc if isinstance(exc, DeliveryError) else DeliveryError(f"{exc!r:.200}", permanent=False)
                if error.email_refused and body.get("email"):
                    what = self._without_email(delivery, error, now)
                elif error.unsure and not error.permanent:
                    what = self._maybe_sent(delivery, error, now)
                else:
                    what = self._failed(delivery.id, delivery.attempts, member.id, error, now)
                if delivery.alert_id:
                    self.store.step(delivery.alert_id, now, what, member.id, str(exc))
                continue
            self._sent(delivery, member, ntfy_id, now)
            self.quota_spent = False
            sent += 1
        return sent

    @property
    def quota_spent(self) -> bool:
        """ntfy has refused for its daily quota, and nothing has gone through since (the keepers were told)."""
        return self._quota_spent

    @quota_spent.setter
    def quota_spent(self, spent: bool) -> None:
        if spent != self._quota_spent:
            self._quota_spent = spent
            self.store.set_meta(QUOTA_SPENT, "1" if spent else "")

    def _sent(self, delivery: Delivery, member: MemberConfig, ntfy_id: str, now: datetime, how: str = "") -> None:
        with self.store.transaction():
            self.store.delivered(delivery.id, ntfy_id, member.topic, now)
            if delivery.alert_id:
                self.store.step(delivery.alert_id, now, "sent", member.id, delivery.body["title"] + how)

    def _maybe_sent(self, delivery: Delivery, exc: DeliveryError, now: datetime) -> str:
        """ntfy may have it: ask ntfy before sending it again (after the backoff), never send it blindly."""
        next_try = now + timedelta(seconds=backoff(delivery.attempts))
        self.store.maybe_sent(delivery.id, str(exc), next_try)
        assert self.unsure is not None
        if not self.unsure or self._ask_again is None:
            self._ask_again = now + timedelta(seconds=RECHECK_S)
        self.unsure.add(delivery.member)
        self._lost.add(delivery.id)
        log.warning("notifying %s failed (%s); ntfy may have it: asking it before sending again", delivery.member, exc)
        return "retry"

    def recover(self) -> set[str]:
        """Settle the deliveries that may have reached ntfy (a stop, a lost answer); the members still unsure."""
        unsure: set[str] = set()
        for delivery in self.store.in_flight():
            member = self.members.get(delivery.member)
            if member is None:
                self.store.failed(delivery.id, "no such member")
                continue
            try:
                ntfy_id = self._at_ntfy(delivery, member)
            except DeliveryError as exc:
                self._asked[delivery.id] = tries = self._asked.get(delivery.id, 0) + 1
                if not exc.permanent and tries < READBACK_TRIES:
                    unsure.add(member.id)  # ask again on the next round
                    continue
                log.warning(
                    "cannot ask ntfy whether a notification to %s went out %s (%s); it is sent again,"
                    " and may arrive twice.%s",
                    member.id,
                    "when its answer was lost" if self._settled(delivery.id) else "before the stop",
                    exc,
                    # Only when ntfy refused the question: while it fails or does not answer, access is no matter.
                    " Read access to the members' topics lets the notifier check." if exc.permanent else "",
                )
                self.store.resend(delivery.id, f"may have gone; ntfy could not be asked: {exc}")
                continue
            lost = self._settled(delivery.id)
            if ntfy_id is None:
                log.info("a notification to %s that may have gone had not reached ntfy: sending it", member.id)
                self.store.resend(delivery.id, "ntfy did not have it", self.clock.now())  # now, not after the backoff
            else:
                log.info("a notification to %s that may have gone had reached ntfy", member.id)
                how = "after a lost answer" if lost else "after a restart"
                self._sent(delivery, member, ntfy_id, self.clock.now(), f" (found at ntfy {how})")
        return unsure

    def _settled(self, delivery_id: int) -> bool:
        """Forget what was kept about a delivery that may have gone, now settled; whether its answer was lost."""
        self._asked.pop(delivery_id, None)
        lost = delivery_id in self._lost
        self._lost.discard(delivery_id)
        return lost

    def _at_ntfy(self, delivery: Delivery, member: MemberConfig) -> str | None:
        """ntfy's id for this delivery if ntfy has it, else None; DeliveryError if ntfy cannot be asked."""
        since = self.store.get_meta(f"ntfy_last:{member.topic}")
        wanted = fingerprint(notification(member, delivery.body).body())
        found = [m for m in self.ntfy.poll(member.topic, since or "all") if fingerprint(m) == wanted]
        # After the last message known to be sent there, any copy is this one. With no such mark, ntfy
        # must hold more copies than were ever sent: a lost notice would be worse than a second one.
        before = 0 if since else self.store.sent_like(member.id, delivery.body)
        return str(found[before].get("id", "")) if len(found) > before else None

    def _without_email(self, delivery: Delivery, exc: DeliveryError, now: datetime) -> str:
        """ntfy would not e-mail it: the push goes now without the e-mail, which waits or is given up."""
        body, address = delivery.body, delivery.body["email"]
        later = exc.code == EMAIL_LIMIT_CODE
        why = "ntfy's e-mail limit is reached; it is tried again every hour" if later else "ntfy cannot send e-mail"
        with self.store.transaction():
            if not body.get("pushed"):  # the receipt goes once, however often the e-mail is refused
                copy = messages.without_email(body, why)
                self.store.deliver(delivery.alert_id, delivery.home, delivery.member, copy, now)
            if later:
                next_try = now + timedelta(seconds=EMAIL_PAUSE_S)
                # Its push has gone loud already: when the e-mail goes, the keeper's copy of it says so, quietly.
                quiet = {} if body.get("pushed") else {"priority": 2, "title": f"E-mail sent: {body['title']}"}
                self.store.retry(delivery.id, str(exc), next_try, {**body, **quiet, "pushed": True})
            else:
                self.store.failed(delivery.id, str(exc))
        log.error("the e-mail to %s was not sent (%s); %s gets its push without it", address, exc, delivery.member)
        return "retry" if later else "failed"

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
        level = logging.ERROR if exc.misrouted else logging.WARNING
        log.log(level, "notifying %s failed (%s); trying again at %s", member, exc, f"{next_try:%H:%M:%S}")
        return "retry"
