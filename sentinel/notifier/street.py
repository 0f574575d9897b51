"""A street where neighbours watch each other: who is in trouble at home, and what a step's record says."""

from __future__ import annotations

from datetime import datetime

from sentinel.config.circle import CircleConfig
from sentinel.notifier.escalation import Taken, unagreed
from sentinel.notifier.store import NotifierStore


def troubled(cfg: CircleConfig, store: NotifierStore) -> frozenset[str]:
    """Members whose own home (``lives_at``) has an open incident of any kind, follow-ups included."""
    if not any(m.lives_at for m in cfg.members):
        return frozenset()  # no street: no query
    open_homes = {incident.home for incident in store.incidents(open_only=True)}
    return frozenset(m.id for m in cfg.members if m.lives_at in open_homes)


def told(taken: Taken, agreed: frozenset[str] | None, now: datetime) -> str:
    """A step's line in the incident's record: who was told, and why some were not waited for or not asked."""
    assert taken.step is not None
    line = ", ".join(taken.audience)
    waiting = unagreed(taken.audience, agreed)
    if waiting and not taken.step.final:
        # Said in the record, so a carer reading it sees why the next step came at once.
        counted = "not waited for" if taken.progress.next_at == now else "told"
        line += f" ({', '.join(waiting)}: not agreed yet, {counted})"
    if taken.passed_over:
        line += f" ({', '.join(taken.passed_over)}: needs help at home, not asked)"
    if taken.leaned_on:
        line += f" ({', '.join(taken.leaned_on)}: needs help at home, told as nobody else can be asked)"
    if taken.despite_away:
        line += f" ({', '.join(taken.despite_away)}: away, told as nobody else can be asked)"
    return line
