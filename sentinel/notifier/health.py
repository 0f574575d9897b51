"""How a circle stands, member by member: agreed or not, what reached them, what they pressed, drills, absences.

Only the circle's own state: nothing about the resident's day or their alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sentinel.config.circle import CircleConfig, HomeCircle
from sentinel.notifier.escalation import circle_of
from sentinel.notifier.store import Consent, Drill, NotifierStore

PRESSES = {
    "claim": "I'm going",
    "resolve": "All OK",
    "release": "I can't go after all",
    "decline": "I can't go",
    "on_scene": "I'm there",
    "with": "With them",
    "fine": "Fine",
    "needs_help": "Needs help",
    "call_me": "Call me",
    "agree": "I agree",
    "received": "Received",
}


@dataclass(frozen=True, slots=True)
class MemberHealth:
    """One member as the circle's organisers need to see them."""

    id: str
    name: str
    homes: tuple[tuple[HomeCircle, Consent | None], ...]
    last_sent: tuple[datetime, str] | None
    last_press: tuple[datetime, str] | None
    last_drill: Drill | None
    away_until: str | None
    refused: tuple[datetime, str] | None = None  # the last press in their name that was refused (forged, replayed)


def gather(cfg: CircleConfig, store: NotifierStore) -> list[MemberHealth]:
    """Every member of any home, in the config's order."""
    consent = store.consent_rows()
    away = store.away_rows()  # set from the phones
    out = []
    for member in cfg.members:
        homes = tuple((h, consent.get((h.id, member.id))) for h in cfg.homes if member.id in circle_of(h))
        if not homes:
            continue
        presses = store.member_log(member.id, "pressed")
        last_press = None
        if presses:
            at, _, _, detail = presses[-1]
            last_press = (at, PRESSES.get(detail.split(" ", 1)[0], detail))
        refusals = store.member_log(member.id, "refused")
        out.append(
            MemberHealth(
                member.id,
                member.name,
                homes,
                store.last_sent(member.id),
                last_press,
                store.last_drill(member.id),
                away[member.id].over(member.away_until) if member.id in away else member.away_until,
                (refusals[-1][0], refusals[-1][3]) if refusals else None,
            )
        )
    return out


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def agreement(cfg: CircleConfig, consent: Consent | None) -> str:
    """'agreed on ...', 'not agreed yet (asked ...)', or why it is not asked."""
    if consent is not None and consent.agreed_at is not None:
        how = f" ({consent.how})" if consent.how else ""
        return f"agreed {_at(consent.agreed_at)}{how}"
    if cfg.consent == "assumed":
        return "counted on without asking (consent: assumed)"
    if consent is None or consent.asked_at is None:
        return "not asked yet (the notifier asks when it next starts)"
    again = (
        f", reminded {_at(consent.reminded_at)}"
        if consent.reminded_at and consent.reminded_at != consent.asked_at
        else ""
    )
    return f"NOT AGREED YET (asked {_at(consent.asked_at)}{again})"


def drill_text(drill: Drill | None, now: datetime) -> str:
    if drill is None:
        return "none yet"
    sent = f"sent {_at(drill.sent_at)}"
    if drill.answered_at is not None:
        late = " (late)" if drill.answered_at > drill.due_at else ""
        return f"{sent}, answered {_at(drill.answered_at)}{late}"
    if drill.missed_at is not None:
        return f"{sent}, NOT ANSWERED (keepers told {_at(drill.missed_at)})"
    return f"{sent}, waiting for an answer until {_at(drill.due_at)}"


def render(cfg: CircleConfig, members: list[MemberHealth], now: datetime) -> str:
    """The `sentinel circle-health` page."""
    lines = [f"Circle health at {_at(now)} (consent: {cfg.consent}, drills: {'on' if cfg.drill else 'off'})"]
    for m in members:
        lines.append("")
        lines.append(f"{m.name} ({m.id})")
        for home, consent in m.homes:
            lines.append(f"  {home.name}'s circle: {agreement(cfg, consent)}")
        sent = f'{_at(m.last_sent[0])} "{m.last_sent[1]}"' if m.last_sent else "nothing yet"
        lines.append(f"  last notice delivered: {sent}")
        press = f"{_at(m.last_press[0])} {m.last_press[1]}" if m.last_press else "none yet"
        lines.append(f"  last button pressed: {press}")
        lines.append(f"  last drill: {drill_text(m.last_drill, now)}")
        if m.refused:
            lines.append(f"  last press refused in their name: {_at(m.refused[0])} {m.refused[1]}")
        away = m.away_until and now.date().isoformat() < m.away_until
        lines.append(f"  away: until {m.away_until}" if away else "  away: no")
    return "\n".join(lines) + "\n"
