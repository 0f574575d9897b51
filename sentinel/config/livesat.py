"""A rule across the circle's homes and members: where a member lives, they are not their own helper."""

from __future__ import annotations

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
