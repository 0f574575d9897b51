"""Times across a change of summer time: compared by the instant, and held to the clock's time of day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sentinel.config.circle import MemberConfig
from sentinel.config.detection import Window
from sentinel.notifier.schedule import quiet_until
from sentinel.notifier.store import NotifierStore

SUMMER = timezone(timedelta(hours=1))  # e.g. British Summer Time, until 02:00 on 25 October 2026
WINTER = UTC  # and Greenwich Mean Time after it
STEP_DUE = datetime(2026, 10, 25, 1, 59, tzinfo=SUMMER)  # 00:59 UTC
AFTER_THE_CHANGE = datetime(2026, 10, 25, 1, 1, tzinfo=WINTER)  # 01:01 UTC: two minutes later


def alert() -> dict[str, str]:
    raised = STEP_DUE.isoformat()
    return {"alert_id": "mary-help-1", "kind": "help", "severity": "critical", "reason": "help", "raised_at": raised}


def test_a_step_and_a_delivery_due_before_the_clocks_go_back_are_due_after_it(tmp_path: Path) -> None:
    store = NotifierStore(tmp_path / "notifier.db")
    try:
        assert store.open_incident(alert(), "mary", STEP_DUE - timedelta(minutes=5))
        store.advance("mary-help-1", 1, STEP_DUE)
        store.deliver("mary-help-1", "mary", "ann", {"kind": "alert", "title": "t"}, STEP_DUE)
        # As text, "2026-10-25T01:59:00+01:00" sorts after "2026-10-25T01:01:00+00:00": the step would wait an hour.
        assert [i.alert_id for i in store.due_incidents(AFTER_THE_CHANGE)] == ["mary-help-1"]
        assert [d.member for d in store.due_deliveries(AFTER_THE_CHANGE)] == ["ann"]
        assert store.next_step_at() == STEP_DUE
        assert store.due_incidents(STEP_DUE - timedelta(seconds=1)) == []
    finally:
        store.close()


def test_a_drill_is_missed_by_the_instant_its_day_to_answer_ends(tmp_path: Path) -> None:
    store = NotifierStore(tmp_path / "notifier.db")
    try:
        sent = datetime(2026, 10, 24, 1, 59, tzinfo=SUMMER)
        assert store.drill_sent("drill-20261024T0159", "ann", sent, STEP_DUE)
        assert [d.member for d in store.drills_missed(AFTER_THE_CHANGE)] == ["ann"]
        assert store.drills_missed(STEP_DUE - timedelta(seconds=1)) == []
    finally:
        store.close()


def test_a_drill_held_for_the_end_of_quiet_hours_comes_at_seven_on_the_clock_after_the_change(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    try:
        ann = MemberConfig(id="ann", name="Ann", topic="ann-topic-0001", quiet_hours=Window(start="22:00", end="07:00"))
        held = quiet_until(ann, datetime(2026, 10, 24, 23, 0).astimezone())  # 23:00 BST, the night the clocks go back
        assert held is not None and (held.hour, held.utcoffset()) == (7, timedelta(0))  # 07:00 GMT, not 06:00
    finally:
        monkeypatch.undo()
        time.tzset()
