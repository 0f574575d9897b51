"""A monitor left away or paused: the keepers are reminded, since only the help button raises an alert then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_agent import PIR_PIN, T0, Home

from conftest import Mosquitto
from sentinel.agent.modes import ModeWatch
from sentinel.clock import ManualClock

MON_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_away_is_told_when_someone_is_seen_and_again_only_a_day_later_and_only_if_seen_again() -> None:
    watch = ModeWatch("away", MON_10)
    watch.activity(MON_10 + timedelta(minutes=20))  # still packing: not a return
    assert watch.due("mary", "Mary", MON_10 + 2 * HOUR) is None
    watch.activity(MON_10 + 3 * HOUR)  # the neighbour watering the plants, or Mary back
    notice = watch.due("mary", "Mary", MON_10 + 3 * HOUR)
    assert notice is not None and notice.kind == "still_away"
    assert notice.notice_id == "mary-away-20260302T1000-20260302T1300"
    assert notice.text == (
        "Mary's monitor was set to away on Mon 02 Mar 10:00, but someone has been at home since Mon 13:00. If Mary"
        " is back, set it to home: until then only the help button raises an alert."
    )
    watch.activity(MON_10 + 4 * HOUR)
    assert watch.due("mary", "Mary", MON_10 + 20 * HOUR) is None  # not twice in a day
    again = watch.due("mary", "Mary", MON_10 + 27 * HOUR)
    assert again is not None and again.notice_id == "mary-away-20260302T1000-20260302T1400"
    # Nobody seen since: a fortnight away with the plants watered once is told once.
    assert watch.due("mary", "Mary", MON_10 + 60 * HOUR) is None


def test_paused_is_told_a_day_after_and_every_day_and_home_never() -> None:
    watch = ModeWatch("paused", MON_10)
    assert watch.due("mary", "Mary", MON_10 + 23 * HOUR) is None
    first = watch.due("mary", "Mary", MON_10 + 24 * HOUR)
    assert first is not None and first.kind == "still_paused" and first.notice_id == "mary-paused-20260302T1000-1"
    assert "paused since Mon 02 Mar 10:00: only the help button raises an alert" in first.text
    assert watch.due("mary", "Mary", MON_10 + 47 * HOUR) is None
    second = watch.due("mary", "Mary", MON_10 + 48 * HOUR)
    assert second is not None and second.notice_id == "mary-paused-20260302T1000-2"
    home = ModeWatch("home", MON_10)
    home.activity(MON_10 + 3 * HOUR)
    assert home.due("mary", "Mary", MON_10 + 50 * HOUR) is None


def test_the_agent_reminds_the_keepers_of_away_when_someone_moves_and_a_restart_tells_it_not_twice(
    tmp_path: Path, broker: Mosquitto, recorder
) -> None:
    clock = ManualClock(T0)
    h = Home(tmp_path, broker.port, clock=clock)
    rec = recorder([h.topics.notice])
    try:
        h.start(threaded=False)
        h.agent.set_mode("away", "set to away by Bob")
        h.wait(2 * 3600)
        h.pin(PIR_PIN).drive_high()
        h.wait(1)
        h.pin(PIR_PIN).drive_low()
        h.pump_until(lambda: rec.on(h.topics.notice), "the keepers' reminder")
        (notice,) = rec.on(h.topics.notice)
        assert notice["kind"] == "still_away" and "set to away on Mon 02 Mar 09:00" in notice["text"]
        h.stop()
        clock.advance(60)
        h = Home(tmp_path, broker.port, clock=clock)  # the same store: when it was set, and who was seen, are kept
        h.start(threaded=False)
        h.pump_until(lambda: len(rec.on(h.topics.notice)) == 2, "the reminder after the restart")
        assert rec.on(h.topics.notice)[1]["notice_id"] == notice["notice_id"]  # the notifier tells one id once
        h.agent.set_mode("home", "back")
        h.wait(3 * 86400)
        h.pin(PIR_PIN).drive_high()
        h.wait(1)
        assert h.agent.modes.due("testhome", "Mary", clock.now()) is None  # home: nothing to remind
    finally:
        h.stop()


def test_away_set_before_the_start_was_kept_is_counted_from_the_first_start_not_each(
    tmp_path: Path, broker: Mosquitto
) -> None:
    from sentinel.store import Store

    old = Store(tmp_path / "agent.db")  # away, set by a version that did not keep when
    old.set_setting("mode", "away")
    old.close()
    clock = ManualClock(T0)
    h = Home(tmp_path, broker.port, clock=clock).start(threaded=False)
    try:
        assert h.agent.mode == "away" and h.agent.modes.since == T0
        h.stop()
        clock.advance(2 * 86400)
        h = Home(tmp_path, broker.port, clock=clock).start(threaded=False)
        assert h.agent.modes.since == T0  # before: each restart moved it, and a paused home was never reminded
    finally:
        h.stop()
