"""The day summary the circle may be told: when the resident got up, and when they were out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from conftest import agent_yaml
from sentinel.agent.app import Agent
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.core.events import Event
from sentinel.detect.day import UP_GAP, UP_RUN, DaySummary
from sentinel.notifier import messages
from sentinel.store import Store

TZ = timezone(timedelta(hours=1))
DAY = datetime(2026, 3, 3, tzinfo=TZ)


def at(hhmm: str, day: int = 0) -> datetime:
    hh, mm = hhmm.split(":")[:2]
    ss = int(hhmm.split(":")[2]) if hhmm.count(":") == 2 else 0
    return DAY + timedelta(days=day, hours=int(hh), minutes=int(mm), seconds=ss)


def motion(when: str, sensor: str = "hall_pir", day: int = 0) -> Event:
    return Event(sensor, "motion", 1, "hall", at(when, day), 0.0)


def door(when: str, value: int = 1, day: int = 0) -> Event:
    return Event("front_door", "door", value, "hall", at(when, day), 0.0)


def feed(summary: DaySummary, *events: Event) -> list[bool]:
    return [summary.feed(e) for e in events]


def morning(summary: DaySummary, start: str = "07:40") -> None:
    """Up and about: a sign every ten minutes for half an hour and more."""
    first = at(start)
    for minutes in range(0, 40, 10):
        summary.feed(Event("kitchen_pir", "motion", 1, "kitchen", first + timedelta(minutes=minutes), 0.0))


def test_the_constants_keep_their_reasons() -> None:
    assert UP_GAP < UP_RUN  # a run is at least three signs, never two far apart


def test_a_night_trip_to_the_bathroom_is_not_getting_up() -> None:
    day = DaySummary()
    trip = [motion("05:10", "bedroom_pir"), motion("05:12", "bathroom_pir"), motion("05:14", "bathroom_pir")]
    trip += [Event("toilet", "flush", 1, "bathroom", at("05:15"), 0.0), motion("05:19", "bedroom_pir")]
    trip += [motion("05:50", "bedroom_pir")]  # turning over in bed, half an hour later
    assert feed(day, *trip) == [False] * len(trip)
    assert day.up is None
    changed = feed(day, motion("07:40"), motion("07:52"), motion("08:05"), motion("08:11"), motion("08:30"))
    assert day.up == at("07:40")
    assert changed == [False, False, False, True, False]  # told once: when the run has lasted UP_RUN


def test_no_up_on_a_day_without_a_run() -> None:
    day = DaySummary()
    for hour in range(5, 23):  # a sign of life every 45 minutes or so, all day: never a busy half hour
        feed(day, motion(f"{hour:02d}:00"), motion(f"{hour:02d}:45"))
    assert day.up is None and day.outings == []


def test_a_pir_going_quiet_is_no_sign_of_life() -> None:
    day = DaySummary()
    quiet = [Event("hall_pir", "motion", 0, "hall", at(f"07:{m:02d}"), 0.0) for m in range(0, 60, 5)]
    assert feed(day, motion("06:55"), *quiet) == [False] * 13
    assert day.up is None


def test_an_outing_is_told_once_someone_moves_in_after_the_door_and_never_while_it_goes_on() -> None:
    day = DaySummary()
    morning(day)
    assert feed(day, door("10:00"), door("10:00:05", 0)) == [False, False]
    assert not day.tick(at("10:31")) and not day.tick(at("11:29"))  # the home does not say it stands empty
    assert feed(day, door("11:30"), door("11:30:05", 0), motion("11:31")) == [False, False, True]
    assert day.outings == [(at("10:00:05"), at("11:30"))]
    assert day.up == at("07:40")


def test_a_sign_indoors_while_out_means_someone_was_in() -> None:
    day = DaySummary()
    morning(day)
    # The carer leaves at 09:30; Mary stirs at 10:40 and answers the door at 11:00: she never went out.
    feed(day, door("09:30"), door("09:30:05", 0), motion("10:40"), door("11:00"), door("11:00:30", 0))
    assert not day.feed(motion("11:01")) and day.outings == []


def test_a_short_outing_told_when_it_ends_and_doorstep_moments_not_at_all() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("09:00"), door("09:00:05", 0), door("09:05"), door("09:05:05", 0), motion("09:06"))
    assert day.outings == []  # the post: minutes, not an outing
    shop = [door("10:00"), door("10:00:05", 0), door("10:20"), door("10:20:05", 0), motion("10:21")]
    assert feed(day, *shop) == [False, False, False, False, True]
    assert day.outings == [(at("10:00:05"), at("10:20"))]  # the shop: told when she is seen back in


def test_nobody_left_when_someone_moves_soon_after_the_door() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("10:00"), door("10:00:10", 0), motion("10:25"))  # a visitor let in, or a look outside
    assert not day.tick(at("12:00")) and day.outings == []


def test_a_door_alone_is_neither_getting_up_nor_an_outing() -> None:
    day = DaySummary()
    # The door rattles in the night while she sleeps; she gets up at 07:40.
    feed(day, door("04:30"), door("04:50"), door("05:40"))
    assert day.up is None and day.outings == []
    morning(day)
    assert day.up == at("07:40") and day.outings == []  # her first movement was hours after the last rattle


def test_leaving_early_is_up_from_the_run_that_led_out() -> None:
    day = DaySummary()
    feed(day, motion("06:50"), motion("06:58"), door("07:05"), door("07:05:05", 0))
    assert day.up is None  # a quarter of an hour up, then out
    assert not day.tick(at("08:00")) and day.up is None  # still out: nothing said of getting up yet
    feed(day, door("17:30"), motion("17:31"), motion("17:40"), motion("17:55"), motion("18:10"))
    assert day.up == at("06:50")  # not 17:30
    assert day.outings == [(at("07:05:05"), at("17:30"))]


def test_coming_in_by_the_door_is_not_going_out_again() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("10:00"), door("11:00"), door("11:00:05", 0), door("11:02"), motion("11:20"))
    assert day.outings == [(at("10:00"), at("11:00"))]  # the doors on coming in are the same coming in


def test_the_day_starts_at_four() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("21:00"), door("21:00:05", 0))
    assert not day.tick(at("22:00")) and day.outings == [] and day.day == DAY.date()
    assert not day.tick(at("03:59", 1))  # past midnight is still the evening before
    assert day.day == DAY.date() and day.up == at("07:40")
    assert day.tick(at("04:00", 1))  # a new day: yesterday's "up" goes
    assert day.day == DAY.date() + timedelta(days=1) and day.up is None
    feed(day, door("09:00", day=1), motion("09:01", day=1))
    assert day.outings == [(at("21:00:05"), at("09:00", 1))]  # back the next morning: told on that day
    assert day.up is None  # what led out was the evening before
    assert messages.outings_words(day.outings, day.day) == "out yesterday 21:00\u201309:00"


def test_up_through_four_counts_from_four() -> None:
    day = DaySummary()
    feed(day, *(motion(f"23:{m:02d}", day=0) for m in (0, 15, 30, 45)))
    feed(day, *(motion(f"{h:02d}:{m:02d}", day=1) for h in range(0, 4) for m in (0, 15, 30, 45)))
    assert day.day == DAY.date() and day.up == at("23:00")  # a day begun in the evening
    feed(day, motion("04:00", day=1), motion("04:15", day=1))
    assert day.day == DAY.date() + timedelta(days=1) and day.up is None
    assert day.feed(motion("04:30", day=1)) and day.up == at("04:00", 1)  # up early, or up all night: up at 04:00


def test_a_clock_that_was_days_ahead_does_not_hold_the_day() -> None:
    day = DaySummary()
    morning(day)
    day.feed(motion("09:00", day=400))  # a Pi without a real-time clock, set wrong for a moment
    assert day.day == DAY.date() + timedelta(days=400)
    day.tick(at("10:00"))
    assert day.day == DAY.date() and day.up is None  # put right: today again, summed up afresh
    morning(day, "10:05")
    assert day.up == at("10:05")
    assert not day.tick(at("03:00"))  # a clock set back a little never takes the day back
    assert day.day == DAY.date()


# in the agent: only with share_day, and rebuilt from the stored events at start


def test_the_agent_rebuilds_the_day_from_its_store_at_start_and_only_when_it_may_share_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    yesterday = [motion("09:00", day=-1), motion("09:10", day=-1), motion("09:20", day=-1), motion("09:30", day=-1)]
    store.add_events([*yesterday, door("21:00", day=-1), motion("21:01", day=-1)])  # in for the night
    store.add_events([motion(f"07:{m}") for m in ("40", "45", "55")] + [motion("08:10"), door("08:30")])
    store.add_events([door("09:30"), motion("09:31"), door("10:00"), motion("09:00", day=365)])  # a clock set wrong
    sharing = agent_yaml(1883, "mary").replace("  name: Mary\n", "  name: Mary\n  share_day: true\n", 1)
    told = {"up": "2026-03-03T07:40:00+01:00", "out": [["2026-03-03T08:30:00+01:00", "2026-03-03T09:30:00+01:00"]]}
    for text, expected in ((agent_yaml(1883, "mary"), {}), (sharing, told)):
        agent = Agent(parse_config(text), store, ManualClock(at("10:40")), MockFactory())  # not started: no broker
        status = agent.status_payload()
        assert {k: status[k] for k in ("up", "out") if k in status} == expected  # the 10:00 outing is not told
        agent.close()
    store.close()


# in the member's daily note: words, never a list of rooms


def test_the_daily_note_says_up_and_out_in_words() -> None:
    line = messages.daily_line
    base = ("Mary", "ok", None, [], None, None)
    assert line(*base, up=at("07:40"), out=[(at("10:00"), at("11:30"))]) == (
        "All well at Mary's today: up at 07:40, out 10:00\u201311:30, no alerts today."
    )
    assert line(*base, out=[(at("10:00"), at("11:30")), (at("15:00"), at("16:10"))], today=DAY.date()) == (
        "All well at Mary's today: out 10:00\u201311:30 and 15:00\u201316:10, no alerts today."
    )
    evening = [(at("21:00", -1), at("09:00"))] + [(at(f"{h}:00"), at(f"{h}:30")) for h in (10, 12, 14)]
    assert messages.outings_words(evening[:1], DAY.date()) == "out yesterday 21:00\u201309:00"
    assert messages.outings_words([(at("10:00", -3), at("11:00"))], DAY.date()) == "out Sat 28 Feb 10:00\u201311:00"
    assert messages.outings_words(evening, DAY.date()) == "out 4 times, the last 14:00\u201314:30"
    assert line(*base) == "All well at Mary's today: no alerts today."  # a home that does not share its day
