"""Alerts: what the circle is told, with a stable id for de-duplication."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Severity = Literal["critical", "high", "normal", "low"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert; ``reason`` is a sentence a neighbour understands."""

    alert_id: str
    home: str
    kind: str
    severity: Severity
    raised_at: datetime
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON body published on the alert topic."""
        return {
            "alert_id": self.alert_id,
            "home": self.home,
            "kind": self.kind,
            "severity": self.severity,
            "raised_at": self.raised_at.isoformat(timespec="seconds"),
            "reason": self.reason,
            "facts": self.facts,
        }


def alert_id(home: str, kind: str, at: datetime, nonce: str) -> str:
    """A readable id unique per home: home, kind, local time and a random nonce."""
    return f"{home}-{kind}-{at:%Y%m%dT%H%M%S}-{nonce}"


def help_alert(home: str, name: str, how: str, sensor: str, room: str | None, at: datetime, nonce: str) -> Alert:
    """The resident pressed the help button."""
    where = f" in the {room}" if room else ""
    return Alert(
        alert_id=alert_id(home, "help", at, nonce),
        home=home,
        kind="help",
        severity="critical",
        raised_at=at,
        reason=f"{name} pressed the help button{where} at {at:%H:%M} ({how}).",
        facts={"sensor": sensor, "room": room, "gesture": how},
    )
