"""'I can't go': a member says so from the alert, and the walk does not wait on them.

Each member told so far who has said they cannot go is left out of the later rounds (the
final call still reaches them: by then anyone may be able to do something, if only call).
When everyone told so far has said it, the next step comes at once instead of a step later.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sentinel.config.circle import CircleConfig, HomeCircle
from sentinel.notifier import messages
from sentinel.notifier.arrival import unanswered_note
from sentinel.notifier.escalation import URGENT, available
from sentinel.notifier.store import Incident, NotifierStore

log = logging.getLogger(__name__)


def declined(store: NotifierStore, alert_id: str) -> frozenset[str]:
    """Who has said they cannot go to this incident: 'I can't go', or 'I can't go after all' once going."""
    return frozenset(m for _, what, m, _ in store.steps(alert_id) if what in ("declined", "released") and m)


def decline(
    store: NotifierStore, incident: Incident, home: HomeCircle, member: str, name: str, now: datetime
) -> str | None:
    """Record a press of 'I can't go'; move the walk on if nobody told so far can go; the refusal reason, or None."""
    if incident.closed_at is not None:
        store.step(incident.alert_id, now, "refused", member, "decline: already resolved")
        return "already resolved"
    store.step(incident.alert_id, now, "declined", member)
    log.warning("%s: %s cannot go", incident.alert_id, name)
    told = store.notified(incident.alert_id)
    nobody = incident.claimed_by is None and told and set(told) <= declined(store, incident.alert_id)
    if nobody and incident.next_at > now:
        log.warning("%s: nobody told so far can go; the next step comes now", incident.alert_id)
        store.advance(incident.alert_id, incident.next_index, now)
    if incident.claimed_by:
        text = "Someone is going. Thank you for saying so."
    elif nobody:
        text = "The others are being asked. Thank you for saying so."
    else:
        text = "You will be asked again only if nobody can go. Thank you for saying so."
    store.deliver(incident.alert_id, home.id, member, messages.info_note(f"{home.name}: thank you", text), now)
    return None


def tell_released(
    cfg: CircleConfig,
    store: NotifierStore,
    secret: bytes,
    incident: Incident,
    home: HomeCircle,
    name: str,
    now: datetime,
    silent_since: datetime | None = None,
) -> None:
    """Those told so far hear that the one going cannot after all (``silent_since``: nor sent word since then)."""
    cannot = declined(store, incident.alert_id)  # the one going, now, and who said so before
    members = {m.id: m for m in cfg.members}
    urgent = incident.severity == URGENT
    for other in store.notified(incident.alert_id):
        # In their quiet hours (only) they hear it from the final call, if it comes again, as a step would.
        asleep = (
            other in members and available(members[other], now, True) and not available(members[other], now, urgent)
        )
        if other not in cannot and other in members and not asleep:
            body = messages.released_note(cfg, home, members[other], incident, name, secret, now.timestamp())
            if silent_since is not None:
                body = unanswered_note(body, home, name, silent_since)
            store.deliver(incident.alert_id, home.id, other, body, now)
