"""The one going has not said they are there: asked once, then the others are asked again.

"I'm going" stops the walk through the circle. A phone that dies on the way, or a
neighbour held up without a word, would leave the resident waiting with nobody else
asked, for as long as it takes. So the one going is expected to tap "I'm there"
within the home's ``arrive_within``; past it they are asked whether they are there,
and with no answer a ``step`` later the claim is let go as if they had said "I can't
go after all", with the others told why.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.notifier.escalation import LOW
from sentinel.notifier.messages import going_note
from sentinel.notifier.store import Incident, NotifierStore

log = logging.getLogger(__name__)

ASKED = "arrival asked"  # the step recorded when the one going is asked whether they are there
JOURNEYS = 2  # a member's usual journey (minutes_away) twice over: held up once on the way is no reason to ask
LONGEST_S = 6 * 3600.0  # never longer than the longest arrive_within: a claim must not hold the walk for a day
SILENT = "no word since 'I'm going'"  # the detail of the 'released' step when the claim was let go for it


def let_go(store: NotifierStore, alert_id: str, member: str) -> bool:
    """Whether ``member``'s claim was last let go for want of a word from them (not by their own 'I can't go')."""
    said = [detail for _, what, who, detail in store.steps(alert_id) if what == "released" and who == member]
    return bool(said) and said[-1] == SILENT


def expect(
    store: NotifierStore, home: HomeCircle, incident: Incident, member: MemberConfig | None, now: datetime
) -> None:
    """Someone has just said they are going: when they should have said they are there.

    Not before twice their usual journey (``minutes_away``), if that is longer than the home's ``arrive_within``.
    Not for a follow-up ("needs some help today"): going to help some time today is no race against the clock.
    """
    if incident.severity != LOW:
        store.expect_arrival(incident.alert_id, now + timedelta(seconds=wait_s(home, member)))


def wait_s(home: HomeCircle, member: MemberConfig | None) -> float:
    """How long the one going may take to say they are there: the home's wait, or twice their journey if longer."""
    journey = JOURNEYS * 60 * member.minutes_away if member is not None and member.minutes_away else 0
    return min(max(home.arrive_within, journey), LONGEST_S)


def arm(store: NotifierStore, cfg: CircleConfig, now: datetime) -> None:
    """Claims made before the notifier asked after those going (an upgrade): timed from their claim, if recent."""
    try:
        _arm(store, cfg, now)
    except Exception:  # a record it cannot read must not keep the notifier, and every alert, from starting
        log.exception("could not time the claims made before the notifier asked after those going; it goes on")


def _arm(store: NotifierStore, cfg: CircleConfig, now: datetime) -> None:
    homes = {home.id: home for home in cfg.homes}
    members = {m.id: m for m in cfg.members}
    for alert_id, since in store.unarmed_claims():
        incident = store.incident(alert_id)
        home = homes.get(incident.home) if incident is not None else None
        if incident is None or home is None or incident.claimed_by is None or arrived(store, incident):
            continue
        if (now - since).total_seconds() > LONGEST_S:
            log.info("%s: %s said at %s they were going; too long ago to ask now", alert_id, incident.claimed_by, since)
            continue
        by = since + timedelta(seconds=wait_s(home, members.get(incident.claimed_by)))
        store.expect_arrival(alert_id, max(by, now))


def since_claim(store: NotifierStore, alert_id: str) -> list[tuple[str, str | None]]:
    """The record's steps (what, who) from the latest "I'm going" on, in the record's order, not by its times
    (the clock may have been set back in between); all of them if the record holds no "I'm going"."""
    steps = [(what, member) for _, what, member, _ in store.steps(alert_id)]
    claims = [i for i, (what, _) in enumerate(steps) if what == "claimed"]
    return steps[claims[-1] :] if claims else steps


def arrived(store: NotifierStore, incident: Incident) -> bool:
    """Whether the one going has said they are there, or with the resident, since their latest claim."""
    after = since_claim(store, incident.alert_id)
    return any(what in ("on scene", "with") and member == incident.claimed_by for what, member in after)


def claimed_at(store: NotifierStore, incident: Incident) -> datetime | None:
    """When the one going said so (their latest 'I'm going'), on the clock face of the times told beside it."""
    if not incident.claimed_by:
        return None
    said = [at for at, what, member, _ in store.steps(incident.alert_id) if what == "claimed"]
    # The record keeps the time as it was said; the claim's own time moves with a clock jump, as "by 10:40" does.
    return store.claimed_at(incident.alert_id) or (said[-1] if said else None)


def asked(store: NotifierStore, incident: Incident) -> bool:
    """Whether the one going has been asked since they said they were going."""
    return (ASKED, incident.claimed_by) in since_claim(store, incident.alert_id)


def ask(
    cfg: CircleConfig, store: NotifierStore, secret: bytes, incident: Incident, home: HomeCircle, now: datetime
) -> None:
    """Ask the one going whether they are there (their buttons again), and when the others will be asked."""
    member = incident.claimed_by
    assert member is not None
    since = claimed_at(store, incident) or now
    by = now + timedelta(seconds=home.step)
    store.step(incident.alert_id, now, ASKED, member)
    store.expect_arrival(incident.alert_id, by)
    if not any(m.id == member for m in cfg.members):
        return  # someone outside the configured members (an old config): nobody to ask, the others are by then
    body = going_note(cfg, home, cfg.member(member), incident, secret, now.timestamp())
    store.deliver(incident.alert_id, home.id, member, asked_note(body, home, since, by), now)


def asked_note(body: dict[str, Any], home: HomeCircle, since: datetime, by: datetime) -> dict[str, Any]:
    """The question to the one going, on the buttons of their 'you are going' note."""
    return {
        **body,
        "title": f"{home.name}: are you there yet?",
        "message": f"You said at {since:%H:%M} that you were going to {home.name}, and have not said you are there."
        f" Tap 'I'm there' when you arrive. If nobody hears from you by {by:%H:%M}, the others are asked again;"
        " if you cannot go after all, tap 'I can't go after all' now.",
        "priority": 4,
        "tags": ["question"],
    }


def unanswered_note(body: dict[str, Any], home: HomeCircle, who: str, since: datetime | None) -> dict[str, Any]:
    """To those already told, on their fresh buttons: the one going has not said they are there, nor answered."""
    when = f" at {since:%H:%M}" if since is not None else ""
    return {
        **body,
        "title": f"{home.name}: no word from {who}",
        "message": f"{who} said{when} they were going to {home.name} but has not said they are there, nor"
        f" answered. Nobody is known to be going now. Can you? {body['message'].split('Can you? ', 1)[-1]}",
    }
