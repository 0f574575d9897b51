"""The one going says 'I'm there' and 'With Mary'; the others who were told see it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sentinel.config.circle import CircleConfig, HomeCircle
from sentinel.notifier import messages
from sentinel.notifier.store import Incident, NotifierStore

log = logging.getLogger(__name__)

WHAT = {"on_scene": "on scene", "with": "with"}


def arrived(
    cfg: CircleConfig,
    store: NotifierStore,
    secret: bytes,
    tell: Callable[..., None],
    incident: Incident,
    home: HomeCircle,
    member: str,
    name: str,
    action: str,
    now: datetime,
) -> str | None:
    """An 'I'm there' or 'With Mary' press by the one going; the refusal reason, or None."""
    if incident.closed_at is not None or incident.claimed_by != member:
        reason = "already resolved" if incident.closed_at else "not the one going"
        store.step(incident.alert_id, now, "refused", member, f"{action}: {reason}")
        return reason
    store.step(incident.alert_id, now, WHAT[action], member)
    log.warning("%s: %s is %s", incident.alert_id, name, "there" if action == "on_scene" else f"with {home.name}")
    if action == "on_scene":
        tell(incident, home, f"{home.name}: {name} is there", f"{name} has arrived at {home.name}'s.", now, skip=member)
        return None
    text = f"{name} is with {home.name}."
    tell(incident, home, f"{home.name}: {name} is with them", text, now, skip=member, tags=("handshake",))
    if any(m.id == member for m in cfg.members):
        body = messages.with_note(cfg, home, cfg.member(member), incident, secret, now.timestamp())
        store.deliver(incident.alert_id, home.id, member, body, now)
    return None
