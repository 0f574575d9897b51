"""An all clear kept across a restart counts the quiet from it only on the clock that never jumps.

A wall clock set back, set forward, or not yet set after a power cut must never make the alert come later than
the last sign of life says, nor bring a false one at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_agent import from_the_circle
from test_watch import Flat

from conftest import wait_for
from sentinel.clock import ManualClock


def _alert_then_all_clear(first: Flat, rec, jump_s: float = 0.0) -> tuple[str, float]:
    first.move("kitchen_pir")  # 09:00
    first.advance(first.line())
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    first.advance(600)
    first.clock.jump(jump_s)  # the wall clock is off by this much when the all clear is stamped
    from_the_circle(first, alert_id, "resolve")
    wait_for(lambda: (first.agent.pump(), not first.store.open_alerts("mary"))[1], 5, "the all clear")
    return alert_id, first.clock.monotonic()


def test_a_clock_set_back_after_the_all_clear_does_not_hide_a_later_sign_across_a_restart(flat, recorder) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    _alert_then_all_clear(first, rec, jump_s=3 * 3600)  # the clock ran 3 h ahead
    first.advance(300)
    first.clock.jump(-3 * 3600)  # NTP sets it right
    first.advance(300)
    first.move("living_pir")  # she is up: a real sign after the all clear
    sign = first.clock.monotonic()
    watch = first.agent.watch
    assert watch is not None and watch._since_mono == pytest.approx(sign) and watch._counted_from is None
    first.advance(2 * 3600)  # and then she falls
    second = first.restart()  # a power blip, an update: the agent restarts (the Pi does not)
    again = second.agent.watch
    assert again is not None
    # Counted from her sign, as before the restart (the restore alone does it exactly, on the monotonic clock).
    late = again._since_mono - sign
    second.advance(sign + second.line() + 60 - second.clock.monotonic())  # a minute past her sign's line
    told = second.store.open_alerts("mary")
    assert told, f"no alert a minute past the line counted from her sign (counted {late:+.0f} s late)"
    assert "after the all clear" not in told[-1].reason


def test_a_clock_set_back_after_the_all_clear_does_not_delay_the_next_alert_across_a_restart(flat, recorder) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    _, cleared = _alert_then_all_clear(first, rec, jump_s=3 * 3600)
    first.advance(300)
    first.clock.jump(-3 * 3600)  # NTP sets it right
    first.advance(3300)
    second = first.restart()
    again = second.agent.watch
    assert again is not None
    assert again._since_mono == pytest.approx(cleared, abs=1), (
        f"quiet counted from {again._since_mono - cleared:+.0f} s after the all clear"
    )


def test_a_clock_set_forward_after_the_all_clear_brings_no_alert_at_once_after_a_restart(flat, recorder) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    _alert_then_all_clear(first, rec)
    first.advance(300)
    first.clock.jump(8 * 3600)  # NTP sets a clock that was behind (fake-hwclock after a long power cut)
    first.advance(300)
    second = first.restart()
    second.advance(5)
    assert [a.alert_id for a in second.store.open_alerts("mary")] == [], "a second alert at once"


def test_a_reboot_after_a_long_power_cut_with_the_clock_not_yet_set_is_not_later_than_without_the_all_clear(
    flat, recorder
) -> None:
    rec = recorder(["sentinel/mary/alert"])
    first = flat()
    _alert_then_all_clear(first, rec)  # kitchen 09:00, alert 12:11, all clear 12:21
    first.advance(600)
    saved = first.clock.now()  # 12:31: fake-hwclock's last save; the power goes at 12:40 and is back at 20:00
    # A new boot; until NTP answers, the clock reads the time last saved (and the agent relearns at once).
    stale = ManualClock(saved + timedelta(minutes=1))
    second = first.restart(clock=stale)
    stale.advance(5)
    second.agent.pump()
    stale.jump(7.5 * 3600)  # NTP: it is 20:00 really
    second.advance(60)
    # Quiet 8 h since the all clear, 11 h since her last sign: the restore alone (quiet counted 3 h 31 min, past
    # the 3 h 11 min line) alerts at once; counted from the all clear on the stale clock, it waits ~3 h more.
    assert second.store.open_alerts("mary"), (
        f"no alert; the watch counts {second.agent.watch.quiet_for(stale.monotonic()) / 60:.0f} min of quiet"
    )


def test_a_restart_after_her_answer_from_the_phone_does_not_ask_her_again_at_once(flat) -> None:
    import json

    first = flat(checkin=True)
    first.move("kitchen_pir")
    line = first.line()
    first.advance(line + 60)
    assert first.agent.status == "checking"
    body = json.dumps({"who": "Mary's phone"})
    first.agent.link.client.publish("sentinel/mary/cmd/ok", body, qos=1).wait_for_publish(5)
    wait_for(lambda: (first.agent.pump(), first.agent.status == "ok")[1], 5, "her answer")
    first.advance(600)
    second = first.restart()  # an update
    second.advance(5)
    # Before: counted from the kitchen again after the restart, she was asked again at once.
    assert second.agent.status == "ok"
    second.advance(line - 600)
    assert second.agent.status == "checking"  # a whole wait after her answer
