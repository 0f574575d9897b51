"""Rules across the circle's homes and members: where a member lives, they are not their own helper; someone is
left to ask; and no topic is one anybody could read."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sentinel.config.yamllines import LineDict

if TYPE_CHECKING:
    from sentinel.config.circle import CircleConfig


def check_homes_lived_at(config: CircleConfig, raw: LineDict, errors: Any) -> None:
    """A member's ``lives_at`` names a home in this file, and not one they are asked to go to."""
    homes = {home.id: home for home in config.homes}
    for i, member in enumerate(config.members):
        if member.lives_at is None:
            continue
        line = raw["members"][i].lines.get("lives_at", 1)
        home = homes.get(member.lives_at)
        if home is None:
            known = ", ".join(homes) or "none"
            errors.add(line, f"members[{i}].lives_at", f"{member.lives_at!r} is not a home here (homes: {known})")
        elif member.id in {m for tier in home.tiers for m in tier} | set(home.kit):
            # Their own alarm must never ask them to go to themselves: their phone there is the home's resident.
            errors.add(
                line,
                f"members[{i}].lives_at",
                f"{member.id!r} is in {member.lives_at!r}'s own tiers or kit: a resident is not their own helper"
                " (give the home a resident: phone instead)",
            )


def check_someone_home(config: CircleConfig, raw: LineDict, errors: Any, today: date) -> None:
    """Warn of a home whose tiers are all away (``away_until``): only its final call would reach them."""
    away = {m.id: m.away_until for m in config.members if m.away_until and today < date.fromisoformat(m.away_until)}
    for h, home in enumerate(config.homes):
        members = {m for tier in home.tiers for m in tier}
        if members and members <= set(away):
            back = min(away[m] for m in members)
            errors.warn(
                raw["homes"][h].lines.get("tiers", 1),
                f"homes[{h}].tiers",
                f"everyone is away (until {back} at the soonest): an alert reaches them only with the final call,"
                " steps later",
            )


EXAMPLE_TOPICS = frozenset(
    {
        "sentinel-acks-9f3k2m7q1x5v",
        "mary-ann-5v8q2n4k7w1z",
        "mary-bob-3h6j9p2r5t8y",
        "mary-carol-7d1f4g8k2m6n",
        "mary-own-8w3e6r9t2y5u",
    }
)
"""The topics of configs/circle.example.yaml: published with sentinel, so anyone could read or post on them."""


def check_example_topics(config: CircleConfig, raw: LineDict, errors: Any) -> None:
    """Warn of a topic kept from the example: on a public server, anyone who read the example reads the alerts."""
    used = [(raw["ntfy"].lines.get("ack_topic", 1), "ntfy.ack_topic", config.ntfy.ack_topic)]
    used += [
        (raw["members"][i].lines.get("topic", 1), f"members[{i}].topic", m.topic) for i, m in enumerate(config.members)
    ]
    for h, home in enumerate(config.homes):
        if home.resident is not None:
            lines = getattr(raw["homes"][h].get("resident"), "lines", {})
            used.append((lines.get("topic", 1), f"homes[{h}].resident.topic", home.resident.topic))
    for line, key, topic in used:
        if topic in EXAMPLE_TOPICS:
            errors.warn(line, key, f"{topic} is the example's: anyone who read it can read or post there; make one up")
