"""A property-based state machine: the notifier's escalation against a small reference model.

The real Notifier (its store, escalation and signed acknowledgements; no network)
is driven by random waits, claims, resolutions and forged presses; after every
rule the notifications it queued must be exactly those the model expects.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sentinel.clock import ManualClock
from sentinel.config import parse_circle_config
from sentinel.config.circle import NtfyConfig
from sentinel.notifier.ntfy import Ntfy
from sentinel.notifier.service import Notifier
from sentinel.notifier.store import NotifierStore
from sentinel.notifier.tokens import Ack, sign

SECRET = "model-secret-0123456789"
START = datetime(2026, 3, 3, 12, 0).astimezone()
MEMBERS = ("ann", "bob", "carol", "dan")


def circle_text(tiers: list[list[str]], away: set[str], rounds: int, state: Path) -> str:
    members = "".join(
        f"  - {{id: {m}, name: {m.title()}, topic: topic-{m}-000000000"
        + (", away_until: '2027-01-01'" if m in away else "")
        + "}\n"
        for m in MEMBERS
    )
    return (
        "ntfy: {server: 'http://127.0.0.1:9', ack_topic: acks-model-00000001}\n"
        f"members:\n{members}"
        f"homes:\n  - {{id: mary, name: Mary, tiers: {tiers}, step: 5m, rounds: {rounds}, kit: [ann]}}\n"
        f"watch_silence: false\nstate_dir: {state}\n"
    ).replace("'", '"')


class Escalation(RuleBasedStateMachine):
    """The system under test and the model, side by side."""

    @initialize(
        tiers=st.lists(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=3, unique=True), min_size=1, max_size=3),
        away=st.sets(st.sampled_from(MEMBERS), max_size=2),
        rounds=st.integers(1, 3),
        urgent=st.booleans(),
    )
    def setup(self, tiers: list[list[str]], away: set[str], rounds: int, urgent: bool) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        cfg = parse_circle_config(circle_text(tiers, away, rounds, Path(self.tmp.name)))
        self.clock = ManualClock(START)
        self.store = NotifierStore(Path(self.tmp.name) / "n.db")
        # Never started: no request leaves this process (the address is a closed port on loopback anyway).
        ntfy = Ntfy(NtfyConfig(ack_topic="acks-model-00000001", server="http://127.0.0.1:9"))
        self.notifier = Notifier(cfg, self.store, ntfy, self.clock)
        severity = "critical" if urgent else "high"
        self.notifier.receive_alert(
            "mary", {"alert_id": "a1", "kind": "help" if urgent else "inactivity", "severity": severity, "reason": "r"}
        )
        # The model: the list of (time offset in steps, audience, final) it must send, in order.
        everyone = list(dict.fromkeys(m for t in tiers for m in t))
        path = [(everyone if urgent else t, False) for _ in range(rounds) for t in ([everyone] if urgent else tiers)]
        path.append((everyone, True))
        self.expected: list[tuple[float, tuple[str, ...]]] = []
        self.plan: list[tuple[tuple[str, ...], bool]] = [
            # The final call with everyone away goes to them all the same: never nobody.
            (tuple(m for m in audience if m not in away) or (tuple(audience) if final else ()), final)
            for audience, final in path
        ]
        self.model_next = 0.0  # seconds after START at which the next step is due
        self.elapsed = 0.0
        self.claimed: str | None = None
        self.closed = False
        # The one going is asked arrive_within (30 min) after their claim, and let go a step after that.
        self.ask_at = self.let_go_at = float("inf")
        self.declined: set[str] = set()  # let go: asked again only by the final call
        self.final = next(audience for audience, final in self.plan if final)
        self.notifier.step()
        self._model_catch_up()

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.notifier.ntfy.close()
            self.store.close()
            self.tmp.cleanup()

    def _model_catch_up(self) -> None:
        """Take every step the model says is due by now."""
        while self.plan and not self.claimed and not self.closed and self.model_next <= self.elapsed:
            audience, final = self.plan.pop(0)
            audience = audience if final else tuple(m for m in audience if m not in self.declined)
            if not audience:
                continue  # nobody available: skipped at once
            self.expected.append((self.model_next, audience))
            self.model_next = float("inf") if final else self.elapsed + 300
            if final:
                self.plan.clear()

    def _sent(self) -> list[tuple[str, ...]]:
        steps = [(what, detail) for _, what, _, detail in self.store.steps("a1")]
        return [
            tuple(detail.split(" (")[0].split(", ")) for what, detail in steps if what.startswith(("step", "final"))
        ]

    @rule(seconds=st.sampled_from([1, 60, 299, 300, 301, 900]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.elapsed += seconds
        self.notifier.step()
        if self.claimed and not self.closed and self.elapsed >= self.let_go_at:
            self.declined.add(self.claimed)
            self.claimed, self.let_go_at = None, float("inf")
            if not self.plan:  # everyone had been called: the final call again, now
                self.plan, self.model_next = [(self.final, True)], self.elapsed
        elif self.claimed and not self.closed and self.elapsed >= self.ask_at:
            self.ask_at, self.let_go_at = float("inf"), self.elapsed + 300
        self._model_catch_up()

    def _press(self, member: str, action: str, forged: bool = False) -> str | None:
        expires = int(self.clock.now().timestamp()) + 3600
        token = sign(SECRET.encode(), "mary", "a1", member, action, expires)
        if forged:
            token = sign(b"not-the-key-000000", "mary", "a1", member, action, expires)
        return self.notifier.apply_ack(Ack("mary", "a1", member, action, expires, token))

    @precondition(lambda self: self.expected)
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        member = data.draw(st.sampled_from(sorted({m for _, a in self.expected for m in a})))
        self._press(member, "claim")
        if not self.claimed and not self.closed:
            self.claimed, self.ask_at = member, self.elapsed + 1800

    @rule(member=st.sampled_from(MEMBERS))
    def forged_claim(self, member: str) -> None:
        assert self._press(member, "claim", forged=True) == "forged token"

    @precondition(lambda self: self.expected and not self.closed)
    @rule()
    def resolve(self) -> None:
        assert self._press(self.expected[0][1][0], "resolve") is None
        self.closed = True

    @invariant()
    def sends_what_the_model_says(self) -> None:
        if not hasattr(self, "store"):
            return
        assert self._sent() == [audience for _, audience in self.expected]
        incident = self.store.incident("a1")
        assert incident is not None
        assert incident.claimed_by == self.claimed
        assert (incident.closed_at is not None) == self.closed


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)


TestEscalation = pytest.mark.long(8)(Escalation.TestCase)
TestEscalation.settings = settings(
    max_examples=60, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
