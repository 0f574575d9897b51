"""The night the clocks go back: what an alert says of the last sign is what the clock read then."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from test_agent import PIR_PIN, Home

from conftest import Mosquitto
from sentinel.clock import ManualClock


class LocalClock(ManualClock):
    """A manual clock read as the machine reads its own: in the UTC offset of the moment (summer time or not)."""

    def now(self) -> datetime:
        return super().now().astimezone()


def test_the_last_sign_is_told_as_the_clock_read_then(london, tmp_path: Path, broker: Mosquitto, recorder) -> None:
    clock = LocalClock(datetime(2026, 10, 25, 0, 46, tzinfo=UTC))  # 01:46 BST; at 02:00 BST it is 01:00 GMT
    h = Home(tmp_path, broker.port, clock=clock)
    rec = recorder([h.topics.alert])
    try:
        h.start(threaded=False)
        h.pin(PIR_PIN).drive_high()
        h.wait(1)
        h.pin(PIR_PIN).drive_low()
        for _ in range(26 * 6):  # up to a day, ten minutes at a time
            h.wait(600)
            if rec.on(h.topics.alert):
                break
        alert = rec.on(h.topics.alert)[0]
        # Before: "since 00:46", the time less the quiet on today's clock, an hour off.
        assert alert["reason"].startswith("No sign of activity since 01:46 ("), alert["reason"]
    finally:
        h.stop()


def test_signs_stamped_before_ntp_set_the_clock_do_not_end_the_learning_week() -> None:
    # A new Pi boots with the date its card was made (fake-hwclock): its first signs are stamped months back,
    # then NTP sets the clock. Before, those few signs made the window look a week long: the routine was learned
    # from a day and alerted after 30 min of quiet.
    from sentinel.core.events import Event
    from sentinel.demo.resident import Resident
    from sentinel.detect.learn import learn
    from sentinel.detect.lines import Params, Warmup
    from sentinel.detect.summary import Request

    rows = Resident(seed=3).days(datetime(2026, 11, 25, tzinfo=UTC), 3)
    boot = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # the card's date; the monotonic clock counts from the boot
    early = [Event("kitchen_pir", "motion", i % 2, "kitchen", boot.replace(minute=i), 10.0 + 60 * i) for i in range(6)]
    synced = rows[0].at  # NTP sets the clock ten minutes after the boot
    later = [Event(r.sensor, r.kind, r.value, r.room, r.at, 610.0 + (r.at - synced).total_seconds()) for r in rows]
    summary = learn(early + later, [], Request(rows[-1].at, Params(), Warmup()))
    assert summary.model is None  # still learning: three days of signs, not six months
