"""The one going says 'I'm there' and 'With Mary'; the others who were told see it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sentinel.config.circle import CircleConfig, HomeCircle
from sentinel.notifier import arrival, messages
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
    silent = (
        incident.closed_at is None and incident.claimed_by is None and arrival.let_go(store, incident.alert_id, member)
    )
    if silent and store.claim(incident.alert_id, member, now):
        # Let go for want of a word from them (``arrival.py``), and there after all: going again, and there.
        store.step(incident.alert_id, now, "claimed", member)
        incident = replace(incident, claimed_by=member)
    if incident.closed_at is not None or incident.claimed_by != member:
        reason = "already resolved" if incident.closed_at else "not the one going"
        store.step(incident.alert_id, now, "refused", member, f"{action}: {reason}")
        return reason
    store.step(incident.alert_id, now, WHAT[action], member)
    store.expect_arrival(incident.alert_id, None)  # they are there: nobody need ask after them
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


def ask_to_confirm(
    cfg: CircleConfig,
    store: NotifierStore,
    secret: bytes,
    incident: Incident,
    home: HomeCircle,
    seen: str,
    now: datetime,
) -> None:
    """Movement at a home someone is going to: ask them to say when all is well."""
    member = incident.claimed_by
    assert member is not None
    log.info("%s: %s; asking %s to confirm", incident.alert_id, seen, member)
    store.step(incident.alert_id, now, "movement", None, seen)
    body = messages.confirm_note(cfg, home, cfg.member(member), incident, seen, secret, now.timestamp())
    store.deliver(incident.alert_id, home.id, member, body, now)


def moved_meanwhile(
    cfg: CircleConfig,
    store: NotifierStore,
    tell: Callable[..., None],
    incident: Incident,
    home: HomeCircle,
    seen: str,
    now: datetime,
) -> None:
    """Movement at a home whose alert someone had said they were going to, nobody now: told, not taken for all well."""
    steps = store.steps(incident.alert_id)
    went = [member for _, what, member, _ in steps if what == "claimed" and member]
    if not went:
        return  # nobody ever said they were going: the monitor would have said "resolve", not this
    store.step(incident.alert_id, now, "movement", None, seen)
    last = went[-1]
    silent = arrival.let_go(store, incident.alert_id, last)
    name = next((m.name for m in cfg.members if m.id == last), last)
    # Let go for want of a word, it may be them; if they said they could not go, it is not, and they need not hear.
    who = f"{name}, who said they were going" if silent else f"{home.name}, or someone there"
    text = f"{seen} It may be {who}. Only someone there, or {home.name}, can say all is well."
    tell(incident, home, f"{home.name}: movement at home", text, now, skip=None if silent else last)
