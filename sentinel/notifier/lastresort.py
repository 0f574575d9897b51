"""The last resort: nobody has said 'I'm going' after the final call, so ntfy e-mails the addresses given.

ntfy sends an e-mail with a notification when the publish has an ``email``
field (one address each; the server must have e-mail set up, else it refuses
with 400 40001). Each e-mail's notification also goes to the home's first
keeper's phone, as a receipt of what was sent and to whom. When ntfy will not
e-mail (no e-mail set up, or its e-mail limit reached), the keeper's push goes
all the same, saying so (``delivery.py``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sentinel.config.circle import HomeCircle
from sentinel.notifier import messages
from sentinel.notifier.escalation import LOW, keepers_of
from sentinel.notifier.store import Incident, NotifierStore

log = logging.getLogger(__name__)

STEP = "last resort"


def wanted(home: HomeCircle, incident: Incident) -> bool:
    """Whether this incident ends in e-mails when nobody goes (a follow-up never does)."""
    return bool(home.last_resort and home.last_resort.email) and incident.severity != LOW


def send(store: NotifierStore, home: HomeCircle, incident: Incident, now: datetime) -> bool:
    """E-mail every address once per incident; False if they were e-mailed already."""
    assert home.last_resort is not None
    if any(what == STEP for _, what, _, _ in store.steps(incident.alert_id)):
        return False
    keeper = keepers_of(home)[0]
    for address in home.last_resort.email:
        body = messages.last_resort_note(home, incident, address, home.last_resort.call)
        store.deliver(incident.alert_id, home.id, keeper, body, now)
    addresses = ", ".join(home.last_resort.email)
    store.step(incident.alert_id, now, STEP, None, f"nobody is going: e-mailing {addresses}")
    log.error("%s: nobody is going after the final call; e-mailing %s", incident.alert_id, addresses)
    return True
