"""`sentinel incidents ALERT_ID`: an incident's whole story in a few lines, then its full record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sentinel.notifier.store import Incident, NotifierStore

Step = tuple[datetime, str, str | None, str]


def render(store: NotifierStore, incident: Incident) -> Iterator[str]:
    """The summary (raised, told, who could not go, claimed, on scene, closed, follow-up), then the whole record."""
    steps = store.steps(incident.alert_id)
    yield f"{incident.alert_id}: {incident.kind} at {incident.home}, severity {incident.severity}"
    yield f"  {incident.reason}"
    yield from _summary(store, incident, steps)
    yield "  Record:"
    for at, what, member, detail in steps:
        who = f" {member}" if member else ""
        text = "" if what == "received" else f": {detail}" if detail else ""
        yield f"  {at:%Y-%m-%d %H:%M:%S}  {what}{who}{text}"


def _summary(store: NotifierStore, incident: Incident, steps: list[Step]) -> Iterator[str]:
    received = next((at for at, what, _, _ in steps if what == "received"), None)
    raised = f"{incident.raised_at:%a %d %b %H:%M}"
    yield _line("Raised", raised + (f" (received {received:%H:%M})" if received else ""))
    told = [f"{d} at {at:%H:%M}" for at, what, _, d in steps if what.startswith("step ") or what == "final call"]
    yield _line("Told", "; ".join(told) or "nobody yet")
    cannot = [f"{member} at {at:%H:%M}" for at, what, member, _ in steps if what == "declined"]
    if cannot:
        yield _line("Can't go", ", ".join(cannot))
    going = [_went(at, what, member) for at, what, member, _ in steps if what in ("claimed", "released")]
    if going:
        yield _line("Going", ", ".join(going))
    there = [f"{member} {what} at {at:%H:%M}" for at, what, member, _ in steps if what in ("on scene", "with")]
    if there:
        yield _line("There", ", ".join(there))
    last = [detail for _, what, _, detail in steps if what == "last resort"]
    if last:
        yield _line("Last resort", last[-1])
    if incident.closed_at:
        yield _line("Closed", f"{incident.closed_at:%a %d %b %H:%M} by {incident.closed_by}: {incident.close_note}")
    else:
        yield _line("Closed", "no, still open")
    follow = store.follow_up_of(incident.alert_id)
    if follow is not None:
        if follow.answered_at:
            said = next((d for _, w, _, d in reversed(steps) if w == "follow-up answered"), follow.answer or "")
            text = f"{follow.member} answered {follow.answered_at:%a %H:%M}: {said}"
        elif follow.asked_at:
            text = f"{follow.member} asked {follow.asked_at:%a %d %b %H:%M}, no answer yet"
        else:
            text = f"{follow.member} to be asked {follow.due_at:%a %d %b %H:%M}"
        opened = next((d for _, w, _, d in steps if w == "follow-up opened"), None)
        yield _line("Follow-up", text + (f"; opened {opened}" if opened else ""))
    refused = sum(1 for _, what, _, _ in steps if what == "refused")
    if refused:
        yield _line("Refused", f"{refused} button presses (forged, replayed or out of turn: see the record)")


def _went(at: datetime, what: str, member: str | None) -> str:
    return f"{member} at {at:%H:%M}" if what == "claimed" else f"{member} could not go after all ({at:%H:%M})"


def _line(label: str, text: str) -> str:
    return f"  {label + ':':<13}{text}"
