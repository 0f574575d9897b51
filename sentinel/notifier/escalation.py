"""Who is told what, and when: a pure function of the circle, the incident and the time.

An incident walks a fixed path of steps: each tier in turn, `step` apart, for
`rounds` rounds, then a final call to everyone. At each step only members who
are available then are notified; a step with nobody available is skipped at
once. A claim ("I'm going") stops the walk; the incident stays open until it is
resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.core.windows import within

URGENT = "critical"
PRIORITY = {"critical": 5, "high": 4, "normal": 3, "low": 2}


@dataclass(frozen=True, slots=True)
class Step:
    """One step on an incident's path."""

    index: int
    audience: tuple[str, ...]
    final: bool
    round: int


def path(home: HomeCircle, severity: str) -> list[Step]:
    """Every step an incident can take, in order."""
    everyone = tuple(dict.fromkeys(m for tier in home.tiers for m in tier))
    tiers = [everyone] if severity == URGENT else [tuple(t) for t in home.tiers]
    steps: list[Step] = []
    for round_ in range(home.rounds):
        for tier in tiers:
            steps.append(Step(len(steps), tier, False, round_))
    steps.append(Step(len(steps), everyone, True, home.rounds))
    return steps


def available(member: MemberConfig, at: datetime, urgent: bool) -> bool:
    """Whether ``member`` may be notified at ``at`` (urgent alerts break quiet hours)."""
    if member.away_until and at.date() < date.fromisoformat(member.away_until):
        return False
    if member.on_call and not any(within(at, w.start, w.end, w.days) for w in member.on_call):
        return False
    quiet = member.quiet_hours
    return urgent or quiet is None or not within(at, quiet.start, quiet.end, quiet.days)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an incident is on its path."""

    next_index: int
    next_at: datetime


def take_step(
    circle: CircleConfig, home: HomeCircle, severity: str, progress: Progress, now: datetime
) -> tuple[Step | None, tuple[str, ...], Progress]:
    """The step due at ``now`` (skipping those with nobody available), its audience, and what comes next."""
    steps = path(home, severity)
    index = progress.next_index
    while index < len(steps):
        step = steps[index]
        # The final call is the loudest: it goes to everyone who is not away, quiet hours or not.
        urgent = severity == URGENT or step.final
        audience = tuple(m for m in step.audience if available(circle.member(m), now, urgent))
        index += 1
        if audience:
            return step, audience, Progress(index, now + timedelta(seconds=home.step))
    return None, (), Progress(index, now)

