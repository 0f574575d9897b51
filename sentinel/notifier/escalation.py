"""Who is told what, and when: a pure function of the circle, the incident and the time.

An incident walks a fixed path of steps: each tier in turn, `step` apart, for
`rounds` rounds, then a final call to everyone. At each step only members who
are available then are notified; a step with nobody available is skipped at
once. The final call reaches everyone who is not away, on call or not, and if
everyone is away, everyone all the same: an alert never goes nowhere. A member
whose own home has an open alert counts as unavailable too (a street where
neighbours watch each other), unless nobody else can be asked.
A member who says "I can't go" is not asked again before the final call. A
claim ("I'm going") stops the walk; the incident stays open until it is
resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig
from sentinel.core.windows import within

URGENT = "critical"
LOW = "low"  # a follow-up: it waits for quiet hours to end rather than wake anyone or skip them
HOLD_S = 900  # a low incident with nobody available at its step looks again this much later
PRIORITY = {"critical": 5, "high": 4, "normal": 3, "low": 2}


@dataclass(frozen=True, slots=True)
class Step:
    """One step on an incident's path."""

    index: int
    audience: tuple[str, ...]
    final: bool
    round: int


def circle_of(home: HomeCircle) -> tuple[str, ...]:
    """Everyone in a home's circle: its tiers, then its kit's keepers, each once."""
    return tuple(dict.fromkeys([*(m for tier in home.tiers for m in tier), *home.kit]))


def keepers_of(home: HomeCircle) -> tuple[str, ...]:
    """Who looks after the kit: ``kit``, else the first tier."""
    return tuple(home.kit or home.tiers[0])


def path(home: HomeCircle, severity: str, first: str | None = None) -> list[Step]:
    """Every step an incident can take, in order (``first``: asked alone before the tiers in each round)."""
    everyone = tuple(dict.fromkeys(m for tier in home.tiers for m in tier))
    tiers = [everyone] if severity == URGENT else [tuple(t) for t in home.tiers]
    if first is not None and severity != URGENT:
        rest = [tuple(m for m in tier if m != first) for tier in tiers]
        tiers = [(first,), *(tier for tier in rest if tier)]
    steps: list[Step] = []
    for round_ in range(home.rounds):
        for tier in tiers:
            steps.append(Step(len(steps), tier, False, round_))
    steps.append(Step(len(steps), everyone, True, home.rounds))
    return steps


def available(member: MemberConfig, at: datetime, urgent: bool, final: bool = False) -> bool:
    """Whether ``member`` may be notified at ``at`` (urgent alerts break quiet hours, the final call on_call too)."""
    if away(member, at):
        return False
    if not final and member.on_call and not any(within(at, w.start, w.end, w.days) for w in member.on_call):
        return False
    quiet = member.quiet_hours
    return urgent or quiet is None or not within(at, quiet.start, quiet.end, quiet.days)


def away(member: MemberConfig, at: datetime) -> bool:
    """Whether ``member`` is away at ``at`` (``away_until``: the day they are back)."""
    return bool(member.away_until) and at.date() < date.fromisoformat(member.away_until or "")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an incident is on its path."""

    next_index: int
    next_at: datetime


@dataclass(frozen=True, slots=True)
class Taken:
    """What ``walk`` decided: the step due (None: none now), who is told, and what comes next."""

    step: Step | None
    audience: tuple[str, ...]
    progress: Progress
    passed_over: tuple[str, ...] = ()  # in trouble at home: not asked, though available
    leaned_on: tuple[str, ...] = ()  # in trouble at home, but told: nobody else in the circle can be asked
    despite_away: tuple[str, ...] = ()  # away, but told: everyone is, and a final call must reach someone


def walk(
    circle: CircleConfig,
    home: HomeCircle,
    severity: str,
    progress: Progress,
    now: datetime,
    agreed: frozenset[str] | None = None,
    troubled: frozenset[str] = frozenset(),
    declined: frozenset[str] = frozenset(),
    first: str | None = None,
) -> Taken:
    """The step due at ``now`` (skipping those with nobody available), its audience, and what comes next.

    ``agreed``: the members who have agreed to be counted on (None: everyone). A step whose audience has
    not agreed still tells them, but does not wait for them: the next step follows at once. A phone that
    may never ring must not cost the resident a whole step. While nobody who has agreed can be asked
    now, everyone counts as before (the circle is new, or those who agreed are away or in quiet hours).

    ``troubled``: members whose own home has an open alert. They are passed over like an away member,
    unless nobody else in the circle can be asked now: then they are told as before, never nobody.

    ``declined``: members who said 'I can't go' to this incident; only the final call reaches them.
    ``first``: the member asked alone at the start of each round (``first_tier: nearest``).
    """
    steps = path(home, severity, first)
    index = progress.next_index
    passed: dict[str, None] = {}
    while index < len(steps):
        step = steps[index]
        # The final call is the loudest: it goes to everyone who is not away, quiet hours and on call or not
        # (a low incident, such as a follow-up, breaks nobody's quiet hours, nor calls anyone off call).
        loudest = step.final and severity != LOW
        urgent = severity == URGENT or loudest
        cannot = frozenset() if step.final else declined
        free = tuple(m for m in step.audience if m not in cannot and available(circle.member(m), now, urgent, loudest))
        # Someone who said they cannot go is nobody else who can be asked: then the troubled are asked after all.
        spared = spared_now(circle, home, now, urgent, troubled, cannot)
        passed.update(dict.fromkeys(m for m in free if m in spared))
        audience = tuple(m for m in free if m not in spared)
        index += 1
        if audience:
            counted = agreed if agreed is None else agreed - spared - declined
            wait = home.step if counts(circle, home, severity, audience, now, counted, first) else 0.0
            leaned = tuple(m for m in audience if m in troubled)
            return Taken(step, audience, Progress(index, now + timedelta(seconds=wait)), tuple(passed), leaned)
        if loudest:  # everyone is away: better a phone on holiday than nobody at all
            return Taken(step, step.audience, Progress(index, now), tuple(passed), despite_away=step.audience)
    if severity == LOW and progress.next_index < len(steps):
        # Nobody at all can be asked now (night, or away): it waits where it was instead of running out.
        return Taken(None, (), Progress(progress.next_index, now + timedelta(seconds=HOLD_S)), tuple(passed))
    return Taken(None, (), Progress(index, now), tuple(passed))


def spared_now(
    circle: CircleConfig,
    home: HomeCircle,
    now: datetime,
    urgent: bool,
    troubled: frozenset[str],
    declined: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """Who in trouble is passed over now: all of them, unless nobody else in the circle can be asked now."""
    others = (m for tier in home.tiers for m in tier if m not in troubled and m not in declined)
    return troubled if any(available(circle.member(m), now, urgent) for m in others) else frozenset()


def counts(
    circle: CircleConfig,
    home: HomeCircle,
    severity: str,
    audience: tuple[str, ...],
    now: datetime,
    agreed: frozenset[str] | None,
    first: str | None = None,
) -> bool:
    """Whether a step told to ``audience`` is worth waiting for: someone in it agreed, or nobody who did can help."""
    if agreed is None or any(m in agreed for m in audience):
        return True
    urgent = severity == URGENT
    tiers = {m for step in path(home, severity, first) if not step.final for m in step.audience}
    return not any(m in agreed and available(circle.member(m), now, urgent) for m in tiers)


def unagreed(audience: tuple[str, ...], agreed: frozenset[str] | None) -> tuple[str, ...]:
    """Who in ``audience`` has not agreed to be counted on."""
    return () if agreed is None else tuple(m for m in audience if m not in agreed)
