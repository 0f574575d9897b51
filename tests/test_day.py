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
from sentinel.detect.day import KNOWN_OUT, OUTING_MIN, UP_GAP, UP_RUN, DaySummary
from sentinel.detect.tracker import ARRIVAL_S
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
    assert max(OUTING_MIN, timedelta(seconds=ARRIVAL_S)) == KNOWN_OUT  # told going only once a sign would be a stray


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


def test_an_outing_with_one_stray_and_while_it_goes_on() -> None:
    day = DaySummary()
    morning(day)
    assert feed(day, door("10:00"), door("10:00:05", 0)) == [False, False]
    assert not day.tick(at("10:20"))  # a sign indoors now would mean she never left: nothing told yet
    assert day.tick(at("10:31")) and day.outings == [(at("10:00:05"), None)]  # "out since 10:00"
    assert not day.tick(at("10:40"))
    assert not day.feed(motion("10:45"))  # a stray in an empty home
    assert day.outings == [(at("10:00:05"), None)]
    assert feed(day, door("11:30"), door("11:30:05", 0), motion("11:31")) == [True, False, False]
    assert day.outings == [(at("10:00:05"), at("11:30"))]
    assert day.up == at("07:40")


def test_a_short_outing_told_when_it_ends_and_doorstep_moments_not_at_all() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("09:00"), door("09:00:05", 0), door("09:05"), door("09:05:05", 0), motion("09:06"))
    assert day.outings == []  # the post: minutes, not an outing
    shop = [door("10:00"), door("10:00:05", 0), door("10:20"), door("10:20:05", 0)]
    assert feed(day, *shop) == [False, False, True, False]
    assert day.outings == [(at("10:00:05"), at("10:20"))]  # the shop: told when the door says she is back


def test_nobody_left_when_someone_moves_soon_after_the_door() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("10:00"), door("10:00:10", 0), motion("10:25"))  # a visitor let in, or a look outside
    assert not day.tick(at("12:00")) and day.outings == []


def test_a_third_sign_indoors_takes_back_an_outing_never_closed_by_the_door() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("10:00"))
    assert day.tick(at("10:40")) and day.outings == [(at("10:00"), None)]
    assert feed(day, motion("11:00"), motion("11:01")) == [False, False]
    assert day.feed(motion("11:02")) and day.outings == []  # she was in all along (or the door missed her)


def test_leaving_early_is_up_from_the_run_that_led_out() -> None:
    day = DaySummary()
    feed(day, motion("06:50"), motion("06:58"), door("07:05"), door("07:05:05", 0))
    assert day.up is None  # a quarter of an hour up, then out
    assert day.tick(at("08:00")) and day.up is None  # still out: nothing said of getting up yet
    feed(day, door("17:30"), motion("17:31"), motion("17:40"), motion("17:55"), motion("18:10"))
    assert day.up == at("06:50")  # not 17:30
    assert day.outings == [(at("07:05:05"), at("17:30"))]


def test_coming_in_by_the_door_is_not_going_out_again() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("10:00"), door("11:00"), door("11:00:05", 0))
    assert not day.tick(at("12:00"))  # sat still in the hall after coming in: not "out since 11:00"
    assert day.outings == [(at("10:00"), at("11:00"))]


def test_the_day_starts_at_four() -> None:
    day = DaySummary()
    morning(day)
    feed(day, door("21:00"), door("21:00:05", 0))
    day.tick(at("22:00"))
    assert day.outings == [(at("21:00:05"), None)] and day.day == DAY.date()
    assert not day.tick(at("03:59", 1))  # past midnight is still the evening before
    assert day.day == DAY.date() and day.up == at("07:40")
    assert day.tick(at("04:00", 1))  # a new day: yesterday's "up" goes, the outing still going stays
    assert day.day == DAY.date() + timedelta(days=1)
    assert day.up is None and day.outings == [(at("21:00:05"), None)]
    feed(day, door("09:00", day=1), motion("09:01", day=1))
    assert day.outings == [(at("21:00:05"), at("09:00", 1))]  # back the next morning
    assert day.up is None


def test_a_late_evening_going_on_past_four_is_not_getting_up() -> None:
    day = DaySummary()
    feed(day, *(motion(f"{h:02d}:{m:02d}", day=0) for h in (23,) for m in (0, 15, 30, 45)))
    feed(day, *(motion(f"{h:02d}:{m:02d}", day=1) for h in range(0, 5) for m in (0, 15, 30, 45)))
    assert day.day == DAY.date() + timedelta(days=1)
    assert day.up is None  # the run began the day before
    feed(day, motion("09:00", day=1), motion("09:10", day=1), motion("09:20", day=1), motion("09:30", day=1))
    assert day.up == at("09:00", 1)


# in the agent: only with share_day, and rebuilt from the stored events at start


def test_the_agent_rebuilds_the_day_from_its_store_at_start_and_only_when_it_may_share_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    yesterday = [motion("09:00", day=-1), motion("09:10", day=-1), motion("09:20", day=-1), motion("09:30", day=-1)]
    store.add_events([*yesterday, door("21:00", day=-1), motion("21:01", day=-1)])  # in for the night
    store.add_events([motion(f"07:{m}") for m in ("40", "45", "55")] + [motion("08:10"), door("10:00")])
    sharing = agent_yaml(1883, "mary").replace("  name: Mary\n", "  name: Mary\n  share_day: true\n", 1)
    for text, expected in ((agent_yaml(1883, "mary"), {}), (sharing, {"up": "2026-03-03T07:40:00+01:00"})):
        agent = Agent(parse_config(text), store, ManualClock(at("10:40")), MockFactory())  # not started: no broker
        status = agent.status_payload()
        assert {k: status[k] for k in ("up", "out") if k in status} == (
            {**expected, "out": [["2026-03-03T10:00:00+01:00", None]]} if expected else {}
        )
        agent.close()
    store.close()


# in the member's daily note: words, never a list of rooms


def test_the_daily_note_says_up_and_out_in_words() -> None:
    line = messages.daily_line
    base = ("Mary", "ok", None, [], None, None)
    assert line(*base, up=at("07:40"), out=[(at("10:00"), at("11:30"))]) == (
        "All well at Mary's today: up at 07:40, out 10:00\u201311:30, no alerts today."
    )
    assert line(*base, out=[(at("10:00"), at("11:30")), (at("15:00"), None)], today=DAY.date()) == (
        "All well at Mary's today: out 10:00\u201311:30 and since 15:00, no alerts today."
    )
    evening = [(at("21:00", -1), at("09:00"))] + [(at(f"{h}:00"), at(f"{h}:30")) for h in (10, 12, 14)]
    assert messages.outings_words(evening[:1], DAY.date()) == "out yesterday 21:00\u201309:00"
    assert messages.outings_words(evening, DAY.date()) == "out 4 times, the last 14:00\u201314:30"
    assert line(*base) == "All well at Mary's today: no alerts today."  # a home that does not share its day
