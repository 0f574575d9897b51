"""Who can do what: the one line in an alert that tells each member who else is near or holds a key."""

from __future__ import annotations

from datetime import date, datetime

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.notifier.escalation import circle_of
from sentinel.notifier.ntfy import cut

LINE_LIMIT = 240  # bytes: one short line under the alert's reason, well within what a push carries
MOST = 2  # people named: more is a list nobody reads on a lock screen


def can_do(member: MemberConfig) -> list[str]:
    """What ``member`` can do, as parts of a sentence: 'has a key', 'is 2 min away'."""
    parts = []
    if member.key:
        parts.append("has a key")
    if member.first_aid:
        parts.append("knows first aid")
    if member.car:
        parts.append("has a car")
    if member.minutes_away is not None:
        parts.append(f"is {member.minutes_away} min away")
    return parts


def _rank(member: MemberConfig) -> tuple[bool, int, bool]:
    """Key holders first, then the nearest, then first aid."""
    return (not member.key, member.minutes_away if member.minutes_away is not None else 10_000, not member.first_aid)


def nearest(circle: CircleConfig, home: HomeCircle) -> str | None:
    """With ``first_tier: nearest``, the member of the tiers best placed to go; else None (the tiers as written)."""
    if home.first_tier != "nearest":
        return None
    members = [circle.member(m) for m in dict.fromkeys(m for tier in home.tiers for m in tier)]
    if not any(m.key or m.minutes_away is not None for m in members):
        return None  # nothing says who is nearer: the tiers as written
    return min(members, key=_rank).id


def helpers_line(
    circle: CircleConfig, home: HomeCircle, member_id: str, now: datetime, troubled: frozenset[str] = frozenset()
) -> str:
    """'Ann has a key and is 2 min away; Bob knows first aid.' for ``member_id``, naming others.

    Not those who are away, nor those whose own home has an alarm open (``troubled``): they are not coming.
    """
    others = [
        circle.member(m)
        for m in circle_of(home)
        if m != member_id and m not in troubled and can_do(circle.member(m)) and not _away(circle.member(m), now)
    ]
    said = [f"{m.name} {_and(can_do(m))}" for m in sorted(others, key=_rank)[:MOST]]
    return cut("; ".join(said) + ".", LINE_LIMIT) if said else ""


def _away(member: MemberConfig, now: datetime) -> bool:
    return bool(member.away_until and now.date() < date.fromisoformat(member.away_until))


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
