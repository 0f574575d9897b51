"""Detection: the event CSV, the protocol, the references, and the learned routine."""

from __future__ import annotations

import json
import math
import random
import subprocess
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from conftest import sentinel_cmd
from sentinel.backtest.calibration import calibration
from sentinel.backtest.conditions import (
    CONDITIONS,
    clock_change,
    midpoint,
    missed_departures,
    sensor_dies,
    sparse_kit,
    stray_events,
)
from sentinel.backtest.csvio import read_rows
from sentinel.backtest.evaluation import Split, evaluate, measure, onsets, percentile
from sentinel.backtest.reference import Cuddihy, FixedTimer, alert_line, first_crossing
from sentinel.backtest.tools import backtest, replay
from sentinel.backtest.waits import forced_by_rooms
from sentinel.cli import main
from sentinel.config import parse_config
from sentinel.config.detection import RoomRule
from sentinel.core.events import Event, Row
from sentinel.demo.resident import Resident
from sentinel.detect.detector import InactivityDetector, Warmup, usual_gaps_of, without
from sentinel.detect.explain import Place, budget_words, duration, expected_words, explain
from sentinel.detect.learn import learn
from sentinel.detect.lines import wall_seconds
from sentinel.detect.night import learn_night
from sentinel.detect.prior import PRIOR_WEIGHTS, REFRESH_S
from sentinel.detect.routine import Params, RoutineModel, Spell, SpellTable, fit, whole_misses
from sentinel.detect.silent import MIN_ELSEWHERE, SILENT_FACTOR, silent_sensors, usual_gaps
from sentinel.detect.summary import Request, _model_dict, _model_of
from sentinel.detect.watch import Watch
from sentinel.errors import CsvFormatError

D0 = datetime(2026, 1, 5)


def write_csv(path: Path, rows: list[Row]) -> Path:
    lines = ["timestamp,sensor,kind,value,room"]
    lines += [f"{r.at.isoformat()},{r.sensor},{r.kind},{r.value},{r.room}" for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- the event CSV -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("2026-01-05T08:00:00,hall,motoin,1,hall", "x.csv:2: kind 'motoin' is not one of motion, door"),
        ("2026-01-05T08:00:00,hall,motion,2,hall", "x.csv:2: value '2' is not 0 or 1"),
        ("08:00 on Monday,hall,motion,1,hall", "x.csv:2: timestamp '08:00 on Monday' is not ISO 8601"),
        ("2026-01-05T08:00:00,,motion,1,hall", "x.csv:2: sensor is empty"),
        ("2026-01-05T08:00:00,hall,motion,1,hall,extra", "x.csv:2: too many fields"),
        ("2026-01-05T08:00:00,hall", "x.csv:2: 2 fields, where a row needs timestamp, sensor, kind and value"),
        ("2026-01-05,hall,motion,1,hall", "x.csv:2: timestamp '2026-01-05' has no time of day"),
        ("2026-01-05T08:00:00,ha\0ll,motion,1,hall", "x.csv:2: sensor 'ha\\x00ll' has a control character"),
        ("2026-01-05T08:00:00,hall,motion,1,hall\x1bway", "x.csv:2: room 'hall\\x1bway' has a control character"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,sensor,kind,value,room\n" + body + "\n")
    with pytest.raises(CsvFormatError) as info:
        read_rows(path)
    assert str(info.value).startswith(str(tmp_path / message))


def test_rows_out_of_order_and_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,sensor,kind,value\n2026-01-05T09:00:00,a,motion,1\n2026-01-05T08:00:00,a,motion,1\n")
    with pytest.raises(CsvFormatError, match=r"x.csv:3: rows must be in time order"):
        read_rows(path)
    path.write_text("time,sensor,kind,value\n")
    with pytest.raises(CsvFormatError, match=r"x.csv:1: missing column\(s\) timestamp"):
        read_rows(path)


def test_offsets_keep_the_wall_clock_reading(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,sensor,kind,value,room\n2026-01-05T08:00:00+01:00,a,door,1,\n")
    at = read_rows(path)[0].at
    assert at.replace(tzinfo=None) == datetime(2026, 1, 5, 8, 0)  # the home's clock reading, for the time of day
    assert at.utcoffset() == timedelta(hours=1)  # and the offset, for order and durations


HEADER = "timestamp,sensor,kind,value,room\n"


def _history(hours: int) -> list[str]:
    return [f"2026-01-05T{8 + h:02d}:00:00+00:00,hall,motion,1,hall" for h in range(hours)]


def test_a_quote_left_open_is_refused_at_its_line_not_read_as_the_rows_after_it(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    rows = _history(10)
    rows[3] = rows[3].replace(",hall", ',"hall', 1).rsplit(",", 1)[0] + ",hall"  # a quote opened in the sensor's name
    path.write_text(HEADER + "\n".join(rows) + "\n")
    with pytest.raises(CsvFormatError, match=r"x.csv:5: a quote \(\"\) opened here is never closed"):
        read_rows(path)
    rows[6] = rows[6] + '"'  # closed three lines later: the rows between would be read as its text
    path.write_text(HEADER + "\n".join(rows) + "\n")
    with pytest.raises(CsvFormatError, match=r"x.csv:5: a quote \(\"\) opens a field that runs over the next 3 line"):
        read_rows(path)
    path.write_text(HEADER + rows[0].rsplit(",", 1)[0] + ',"hall"way\n')  # text after the closing quote
    with pytest.raises(CsvFormatError, match=r"x.csv:2: .*must end with one, just before the next comma"):
        read_rows(path)
    path.write_text(HEADER + rows[0] + ',"hall' + "x" * 140_000 + "\n")  # too long for a field: csv's own error
    with pytest.raises(CsvFormatError, match=r"x.csv:2: field larger than field limit .*is a quote"):
        read_rows(path)


def test_a_spreadsheets_csv_is_read_and_what_it_cannot_be_is_said_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\r\n".join(_history(3)) + "\r\n").encode())  # "CSV UTF-8"
    assert [r.at.hour for r in read_rows(path)] == [8, 9, 10]
    # Its header capitalised, or spaced: before, "missing column(s) timestamp, sensor, kind, value", all there.
    path.write_text("Timestamp, Sensor,KIND,Value,Room\n" + "\n".join(_history(3)) + "\n")
    assert [r.at.hour for r in read_rows(path)] == [8, 9, 10]
    path.write_bytes((HEADER + _history(2)[0] + "\n2026-01-05T09:00:00+00:00,K\xfcche,motion,1,\n").encode("cp1252"))
    with pytest.raises(CsvFormatError, match=r'x.csv:3: byte 0xfc is not UTF-8; save the file as UTF-8 \(in a spr'):
        read_rows(path)
    path.write_text("timestamp;sensor;kind;value;room\n2026-01-05T08:00:00;hall;motion;1;hall\n")
    with pytest.raises(CsvFormatError, match=r"missing column\(s\) .* \(the columns must be separated by commas\)"):
        read_rows(path)
    path.write_text("")
    with pytest.raises(CsvFormatError, match=r"x.csv: the file is empty; it needs a header line"):
        read_rows(path)


def test_a_row_repeated_exactly_is_read_once_and_said(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    rows = _history(3)
    twice = [rows[0], rows[0], rows[1], rows[1], rows[1], rows[2]]
    other = rows[2].replace(",1,hall", ",0,hall")  # the same time, another value: a row of its own
    path.write_text(HEADER + "\n".join([*twice, other]) + "\n")
    told: list[str] = []
    read = read_rows(path, tell=told.append)
    assert [(r.at.hour, r.value) for r in read] == [(8, 1), (9, 1), (10, 1), (10, 0)]
    assert told == [f"{path}: 3 row(s) repeat a row of the same time exactly (the first at line 3); each is read once"]


def test_a_row_from_the_future_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    path.write_text(HEADER + "\n".join([*_history(3), "2031-01-01T09:00:00+00:00,hall,motion,1,hall"]) + "\n")
    with pytest.raises(CsvFormatError, match=r"x.csv:5: timestamp 2031-01-01T09:00:00\+00:00 is later than the time"):
        read_rows(path, now)
    # Without offsets, rows are the home's clock: hours ahead of this machine's is a clock further east, not wrong.
    path.write_text(HEADER + "\n".join(r.replace("+00:00", "") for r in _history(3)) + "\n")
    assert len(read_rows(path, now)) == 3  # whatever this machine's time zone (-12 h to +14 h)
    path.write_text(HEADER + "2026-01-08T08:00:00,hall,motion,1,hall\n")  # days ahead, in every time zone
    with pytest.raises(CsvFormatError, match=r"x.csv:2: timestamp 2026-01-08T08:00:00 is later than the time now"):
        read_rows(path, now)


# --- the protocol --------------------------------------------------------------------


def hourly_rows(days: int, quiet: tuple[datetime, datetime] | None = None) -> list[Row]:
    """A kitchen PIR every hour on the hour, except during ``quiet``."""
    rows = []
    for h in range(days * 24):
        at = D0 + timedelta(hours=h)
        if quiet and quiet[0] < at < quiet[1]:
            continue
        rows.append(Row(at, "kitchen", "motion", 1, "kitchen"))
        rows.append(Row(at + timedelta(seconds=30), "kitchen", "motion", 0, "kitchen"))
    return rows


def test_split_counts_whole_days_and_test_days_to_the_last_row() -> None:
    split = Split.of(hourly_rows(20))
    assert split.day0 == D0 and split.train_days == 10 and split.total_days == 20
    assert split.test_days == pytest.approx(9 + 23 / 24 + 30 / 86400)
    assert Split.of(hourly_rows(10)).train_days == 7  # never fewer than 7


def test_onsets_are_test_period_activity_thinned_to_ten_minutes() -> None:
    rows = hourly_rows(20)
    rows.append(Row(D0 + timedelta(days=15, minutes=5), "kitchen", "motion", 1, "kitchen"))  # same bucket as 00:00
    rows.sort(key=lambda r: r.at)
    split = Split.of(rows)
    chosen = onsets(rows, split, seed=7, count=10_000)
    assert len(chosen) == 10 * 24  # one per hour of the test period; the 00:05 row thinned out
    assert all(rows[i].value == 1 and rows[i].at >= split.test_start for i in chosen)
    assert onsets(rows, split, seed=7, count=5) == onsets(rows, split, seed=7, count=5)


def test_fixed_timer_one_false_alert_per_quiet_spell_and_12_h_delays() -> None:
    quiet = (D0 + timedelta(days=14, hours=2), D0 + timedelta(days=15, hours=3))  # 25 h without a row
    report = evaluate(hourly_rows(20, quiet), lambda split: FixedTimer(12))
    assert report.false_alerts == 1
    assert report.detected_within_24h == 1.0
    assert report.median_delay_min == report.p90_delay_min == 720.0


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 90) == 10.0
    assert percentile([0, 10], 90) == 9.0


def test_cuddihy_line_and_its_first_crossing() -> None:
    rows = [r for r in hourly_rows(8) if r.value == 1]
    split = Split.of(rows)
    line = alert_line([r.at for r in rows], split)
    # In every half hour the longest time since activity is 1 h (just before a row, or at its end).
    assert line == [pytest.approx(3600 + 0.3 * 3600 + 0.4 * 3600)] * 48
    last = datetime(2026, 1, 20, 10, 0)
    crossing = first_crossing(last, line)
    assert crossing == last + timedelta(seconds=6120)
    detector = Cuddihy(split)
    for row in rows:
        detector.observe(row)
    assert detector.alert_at() == first_crossing(rows[-1].at, line)


# --- the learned routine and detector -------------------------------------------------


def test_detector_warms_up_then_learns() -> None:
    detector = InactivityDetector(warmup=Warmup(min_days=7, day_s=6 * 3600, night_s=12 * 3600))
    detector.observe(Row(D0 + timedelta(hours=10), "kitchen", "motion", 1, ""))
    assert detector.learning
    assert detector.alert_at() == D0 + timedelta(hours=16)  # the day line, to the second
    # Past the day line: while learning, a sign is taken (signs are held back only past a learned line).
    assert detector.observe(Row(D0 + timedelta(hours=21), "kitchen", "motion", 1, "")) and not detector.held
    assert detector.alert_at() == D0 + timedelta(hours=33)  # the night line
    for row in Resident(seed=1).days(D0 + timedelta(days=1), 8):
        detector.observe(row)
    assert not detector.learning


def test_after_the_front_door_the_line_is_learned_from_the_outings() -> None:
    """Door, then nothing: a finite line beyond the usual outings at that hour (one to two and a half hours)."""
    detector = InactivityDetector()
    for row in Resident(seed=2, outing_chance=0.9).days(D0, 14):
        detector.observe(row)
    door = Row(D0 + timedelta(days=14, hours=11), "front_door", "door", 0, "hall")
    detector.observe(door)
    line = detector.line_s()
    assert line is not None and 150 * 60 <= line <= Params().door_ceiling_s
    assert detector.alert_at() == door.at + timedelta(seconds=line)
    limit = detector.limit()
    assert limit is not None and limit.cause in ("budget", "ceiling")
    assert detector.last_context in detector.outing_contexts
    detector.observe(Row(door.at + timedelta(minutes=2), "kitchen_pir", "motion", 1, "kitchen"))  # door, then movement
    assert detector.line_s() == detector.model.line("kitchen_pir", door.at + timedelta(minutes=2))  # home again


def test_alert_comes_exactly_at_the_learned_line() -> None:
    detector = InactivityDetector()
    rows = Resident(seed=5).days(D0, 12)
    for row in rows:
        detector.observe(row)
    last = [r for r in rows if r.is_activity][-1]
    assert detector.alert_at() == last.at + timedelta(seconds=detector.line_s() or 0)


def test_calibration_keeps_a_synthetic_home_within_its_budget() -> None:
    """Ninety days of a known routine: learned on 45, false alerts counted on the other 45."""
    budget = 2.0
    rows = Resident(seed=11, outing_chance=0.6).days(D0, 90)
    report = evaluate(rows, lambda split: InactivityDetector(Params(false_alerts_per_month=budget)))
    assert report.false_alerts_per_30d <= budget
    assert report.detected_within_24h == 1.0
    # Faster than the 12 h timer by a wide margin, yet never sooner than the floor.
    assert 30 <= (report.median_delay_min or 0) < 6 * 60


def test_a_larger_budget_gives_shorter_lines() -> None:
    spells = [
        Spell(D0 + timedelta(days=d, hours=h), "kitchen", 60.0 * (5 + (d * 7 + h) % 20))
        for d in range(14)
        for h in range(8, 22)
    ]
    now = D0 + timedelta(days=14)
    strict = fit(spells, now, Params(false_alerts_per_month=0.5), frozenset())
    loose = fit(spells, now, Params(false_alerts_per_month=20), frozenset())
    at = D0 + timedelta(days=14, hours=12)
    assert strict.line("kitchen", at) >= loose.line("kitchen", at)
    assert loose.line("kitchen", at) >= 24 * 60  # never below the longest spells seen (24 min)
    assert math.isfinite(strict.line("kitchen", at))


# --- replay and backtest --------------------------------------------------------------


def test_replay_finds_the_one_unusual_spell(tmp_path: Path) -> None:
    rows = Resident(seed=4).days(D0, 14)
    quiet_from = datetime(2026, 1, 17, 10, 0)  # day 12: 5 hours without a sign of life mid-morning
    rows = [r for r in rows if not (quiet_from < r.at < quiet_from + timedelta(hours=5))]
    rows.append(Row(quiet_from, "kitchen_pir", "motion", 1, "kitchen"))
    rows.sort(key=lambda r: r.at)
    alerts = [a for a in replay(rows, "Mary").alerts if a.at and a.at.date() == quiet_from.date() and a.at.hour < 15]
    assert len(alerts) == 1
    alert = alerts[0]
    assert quiet_from < alert.at < quiet_from + timedelta(hours=5)
    assert alert.reason.startswith("No sign of activity since 10:00 (")
    assert "Mary was last noticed by movement in the kitchen." in alert.reason
    assert alert.facts["context"] == "kitchen_pir" and alert.facts["learning"] is False


def test_backtest_runs_all_three_detectors() -> None:
    reports = backtest(Resident(seed=6).days(D0, 16))
    assert list(reports) == ["sentinel", "fixed 12 h", "Cuddihy 2007"]
    assert reports["fixed 12 h"].median_delay_min == 720.0
    assert all(r.incidents > 100 for r in reports.values())


def test_backtest_and_replay_commands(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "home.csv", Resident(seed=8).days(D0, 16))
    result = subprocess.run(sentinel_cmd("backtest", "--json", str(path)), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"sentinel", "fixed 12 h", "Cuddihy 2007"}
    assert set(report["sentinel"]) >= {
        "test_days",
        "false_alerts_per_30d",
        "detected_within_24h",
        "median_delay_min",
        "p90_delay_min",
    }
    table = subprocess.run(sentinel_cmd("backtest", str(path)), capture_output=True, text=True, timeout=120)
    assert "Cuddihy 2007" in table.stdout and "median delay" in table.stdout
    listed = subprocess.run(sentinel_cmd("replay", "--json", str(path)), capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)
    picture = tmp_path / "routine.png"
    routine = subprocess.run(
        sentinel_cmd("routine", str(path), "--plot", str(picture)), capture_output=True, text=True, timeout=120
    )
    assert routine.returncode == 0 and "Usual night" in routine.stdout
    assert "With these waits, expect about" in routine.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_malformed_csv_exits_2_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,sensor,kind,value,room\n2026-01-05T08:00:00,a,motion,1,\n2026-01-05T08:01:00,a,motion,x,\n"
    )
    result = subprocess.run(sentinel_cmd("replay", str(path)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"sentinel: {path}:3: value 'x' is not 0 or 1"


def test_the_routine_tells_the_carer_what_its_waits_cost_and_what_the_ceilings_force() -> None:
    def spells(away: tuple[int, ...]) -> list[Spell]:
        out = []
        for d in range(28):
            day = D0 + timedelta(days=d)
            out.append(Spell(day - timedelta(hours=1), "bedroom", 8 * 3600.0))  # 23:00 to 07:00
            out.extend(Spell(day + timedelta(hours=h), "kitchen", 1800.0 + 60 * (d % 7)) for h in range(7, 23))
            if d in away:  # the rest of the day replaced by one quiet spell of 46 h from 09:00 (days away)
                out[-14:] = [Spell(day + timedelta(hours=9), "kitchen", 46 * 3600.0)]
        return out

    quiet = fit(spells(()), D0 + timedelta(days=28), Params(), frozenset())
    assert quiet.forced_per_month == 0
    assert expected_words(quiet) == "With these waits, expect about 1 false alert a month (drawn for 1 a month)."
    # Three spells past the 16 h ceiling in 28 days: each alerts whatever the waits, and the carer is told so.
    away = fit(spells((3, 12, 21)), D0 + timedelta(days=28), Params(), frozenset())
    assert 2.5 < away.forced_per_month < 4.5 and round(away.forced_per_month) == round(away.forced_per_month * 2) / 2
    words = expected_words(away)
    assert words.startswith(f"With these waits, expect about {1 + round(away.forced_per_month)} false alerts a month:")
    assert "about 1 from the waits themselves (drawn for 1 a month)" in words
    assert f"about {round(away.forced_per_month)} from quiet spells longer than a ceiling (16 h at home, 24 h" in words
    assert "setting the monitor to away" in words and "a room's own" not in words
    # A room's own ceiling in the config forces more, which the model does not know of: the carer is told those too.
    rooms = expected_words(away, by_rooms=10.2)
    assert rooms.startswith(f"With these waits, expect about {11 + round(away.forced_per_month)} false alerts")
    assert "24 h after the front door, or a room's own)" in rooms
    # A budget the floor keeps the waits from spending is said so, not left as a contradiction.
    floored = fit(spells(()), D0 + timedelta(days=28), Params(false_alerts_per_month=30, floor_s=4 * 3600), frozenset())
    assert "(drawn for 30 a month, which the 4 h 00 min floor keeps them from reaching)" in expected_words(floored)


def test_the_rooms_own_limits_change_what_the_ceilings_force_as_the_watch_applies_them() -> None:
    def visit(room: str, hours: float, at: datetime) -> list[Row]:  # a sign of life there, then quiet that long
        return [
            Row(at, f"{room}_pir", "motion", 1, room),
            Row(at + timedelta(hours=hours), "hall_pir", "motion", 1, "hall"),
        ]

    rules = [RoomRule(room="living room", ceiling=10 * 3600), RoomRule(room="bedroom", floor=24 * 3600)]
    rows = [
        *visit("living room", 12, D0),  # past the room's 10 h, not the home's 16 h: one more alert
        *visit("living room", 30, D0 + timedelta(days=2)),  # past both: the home's ceiling counted it already
        *visit("bedroom", 20, D0 + timedelta(days=5)),  # past the home's 16 h, but the room waits 24 h: one fewer
        *visit("kitchen", 20, D0 + timedelta(days=8)),  # no rule for the kitchen: the home's alone
    ]
    more, fewer = forced_by_rooms(rows, rules[:1], 30.0, Params()), forced_by_rooms(rows, rules[1:], 30.0, Params())
    assert 0 < more < -fewer  # the bedroom's spell is the more recent: it counts more, as the routine weighs spells
    assert forced_by_rooms(rows, rules, 30.0, Params()) == pytest.approx(more + fewer)
    assert forced_by_rooms(rows, [], 30.0, Params()) == 0.0


def test_only_going_out_waits_the_doors_ceiling_when_the_rooms_limits_are_counted() -> None:
    def door(at: datetime, value: int) -> Row:
        return Row(at, "front_door", "door", value, "hall")

    hall = [RoomRule(room="hall", ceiling=2 * 3600)]
    out = D0 + timedelta(days=1)
    going_out = [Row(D0, "kitchen_pir", "motion", 1, "kitchen"), door(out, 1), door(out + timedelta(seconds=5), 0)]
    back = out + timedelta(hours=20)
    # Out for 20 h: past the hall's 2 h, not the door's 24 h, so the hall's ceiling adds an alert.
    assert forced_by_rooms([*going_out, door(back, 1)], hall, 30.0, Params()) > 0
    # In after 20 h, then 20 h of nothing: past the home's 16 h, which the routine counts already, not the door's.
    came_in = [*going_out, door(back, 1), door(back + timedelta(seconds=5), 0)]
    later = [Row(back + timedelta(hours=20), "kitchen_pir", "motion", 1, "kitchen")]
    once = forced_by_rooms([*going_out, door(back, 1)], hall, 30.0, Params())
    assert forced_by_rooms([*came_in, *later], hall, 30.0, Params()) == pytest.approx(once, rel=0.05)


def test_the_cost_sentence_adds_up() -> None:
    model = fit(
        [Spell(D0 + timedelta(hours=h), "kitchen", 1800.0) for h in range(200)],
        D0 + timedelta(days=9),
        Params(),
        frozenset(),
    )
    for spent, forced, total, drawn, forced_said in (
        (1.0, 2.5, "4 false alerts", "1.5", "2.5"),  # the total whole from 3 a month on, the ceilings' in halves
        (1.5, 3.0, "5 false alerts", "2", "3"),
        (2.5, 0.5, "3 false alerts", "2.5", "0.5"),
        (3.0, 0.35, "3 false alerts", "2.5", "0.5"),  # a quarter a month from the ceilings is still told
        (1.5, 1.5, "3 false alerts", "1.5", "1.5"),
        (1.0, 1.2, "2 false alerts", "1", "1"),
        (0.9, 0.6, "1.5 false alerts", "1", "0.5"),  # halves below
    ):
        said = expected_words(replace(model, expected_per_month=spent + forced, forced_per_month=forced))
        assert said.startswith(f"With these waits, expect about {total} a month: about {drawn} from the waits"), said
        assert f"(drawn for 1 a month) and about {forced_said} from quiet spells" in said, said
    # The rooms' limits can only take away what the ceilings force, never below none.
    assert "expect about 1 false alert a month" in expected_words(
        replace(model, expected_per_month=1.5, forced_per_month=0.5), by_rooms=-2.0
    )


def test_a_routine_learned_without_reasons_has_the_same_lines() -> None:
    spells = [Spell(D0 + timedelta(hours=h, minutes=7 * (h % 5)), "kitchen", 600.0 + 60 * (h % 9)) for h in range(400)]
    told = fit(spells, D0 + timedelta(days=17), Params(), frozenset())
    measured = fit(spells, D0 + timedelta(days=17), Params(), frozenset(), reasons=False)  # as the backtest learns
    assert told.longest and not measured.longest  # an alert's "lasted at most ..." is not worked out
    assert all(np.array_equal(told.lines[k], measured.lines[k]) for k in told.lines) and told.price == measured.price


def test_weekends_are_learned_apart_once_there_are_three_weeks() -> None:
    def spells(days: int) -> list[Spell]:
        out = []
        for d in range(days):
            day = D0 + timedelta(days=d)  # D0 is a Monday
            weekend = day.weekday() >= 5
            for k in range(6):  # a lie-in with the paper at weekends; a quick breakfast on weekdays
                out.append(Spell(day + timedelta(hours=8, minutes=10 * k), "kitchen", (70 if weekend else 6) * 60.0))
            out.extend(Spell(day + timedelta(hours=h), "kitchen", 300.0) for h in range(10, 22))
        return out

    saturday, monday = D0 + timedelta(days=26, hours=8, minutes=20), D0 + timedelta(days=28, hours=8, minutes=20)
    learned = fit(spells(28), D0 + timedelta(days=28), Params(), frozenset())
    assert learned.weekend_lines
    assert learned.line("kitchen", saturday) > 70 * 60 > learned.line("kitchen", monday)
    early = fit(spells(14), D0 + timedelta(days=14), Params(), frozenset())
    assert not early.weekend_lines


# --- the alert's reason: the line and why it sits there --------------------------------------


def routine_rows(days: int, every_min: int, *extra: Row) -> list[Row]:
    """Kitchen movement every ``every_min`` minutes from 07:00 to 23:00, in bed at 23:00; then ``extra``."""
    rows = []
    for d in range(days):
        day = D0 + timedelta(days=d)
        at = day + timedelta(hours=7)
        while at < day + timedelta(hours=23):
            rows += [Row(at, "kitchen_pir", "motion", 1, "kitchen"), Row(at + timedelta(seconds=30), *PIR_OFF)]
            at += timedelta(minutes=every_min)
        rows.append(Row(day + timedelta(hours=23), "bed", "pressure", 1, "bedroom"))
    return rows + list(extra)


PIR_OFF = ("kitchen_pir", "motion", 0, "kitchen")
LAST_DAY = D0 + timedelta(days=14)  # Monday 2026-01-19


def kitchen(hour: int) -> Row:
    return Row(LAST_DAY + timedelta(hours=hour), "kitchen_pir", "motion", 1, "kitchen")


BUDGET = (
    "That wait is learned from Mary's last 14 days so that ordinary quiet spells cause about one false alert a month"
)


@pytest.mark.parametrize(
    ("every_min", "last", "cause", "reason"),
    [
        (
            5,
            kitchen(12),
            "budget",
            "No sign of activity since 12:00 (36 min); Mary was last noticed by movement in the kitchen. "
            "At this time of day, after movement in the kitchen, sentinel alerts once the quiet lasts 36 min. "
            f"{BUDGET}, as chosen for this home.",
        ),
        (  # a place never seen before: the home's own pattern at this time of day, nothing "usual" to quote
            5,
            Row(LAST_DAY + timedelta(hours=12), "fridge", "contact", 1, "kitchen"),
            "budget",
            "No sign of activity since 12:00 (36 min); Mary was last noticed by the fridge in the kitchen. "
            "At this time of day, after the fridge in the kitchen, sentinel alerts once the quiet lasts 36 min. "
            f"{BUDGET}, as chosen for this home.",
        ),
        (
            3,
            kitchen(12),
            "floor",
            "No sign of activity since 12:00 (30 min); Mary was last noticed by movement in the kitchen. "
            "At this time of day, after movement in the kitchen, sentinel alerts once the quiet lasts 30 min, "
            "the shortest wait set for this home (from Mary's last 14 days alone it would be sooner).",
        ),
        (  # up at 03:00, never seen at that hour: the usual night sets the line
            5,
            kitchen(3),
            "night",
            "No sign of activity since 03:00 (4 h 30 min); Mary was last noticed by movement in the kitchen. "
            "Mary is usually up by 07:00; the latest in 14 days was 07:00. For quiet that begins in the night, "
            "sentinel alerts 30 min after that latest time, at 07:30.",
        ),
        (
            5,
            Row(LAST_DAY + timedelta(hours=23), "bed", "pressure", 1, "bedroom"),
            "ceiling",
            "No sign of activity since 23:00 (16 h 00 min); Mary was last noticed by the bed (occupied). "
            "Mary is usually up by 07:00; the latest in 14 days was 07:00. At this time of day, after the bed "
            "(occupied), sentinel alerts once the quiet lasts 16 h 00 min, the longest wait set for this home "
            "(from Mary's last 14 days alone it would be later).",
        ),
    ],
    ids=["budget", "new place", "floor", "night", "ceiling"],
)
def test_the_reason_states_the_line_and_what_set_it(every_min: int, last: Row, cause: str, reason: str) -> None:
    # At 23:00, after a whole day in the kitchen (one sign after a quiet past its line would be a stray).
    rows = routine_rows(15, every_min) if last.at.hour == 23 else routine_rows(14, every_min, last)
    assert rows[-1] == last
    pending = replay(rows, "Mary").pending
    assert pending is not None and pending.kind == "pending"
    assert pending.reason == reason
    facts = pending.facts
    assert facts["line_cause"] == cause and facts["false_alerts_per_month"] == 1.0 and facts["days_learned"] == 14
    assert pending.at == last.at + timedelta(minutes=facts["line_min"]) or cause == "budget"  # budget lines: 8 % grid
    assert facts["longest_usual_min"] is None or facts["longest_usual_min"] >= 1  # unknown is None, never 0


def test_a_reason_about_the_resident_begins_its_sentences_with_a_capital() -> None:
    pending = replay(routine_rows(14, 5, kitchen(3))).pending  # no name given: "the resident"
    assert pending is not None
    assert " The resident is usually up by 07:00;" in pending.reason and ". the " not in pending.reason


def test_while_learning_the_reason_gives_the_fixed_line() -> None:
    rows = [
        Row(D0 + timedelta(days=d, hours=h), "kitchen_pir", "motion", 1, "kitchen") for d in range(3) for h in (8, 20)
    ]
    pending = replay([*rows, Row(D0 + timedelta(days=3, hours=10), "kitchen_pir", "motion", 1, "kitchen")]).pending
    assert pending is not None and pending.at == D0 + timedelta(days=3, hours=16)
    assert pending.reason == (
        "No sign of activity since 10:00 (6 h 00 min); the resident was last noticed by movement in the kitchen. "
        "sentinel is still learning the resident's routine (that takes 7 days), "
        "so for now it alerts after a fixed 6 h 00 min of quiet at this time of day."
    )
    assert pending.facts == {
        "last_activity": "2026-01-08T10:00:00",
        "quiet_min": 360,
        "line_min": 360,
        "line_cause": "warmup",
        "context": "kitchen_pir",
        "learning": True,
    }


def test_no_reason_quotes_a_zero_or_an_at_most() -> None:
    """Over a simulated month with gaps cut into it, every reason (and the last, pending one) reads right."""
    rows = Resident(seed=3, outing_chance=0.5).days(D0, 30)
    cut = [(D0 + timedelta(days=d, hours=10), D0 + timedelta(days=d, hours=17)) for d in (3, 9, 15, 21)]
    rows = [r for r in rows if not any(a < r.at < b for a, b in cut)]
    replayed = replay(rows, "Mary")
    reasons = [a.reason for a in replayed.alerts] + ([replayed.pending.reason] if replayed.pending else [])
    assert {a.facts["line_cause"] for a in replayed.alerts} >= {"warmup", "budget"}
    assert len(reasons) >= 4
    for reason in reasons:
        assert " 0 min" not in reason and "(0 min)" not in reason and "at most" not in reason
        assert "sentinel" in reason  # every one says where the line is and why


def test_durations_and_budgets_in_words() -> None:
    assert [duration(s) for s in (20, 29, 45, 90, 1800, 9960, 36000)] == [
        "20 s",
        "29 s",
        "1 min",
        "2 min",
        "30 min",
        "2 h 46 min",
        "10 h 00 min",
    ]
    assert [budget_words(b) for b in (1, 3, 0.5, 0.25, 0.3, 1.5)] == [
        "about one false alert a month",
        "about 3 false alerts a month",
        "about one false alert every 2 months",
        "about one false alert every 4 months",
        "about 0.3 false alerts a month",
        "about 1.5 false alerts a month",
    ]


@pytest.mark.parametrize(
    ("budget", "every_min", "words"),
    [(3, 10, "about 3 false alerts a month"), (0.5, 5, "about one false alert every 2 months")],
)
def test_the_budget_is_quoted_in_the_reason(budget: float, every_min: int, words: str) -> None:
    detector = InactivityDetector(Params(false_alerts_per_month=budget))
    for row in routine_rows(14, every_min, kitchen(12)):
        detector.observe(row)
    limit = detector.limit()
    assert limit is not None and limit.cause == "budget"
    place = Place("kitchen_pir", "motion", "kitchen")
    at = kitchen(12).at
    reason, facts = explain(
        "Mary", at, at + timedelta(seconds=limit.seconds), "kitchen_pir", place, 1, limit, detector.model
    )
    assert reason.endswith(f"ordinary quiet spells cause {words}, as chosen for this home.")
    assert facts["false_alerts_per_month"] == budget and facts["line_cause"] == "budget"


# --- the carer's tools on real exports: short files, clock changes, today's quiet ------------


def test_backtest_refuses_a_file_shorter_than_training_and_a_test_day(tmp_path: Path, capsys) -> None:
    short = write_csv(tmp_path / "short.csv", [r for r in hourly_rows(8) if r.at < D0 + timedelta(days=7, hours=23)])
    for args in (["backtest", str(short)], ["backtest", "--json", str(short)]):
        assert main(args) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err == (
            f"sentinel: {short}: 7 whole days of events (from 2026-01-05 00:00 to the last row at 2026-01-12 22:00); "
            "a backtest needs at least 8: 7 to learn the routine, then 1 to test it\n"
        )
    # One row more, at midnight after the eighth day, and there is a whole day to test.
    enough = write_csv(tmp_path / "enough.csv", [*hourly_rows(8), Row(D0 + timedelta(days=8), *PIR_OFF)])
    assert main(["backtest", "--json", str(enough)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sentinel"]["test_days"] == 1.0 and not math.isnan(report["sentinel"]["detected_within_24h"])


def test_backtest_refuses_an_empty_file_or_a_test_period_without_a_sign_of_life(tmp_path: Path, capsys) -> None:
    empty = write_csv(tmp_path / "empty.csv", [])
    assert main(["backtest", str(empty)]) == 2
    assert capsys.readouterr().err == f"sentinel: {empty}: no events; a backtest needs 8 whole days\n"
    away = [Row(D0 + timedelta(days=d, hours=h), "front_door", "door", h % 2, "hall") for d in (7, 8) for h in (8, 19)]
    away_file = write_csv(tmp_path / "away.csv", [*hourly_rows(7), *away])
    assert main(["backtest", str(away_file)]) == 2
    assert capsys.readouterr().err == (
        f"sentinel: {away_file}: no sign of life in the test period (from 2026-01-12) to start an incident at: "
        "a backtest needs activity rows other than doors there\n"
    )


UTC = UTC


def write_with_offsets(path: Path, rows: list[Row], change: datetime, before: int, after: int) -> Path:
    """Rows whose times are UTC instants, written as the home's clock with its offset, which changes at ``change``."""
    lines = ["timestamp,sensor,kind,value,room"]
    for r in rows:
        offset = timezone(timedelta(hours=before if r.at < change else after))
        lines.append(
            f"{r.at.replace(tzinfo=UTC).astimezone(offset).isoformat()},{r.sensor},{r.kind},{r.value},{r.room}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_export_across_the_autumn_clock_change_is_ordered_by_the_instant(tmp_path: Path) -> None:
    path = tmp_path / "autumn.csv"
    path.write_text(
        "timestamp,sensor,kind,value,room\n"
        "2026-10-25T00:30:00+01:00,kitchen_pir,motion,1,kitchen\n"
        "2026-10-25T01:50:00+01:00,kitchen_pir,motion,1,kitchen\n"  # 00:50 UTC
        "2026-10-25T01:15:00+00:00,kitchen_pir,motion,1,kitchen\n"  # 01:15 UTC: the clock went back at 02:00
        "2026-10-25T01:05:00+00:00,kitchen_pir,motion,1,kitchen\n"  # 01:05 UTC: really out of order
    )
    with pytest.raises(CsvFormatError, match=r"autumn.csv:5: rows must be in time order \(2026-10-25T01:05:00\+00:00"):
        read_rows(path)
    path.write_text("\n".join(path.read_text().splitlines()[:4]) + "\n")
    rows = read_rows(path)
    detector = InactivityDetector()
    for row in rows:
        detector.observe(row)
    # Real elapsed time (80 min, then 25 min), while the time of day is the clock's.
    assert [s.seconds for s in detector.spells] == [80 * 60, 25 * 60]
    assert [s.start.strftime("%H:%M") for s in detector.spells] == ["00:30", "01:50"]
    assert detector.alert_at() == rows[-1].at + timedelta(hours=12)  # the warm-up's night line, in real time


def test_a_spring_forward_spell_lasts_its_real_time(tmp_path: Path) -> None:
    path = tmp_path / "spring.csv"
    path.write_text(
        "timestamp,sensor,kind,value,room\n"
        "2026-03-29T00:30:00+00:00,kitchen_pir,motion,1,kitchen\n"
        "2026-03-29T02:15:00+01:00,kitchen_pir,motion,1,kitchen\n"  # 01:15 UTC: 45 min later, not 1 h 45 min
    )
    detector = InactivityDetector()
    for row in read_rows(path):
        detector.observe(row)
    assert [s.seconds for s in detector.spells] == [45 * 60]


def test_a_file_mixing_offsets_and_none_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "timestamp,sensor,kind,value,room\n"
        "2026-03-01T08:00:00,kitchen_pir,motion,1,kitchen\n"
        "2026-03-01T08:10:00+00:00,kitchen_pir,motion,1,kitchen\n"
    )
    with pytest.raises(CsvFormatError) as info:
        read_rows(path)
    assert str(info.value) == (
        f"{path}:3: timestamp 2026-03-01T08:10:00+00:00 has a UTC offset and the rows before it lack one; "
        "give every timestamp an offset (as `sentinel export` writes them) or none"
    )


@pytest.mark.parametrize(
    ("start", "change", "before", "after"),
    [
        (datetime(2026, 10, 17), datetime(2026, 10, 25, 1), 1, 0),
        (datetime(2026, 3, 21), datetime(2026, 3, 29, 1), 0, 1),
    ],
    ids=["fall back", "spring forward"],
)
def test_backtest_and_replay_run_across_a_clock_change(
    tmp_path: Path, capsys, start: datetime, change: datetime, before: int, after: int
) -> None:
    path = write_with_offsets(tmp_path / "home.csv", Resident(seed=8).days(start, 16), change, before, after)
    assert main(["backtest", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sentinel"]["test_days"] > 7 and report["sentinel"]["detected_within_24h"] == 1.0
    assert report["fixed 12 h"]["median_delay_min"] == 720.0  # twelve real hours, whichever way the clock went
    assert main(["replay", "--json", str(path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[-1]["kind"] == "pending" and listed[-1]["at"].endswith(f"+0{after}:00")


def test_the_evaluation_clock_change_condition(tmp_path: Path, capsys) -> None:
    """From the midpoint on, every timestamp 1 h later, written with +01:00 (+00:00 before): the same instants."""
    rows = Resident(seed=9).days(D0, 16)
    midpoint = rows[len(rows) // 2].at
    lines = ["timestamp,sensor,kind,value,room"]
    for r in rows:
        at, offset = (r.at + timedelta(hours=1), "+01:00") if r.at >= midpoint else (r.at, "+00:00")
        lines.append(f"{at.isoformat()}{offset},{r.sensor},{r.kind},{r.value},{r.room}")
    path = tmp_path / "clock_change.csv"
    path.write_text("\n".join(lines) + "\n")
    changed = read_rows(path)
    plain, shifted = InactivityDetector(), InactivityDetector()
    for row, moved in zip(rows, changed, strict=True):
        plain.observe(row)
        shifted.observe(moved)
    # The spells last exactly as long as in the file without the change; after it, they start an hour later.
    assert [s.seconds for s in shifted.spells] == [s.seconds for s in plain.spells]
    later = [(a.start - b.start) for a, b in zip(shifted.spells, plain.spells, strict=True) if b.start >= midpoint]
    assert later and set(later) == {timedelta(hours=1)}
    assert main(["backtest", str(path)]) == 0
    assert "Cuddihy 2007" in capsys.readouterr().out


def test_replay_says_when_the_quiet_at_the_end_of_the_file_would_alert(tmp_path: Path, capsys) -> None:
    path = write_csv(tmp_path / "today.csv", routine_rows(14, 5, kitchen(12)))
    assert main(["replay", "--name", "Mary", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == (
        "The file ends at 2026-01-19 12:00. If the quiet goes on, the alert would come at 2026-01-19 12:36:\n"
        "  No sign of activity since 12:00 (36 min); Mary was last noticed by movement in the kitchen. "
        "At this time of day, after movement in the kitchen, sentinel alerts once the quiet lasts 36 min. "
        f"{BUDGET}, as chosen for this home.\n"
    )
    assert err == "0 inactivity alert(s)\n"  # the pending one is not counted as raised
    assert main(["replay", "--json", "--name", "Mary", str(path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["kind"] for a in listed] == ["pending"]
    assert listed[0]["at"] == "2026-01-19T12:36:19" and listed[0]["facts"]["line_cause"] == "budget"


def test_replay_after_the_front_door_says_when_the_alert_would_come(tmp_path: Path, capsys) -> None:
    out_row = Row(LAST_DAY + timedelta(hours=10), "front_door", "door", 0, "hall")
    last_seen = Row(LAST_DAY + timedelta(hours=9, minutes=45), "kitchen_pir", "motion", 1, "kitchen")
    path = write_csv(tmp_path / "today.csv", routine_rows(14, 5, last_seen, out_row))
    assert main(["replay", "--name", "Mary", str(path)]) == 0
    assert capsys.readouterr().out == (  # no outing learned yet: the door's longest wait
        "The file ends at 2026-01-19 10:00. If the quiet goes on, the alert would come at 2026-01-20 10:00:\n"
        "  No sign of activity since 10:00 (24 h 00 min); Mary was last noticed by the front door. "
        "At this time of day, after the front door, sentinel alerts once the quiet lasts 24 h 00 min, "
        "the longest wait after the front door set for this home.\n"
    )
    assert main(["replay", "--json", str(path)]) == 0
    pending = json.loads(capsys.readouterr().out)[-1]
    assert pending["kind"] == "pending" and pending["at"] == "2026-01-20T10:00:00"
    assert pending["facts"]["line_cause"] == "ceiling" and pending["facts"]["context"] == "front_door:0"


def test_replay_after_the_front_door_while_learning_says_a_day_of_quiet_is_checked(tmp_path: Path, capsys) -> None:
    # Door, then nothing, can be a fall right after coming in: while learning, it is checked after a day, as the
    # longest wait after the door once learned (before, no alert ever came while learning).
    out_row = Row(D0 + timedelta(days=5, hours=10), "front_door", "door", 0, "hall")
    path = write_csv(tmp_path / "today.csv", routine_rows(5, 5, out_row))
    assert main(["replay", "--name", "Mary", str(path)]) == 0
    assert capsys.readouterr().out == (
        "The file ends at 2026-01-10 10:00. If the quiet goes on, the alert would come at 2026-01-11 10:00:\n"
        "  No sign of activity since 10:00 (24 h 00 min); Mary was last noticed by the front door. "
        "sentinel is still learning Mary's routine (that takes 7 days), so for now, after the front door (10:00), "
        "it alerts after a fixed 24 h 00 min without a sign of life (Mary may be out).\n"
    )
    assert main(["replay", "--json", str(path)]) == 0
    pending = json.loads(capsys.readouterr().out)[-1]
    assert pending["kind"] == "pending" and pending["at"] == "2026-01-11T10:00:00"
    assert pending["facts"]["line_cause"] == "warmup" and pending["facts"]["line_min"] == 24 * 60


def test_replay_while_learning_lists_the_days_alert_once_and_a_blip_after_it_starts_another_day(
    tmp_path: Path, capsys
) -> None:
    # While learning, any sign ends the quiet: a blip after the day's alert starts another day's wait from it. Before,
    # it was listed twice, the second "since 13:00 (-10800 s)": the outing's wait was counted from the door.
    out_row = Row(D0 + timedelta(days=3, hours=10), "front_door", "door", 0, "hall")
    blips = [Row(D0 + timedelta(days=4, hours=h), "kitchen_pir", "motion", 1, "kitchen") for h in (13, 15)]
    path = write_csv(tmp_path / "today.csv", routine_rows(3, 5, out_row, *blips))
    assert main(["replay", "--name", "Mary", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("2026-01-09 10:00  No sign of activity since 10:00 (24 h 00 min);")
    assert out.splitlines()[1:] == [
        "The file ends at 2026-01-09 15:00. If the quiet goes on, the alert would come at 2026-01-10 15:00:",
        "  No sign of activity since 15:00 (24 h 00 min); Mary was last noticed by movement in the kitchen. "
        "sentinel is still learning Mary's routine (that takes 7 days), so for now, after the front door (10:00), "
        "it alerts after a fixed 24 h 00 min without a sign of life (Mary may be out).",
    ]
    assert err == "1 inactivity alert(s)\n"


def test_replay_when_the_first_routine_comes_after_a_blip_takes_it_for_hers_not_an_outings_stray(
    tmp_path: Path, capsys
) -> None:
    out_row = Row(D0 + timedelta(days=6, hours=10), "front_door", "door", 0, "hall")
    blip = Row(D0 + timedelta(days=7, hours=13), "kitchen_pir", "motion", 1, "kitchen")  # learning ends here
    bed = Row(D0 + timedelta(days=7, hours=20), "bed", "pressure", 1, "bedroom")
    path = write_csv(tmp_path / "today.csv", routine_rows(6, 5, out_row, blip, bed))
    assert main(["replay", "--name", "Mary", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("2026-01-12 10:00  No sign of activity since 10:00 (24 h 00 min);")
    # The blip was hers (the warm-up took it so): the next alert is the kitchen's learned wait after it, not one at
    # once for an outing long overdue (before: "2026-01-12 10:00 ... since 13:00 (-10800 s)").
    assert lines[1].startswith("2026-01-12 13:33  No sign of activity since 13:00 (33 min);") and "(-" not in out
    assert err == "2 inactivity alert(s)\n"


def test_replay_says_when_the_file_ends_with_an_alert_still_out(tmp_path: Path, capsys) -> None:
    stray = Row(kitchen(15).at, "bedroom_pir", "motion", 1, "bedroom")  # one sign, hours after the alert: a stray
    path = write_csv(tmp_path / "today.csv", routine_rows(14, 5, kitchen(12), stray))
    assert main(["replay", "--name", "Mary", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == (
        "The file ends at 2026-01-19 15:00 with the alert of 2026-01-19 12:36 still out: nothing since was taken "
        "for a sign that Mary is up and about (one or two isolated signs are not, nor a sensor's reports alone)."
    )
    assert err == "1 inactivity alert(s)\n"


def test_replay_lists_past_alerts_before_the_pending_one(tmp_path: Path, capsys) -> None:
    # Three quiet hours after noon: an alert; then back in the kitchen (three signs, a return), and quiet again.
    back = [kitchen(15), *(Row(kitchen(15).at + timedelta(minutes=m), *PIR_OFF[:2], 1, "kitchen") for m in (1, 2))]
    path = write_csv(tmp_path / "week.csv", routine_rows(14, 5, kitchen(12), *back))
    assert main(["replay", "--json", str(path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["kind"] for a in listed] == ["inactivity", "pending"]
    assert listed[0]["at"] == "2026-01-19T12:36:19" and listed[1]["facts"]["last_activity"] == "2026-01-19T15:02:00"


# --- the robustness conditions, the door onsets row and the calibration check ----------------


def kit_rows(days: int = 16) -> list[Row]:
    """A simulated month with outings, plus two long afternoons out (absences over 3 h)."""
    rows = Resident(seed=12, outing_chance=0.9).days(D0, days)
    for day in (3, 11):
        start, back = D0 + timedelta(days=day, hours=13), D0 + timedelta(days=day, hours=18)
        rows = [r for r in rows if not (start - timedelta(minutes=1) <= r.at <= back + timedelta(minutes=2))]
        rows += [
            Row(start, "front_door", "door", 1, "hall"),
            Row(start + timedelta(seconds=20), "front_door", "door", 0, "hall"),
        ]
        rows += [
            Row(back, "front_door", "door", 1, "hall"),
            Row(back + timedelta(minutes=1), "kitchen_pir", "motion", 1, "kitchen"),
        ]
    return sorted(rows, key=lambda r: r.at)


def test_a_sensor_dies_and_a_sparse_kit() -> None:
    rows = kit_rows()
    middle = midpoint(rows)
    busiest = Counter(r.sensor for r in rows if r.kind == "motion").most_common(1)[0][0]
    dead = sensor_dies(rows)
    assert not any(r.sensor == busiest and r.at > middle for r in dead)
    assert [r for r in rows if r.sensor != busiest or r.at <= middle] == dead
    sparse = sparse_kit(rows)
    assert {r.sensor for r in sparse} == {"front_door", busiest}
    assert len(sparse) == sum(r.sensor in ("front_door", busiest) for r in rows)


def test_missed_departures_remove_forty_percent_of_the_door_rows_that_start_an_absence() -> None:
    rows = kit_rows()
    missed = missed_departures(rows)
    gone = [r for r in rows if r not in missed]
    starts = []
    for i, r in enumerate(rows):
        later = [o.at for o in rows[i + 1 :] if o.sensor != "front_door" and o.is_activity]
        if r.sensor == "front_door" and (later[0] if later else rows[-1].at) - r.at >= timedelta(hours=1):
            starts.append(r)
    assert len(starts) >= 4 and len(gone) == round(0.4 * len(starts))
    assert all(r in starts for r in gone)
    assert missed_departures(rows) == missed  # seeded


def test_stray_events_fall_inside_long_absences() -> None:
    rows = kit_rows()
    strayed = stray_events(rows)
    added = [r for r in strayed if r not in rows]
    absences = [(D0 + timedelta(days=d, hours=13, seconds=20), D0 + timedelta(days=d, hours=18)) for d in (3, 11)]
    assert len(added) == round(0.3 * len(absences)) == 1
    (stray,) = added
    assert stray.kind == "motion" and stray.value == 1 and stray.sensor != "front_door"
    assert any(begin < stray.at < end for begin, end in absences)
    assert strayed == sorted(strayed, key=lambda r: r.at)


def test_the_clock_change_condition_keeps_the_instants() -> None:
    rows = kit_rows()
    changed = clock_change(rows)
    middle = midpoint(rows)
    assert [r.at.replace(tzinfo=UTC) for r in rows] == [r.at.astimezone(UTC) for r in changed]
    assert all(c.at.utcoffset() == timedelta(hours=r.at >= middle) for r, c in zip(rows, changed, strict=True))
    assert set(CONDITIONS) == {"a sensor dies", "a sparse kit", "missed departures", "stray events", "clock change"}


def test_door_onsets_are_every_test_period_row_of_the_entrance_door() -> None:
    rows = kit_rows()
    split = Split.of(rows)
    measured = measure(rows, lambda split: FixedTimer(12))
    doors = [r for r in rows if r.sensor == "front_door" and r.at >= split.test_start]
    assert measured.doors is not None and measured.doors.incidents == len(doors) >= 4
    assert measured.doors.median_delay_min == 720.0 and measured.doors.false_alerts == measured.report.false_alerts
    assert measure(hourly_rows(10), lambda split: FixedTimer(12)).doors is None  # no entrance door


def test_calibration_counts_the_frozen_lines_in_and_out_of_sample() -> None:
    quiet = (D0 + timedelta(days=12, hours=11), D0 + timedelta(days=12, hours=17))  # six hours at noon, out of sample
    rows = [r for r in routine_rows(16, 10) if not quiet[0] < r.at < quiet[1]]
    checked = calibration(rows)
    assert checked.budget == 1.0 and checked.train_days == pytest.approx(8, abs=0.5)
    assert checked.in_sample == 0.0
    assert checked.out_of_sample == pytest.approx(30 / checked.test_days, abs=0.01)


# --- going out and coming back, unrecorded outings, the applied rule, the night, silent sensors ----------


def outing_days(days: int, hidden: bool = False, start: datetime = D0) -> list[Row]:
    """A kitchen PIR every 10 min from 07:00 to 22:00, bed at 22:00; out from 14:00 to 17:00 every day.

    ``hidden``: the door misses the departure (only the return is recorded).
    """
    rows: list[Row] = []
    for d in range(days):
        day = start + timedelta(days=d)
        out, back = day + timedelta(hours=14), day + timedelta(hours=17, minutes=d % 3 * 20)
        at = day + timedelta(hours=7)
        while at < day + timedelta(hours=22):
            if not out - timedelta(minutes=5) < at < back + timedelta(minutes=5):
                rows += [Row(at, "kitchen_pir", "motion", 1, "kitchen"), Row(at + timedelta(seconds=30), *PIR_OFF)]
            at += timedelta(minutes=10)
        if not hidden:
            rows += [Row(out, "front_door", "door", 1, "hall"), Row(out + timedelta(seconds=20), *DOOR_SHUT)]
        rows += [Row(back, "front_door", "door", 1, "hall"), Row(back + timedelta(seconds=20), *DOOR_SHUT)]
        rows.append(Row(day + timedelta(hours=22), "bed", "pressure", 1, "bedroom"))
    return sorted(rows, key=lambda r: r.at)


DOOR_SHUT = ("front_door", "door", 0, "hall")


def learned(rows: list[Row]) -> InactivityDetector:
    detector = InactivityDetector()
    for row in rows:
        detector.observe(row)
    return detector


def gone_out() -> tuple[InactivityDetector, datetime]:
    """Fourteen days of outings learned, then Mary out through the front door at 14:00 on the last day."""
    detector = learned(outing_days(14))
    out = LAST_DAY + timedelta(hours=14, seconds=20)
    for row in (Row(out - timedelta(seconds=20), "front_door", "door", 1, "hall"), Row(out, *DOOR_SHUT)):
        detector.observe(row)
    return detector, out


def test_stray_events_in_an_empty_home_do_not_end_the_outing() -> None:
    detector, out = gone_out()
    deadline = detector.alert_at()
    assert deadline is not None and deadline - out > timedelta(hours=3, minutes=40)  # beyond the usual outings
    for minutes in (50, 52):  # a pressure mat's blip in the empty flat: occupied, then vacated
        detector.observe(Row(out + timedelta(minutes=minutes), "seat", "pressure", minutes == 50, "living"))
        assert detector.alert_at() == deadline  # the outing's line holds
        limit = detector.limit()
        assert limit is not None and limit.cause == "stray" and limit.since == out
        last = detector.last_at
        assert last is not None
        place = Place("seat", "pressure", "living")
        reason, facts = explain("Mary", last, deadline, "seat:0", place, 0, limit, detector.model)
        assert reason.endswith(
            "Mary went out at 14:00; one or two signs of life since then, with no return through the front door, "
            "look like a sensor's stray blip in an empty home, so sentinel keeps the outing's wait and alerts at "
            f"{deadline:%H:%M}."
        )
        assert facts["went_out"] == out.isoformat() and facts["line_cause"] == "stray"
    back = out + timedelta(hours=3)
    detector.observe(Row(back, "front_door", "door", 1, "hall"))  # the return: the blips were strays
    assert detector.last_context == "front_door:1 back"
    assert [s.seconds for s in detector.spells[-1:]] == [3 * 3600]  # the outing, learned whole
    assert detector.line_s() is not None and detector.line_s() < 3 * 3600  # just back: movement is expected soon
    detector.observe(Row(back + timedelta(minutes=2), "kitchen_pir", "motion", 1, "kitchen"))
    assert detector.limit() is not None and detector.limit().cause != "stray"


def test_once_the_alert_is_out_one_or_two_signs_are_strays_and_a_third_or_the_door_ends_it() -> None:
    detector, out = gone_out()
    deadline = detector.alert_at()
    assert deadline is not None
    # Past the outing's wait (its alert out): a blip is neither a return nor the start of a new quiet spell.
    blip = Row(deadline + timedelta(hours=2), "seat", "pressure", 1, "living")
    assert not detector.observe(blip) and detector.held
    assert detector.alert_at() == deadline and detector.last_context == "front_door:0"
    detector.observe(Row(deadline + timedelta(hours=3), "front_door", "door", 1, "hall"))  # the door: back
    assert detector.last_context == "front_door:1 back" and not detector.held
    assert detector.spells[-1].seconds == (deadline + timedelta(hours=3) - out).total_seconds()  # learned whole
    # At home: the kitchen, then quiet past its line; two signs held, the third a return from the first of them.
    kitchen_at = deadline + timedelta(hours=3, minutes=5)
    detector.observe(Row(kitchen_at, "kitchen_pir", "motion", 1, "kitchen"))
    due = detector.alert_at()
    assert due is not None
    signs = [due + timedelta(hours=1, minutes=m) for m in (0, 7, 9)]
    for at in signs[:2]:
        assert not detector.observe(Row(at, "bedroom_pir", "motion", 1, "bedroom"))
        assert detector.alert_at() == due and detector.last_at == kitchen_at
    assert detector.observe(Row(signs[2], "bedroom_pir", "motion", 1, "bedroom"))
    assert detector.last_at == signs[2] and not detector.held
    assert [s.seconds for s in detector.spells[-3:]] == [
        (signs[0] - kitchen_at).total_seconds(),
        7 * 60,
        2 * 60,
    ]


def test_the_door_after_coming_in_and_a_while_unseen_is_going_out() -> None:
    """A kit that misses the rooms the resident uses: in at 17:00, nothing indoors, and the door at 19:00 again."""
    detector = learned(outing_days(14))
    day = LAST_DAY
    for hours in (14, 17, 19):
        at = day + timedelta(hours=hours)
        detector.observe(Row(at, "front_door", "door", 1, "hall"))
        detector.observe(Row(at + timedelta(seconds=20), *DOOR_SHUT))
    assert detector.last_context == "front_door:0"  # going out, not coming in once more
    home = detector.spells[-2]  # from coming in to the door again: the resident was home, unseen
    assert (home.context, home.ended_by, home.seconds) == ("front_door:0 back", "front_door:1", 2 * 3600 - 20)
    gone = day + timedelta(hours=19, seconds=20)
    assert detector.alert_at() == gone + timedelta(seconds=detector.model.line("front_door:0", gone))
    detector.observe(Row(day + timedelta(hours=20), "front_door", "door", 1, "hall"))
    assert detector.last_context == "front_door:1 back"  # and the next door after a while is coming in
    assert [s.departed for s in detector.spells if s.start == home.start] == [True]  # it ended going out


def test_a_door_left_open_after_coming_in_and_shut_later_is_still_coming_in() -> None:
    detector = learned(outing_days(14))
    day = LAST_DAY
    for hours in (14, 17):
        detector.observe(Row(day + timedelta(hours=hours), "front_door", "door", 1, "hall"))
        if hours == 14:
            detector.observe(Row(day + timedelta(hours=14, seconds=20), *DOOR_SHUT))
    shut = day + timedelta(hours=17, minutes=40)  # left open 40 min, then shut: no opening, so no going out
    detector.observe(Row(shut, *DOOR_SHUT))
    assert detector.last_context == "front_door:0 back"
    assert detector.alert_at() == shut + timedelta(seconds=detector.model.line("front_door:0 back", shut))
    # Shut again an hour later with no opening between: the opening was lost, and this is going out.
    detector.observe(Row(shut + timedelta(hours=1), *DOOR_SHUT))
    assert detector.last_context == "front_door:0"


def test_a_door_left_open_after_coming_in_is_not_shut_by_another_door() -> None:
    """In by the front door at 17:00, left open; the back door's "shut" at 20:00 (its opening lost) is going out."""
    detector = learned(outing_days(14))
    day = LAST_DAY
    detector.observe(Row(day + timedelta(hours=14), "front_door", "door", 1, "hall"))
    detector.observe(Row(day + timedelta(hours=14, seconds=20), *DOOR_SHUT))
    detector.observe(Row(day + timedelta(hours=17), "front_door", "door", 1, "hall"))
    assert detector.last_context == "front_door:1 back"
    detector.observe(Row(day + timedelta(hours=20), "back_door", "door", 0, "kitchen"))
    assert detector.last_context == "back_door:0"  # not the front door shut at last: going out by the back door


def test_three_signs_of_life_are_a_return_even_without_the_door() -> None:
    detector = learned(outing_days(14))
    out = LAST_DAY + timedelta(hours=14)
    detector.observe(Row(out, *DOOR_SHUT))
    for minutes in (60, 61):
        detector.observe(Row(out + timedelta(minutes=minutes), "kitchen_pir", "motion", 1, "kitchen"))
        assert detector.limit() is not None and detector.limit().cause == "stray"
    third = out + timedelta(minutes=62)
    detector.observe(Row(third, "kitchen_pir", "motion", 1, "kitchen"))
    assert detector.alert_at() == third + timedelta(seconds=detector.model.line("kitchen_pir", third))


def test_quiet_spells_that_ended_with_an_arrival_are_learned_as_outings() -> None:
    """The door misses every departure: the kitchen at 14:00 learns that its quiet may be a three-hour outing."""
    hidden, seen = learned(outing_days(14, hidden=True)), learned(outing_days(14))
    absences = [s for s in hidden.spells if s.absence]
    assert len(absences) == 14 and {s.context for s in absences} == {"kitchen_pir"}
    assert all(s.ended_by == "front_door:1" and s.seconds >= 3 * 3600 for s in absences)
    assert not any(s.absence for s in seen.spells)
    at = LAST_DAY + timedelta(hours=13, minutes=50)
    assert hidden.model.line("kitchen_pir", at) > 3 * 3600 + 40 * 60 > seen.model.line("kitchen_pir", at)


def test_a_door_that_loses_rows_is_expected_to_miss_departures_where_the_resident_leaves_from() -> None:
    """No departure missed whole, but the door loses the 'closed' of every one: leaving may go unseen.

    The kitchen at 14:00, where the resident leaves from, learns that its quiet
    may be an outing; the kitchen at 10:00, where they never leave, does not.
    """
    rows = [r for r in outing_days(14) if not (r.sensor == "front_door" and r.value == 0 and r.at.hour == 14)]
    losing, sound = learned(rows), learned(outing_days(14))
    departures = [s for s in losing.spells if s.departed]
    assert len(departures) == 14 and {(s.context, s.ended_by) for s in departures} == {("kitchen_pir", "front_door:1")}
    assert not any(s.absence for s in losing.spells)  # nothing seen to come back without going out
    assert sum(s.lost for s in losing.spells) == 14  # each return's 'open' repeats the departure's
    leaving, busy = LAST_DAY + timedelta(hours=13, minutes=55), LAST_DAY + timedelta(hours=10)
    assert losing.model.line("kitchen_pir", leaving) > 3 * 3600 + 40 * 60 > sound.model.line("kitchen_pir", leaving)
    assert losing.model.line("kitchen_pir", busy) < 90 * 60
    # One row lost in q, both of a departure in q^2; a door that never lost one is next to never thought to.
    assert whole_misses(14, 42) == pytest.approx((14.5 / 57) ** 2)
    assert whole_misses(0, 56) < 1e-4


def test_the_budget_is_spent_on_the_lines_as_applied() -> None:
    """Clipped at the floor and ceiling and stretched by the night, the lines cost the budget, beyond the forced."""
    rows = Resident(seed=11, outing_chance=0.6).days(D0, 30)
    for budget in (0.5, 1.0, 3.0):
        model = learned_with(rows, Params(false_alerts_per_month=budget)).model
        assert model is not None and model.forced_per_month >= 0
        assert model.expected_per_month - model.forced_per_month == pytest.approx(budget, rel=0.05)


def learned_with(rows: list[Row], params: Params) -> InactivityDetector:
    detector = InactivityDetector(params)
    for row in rows:
        detector.observe(row)
    return detector


def test_a_usual_night_is_learned_only_when_it_is_the_same_night_after_night() -> None:
    noon = 12 * 3600.0
    days = np.arange(10) * 86400.0
    steady = learn_night(days + noon + 11 * 3600, np.full(10, 8 * 3600.0))  # 23:00 to 07:00 every night
    assert steady is not None and steady.bed_from == 11 * 3600 and steady.usually_up == 19 * 3600
    # The longest spell of each day at a different time (an evening out, a lie-in, a nap): no usual night.
    wandering = learn_night(days + noon + (np.arange(10) * 7 % 24) * 3600.0, np.full(10, 3 * 3600.0))
    assert wandering is None
    rows = routine_rows(14, 5, kitchen(3))
    model = learned(rows).model
    assert model is not None and model.night is not None
    assert all(
        model.line(c, LAST_DAY + timedelta(hours=h)) <= model.params.ceiling_s for c in model.lines for h in range(24)
    )


def test_a_silent_sensor_is_found_by_what_the_others_see() -> None:
    t0 = datetime(2026, 1, 5, 8)
    history = [(t0 + timedelta(minutes=5 * i), ("kitchen", "hall", "living")[i % 3]) for i in range(300)]
    assert silent_sensors(history, history[-1][0]) == []
    dead = [(at, s) for at, s in history if not (s == "living" and at > t0 + timedelta(hours=20))]
    later = t0 + timedelta(hours=25)
    (found,) = silent_sensors(dead, later)
    assert found.sensor == "living" and found.usual_max_others == 2 and found.others_since > 4
    assert found.silent_for == pytest.approx((later - (t0 + timedelta(hours=19, minutes=55))).total_seconds())
    assert found.usual_max_gap == 15 * 60
    assert silent_sensors(dead, later, ignore=frozenset({"living"})) == []
    # At the boundary: more than 1.5 times the most ever seen between two of its own (2), and more than ten in
    # all: ten signs elsewhere since are not enough, an eleventh is.
    assert SILENT_FACTOR == 1.5 and MIN_ELSEWHERE == 10
    last = max(i for i, (_, s) in enumerate(dead) if s == "living")
    assert silent_sensors(dead[: last + 11], dead[last + 10][0]) == []
    assert [f.sensor for f in silent_sensors(dead[: last + 12], dead[last + 11][0])] == ["living"]


def test_a_sensor_that_retriggers_in_view_counts_moves_not_signs() -> None:
    """A PIR reporting every few seconds while the resident sits in view tells no more of where they went."""
    t0 = datetime(2026, 1, 5, 8)
    terse = [(t0 + timedelta(minutes=5 * i), ("kitchen", "hall", "living")[i % 3]) for i in range(300)]
    chatty = sorted(terse + [(at + timedelta(seconds=10 * k), s) for at, s in terse if s == "kitchen" for k in (1, 2)])
    assert len(chatty) == 500
    names = ("hall", "kitchen", "living")
    for activity in (terse, chatty):
        usual = usual_gaps(activity)
        assert (usual["living"].signs, usual["living"].max_others) == (100, 2)  # visits; kitchen and hall between
        assert usual["kitchen"].signs == 100
        times = np.array([(at - t0).total_seconds() for at, _ in activity])
        learned = usual_gaps_of(times, np.array([names.index(s) for _, s in activity]), names)  # the detector's
        assert learned["living"].max_others == 2 and learned["kitchen"].signs == 100
    dead = [(at, s) for at, s in chatty if not (s == "living" and at > t0 + timedelta(hours=20))]
    (found,) = silent_sensors(dead, t0 + timedelta(hours=25))
    assert found.sensor == "living" and found.others_since == 40  # kitchen, hall...: 40 moves, not the 80 signs


def test_the_routine_is_relearned_without_a_dead_sensor() -> None:
    rows = Resident(seed=13).days(D0, 20)
    middle = midpoint(rows)
    dead = [r for r in rows if not (r.sensor == "living_pir" and r.at > middle)]
    detector = learned(dead)
    assert detector.silent == {"living_pir"}
    (notice,) = detector.silent_sensors(dead[-1].at)
    assert notice.sensor == "living_pir" and notice.silent_for > notice.usual_max_gap
    assert "living_pir" not in {s.context for s in detector.spells if s.start > middle}
    # The spells are relearned as if it had never reported: after the kitchen, quiet lasts until another sensor.
    assert "living_pir" not in detector.model.lines
    detector.observe(Row(dead[-1].at + timedelta(minutes=1), "living_pir", "motion", 1, "living room"))
    assert detector.silent == set()  # it reports again


def test_only_sensors_that_see_the_resident_pass_by_are_judged_silent() -> None:
    """The same silence from an appliance or a cupboard is not a fault: they report only when used."""
    rows = Resident(seed=13).days(D0, 20)
    middle = midpoint(rows)
    dead = [r for r in rows if not (r.sensor == "living_pir" and r.at > middle)]
    for kind, judged in (("power", False), ("contact", False), ("pressure", True)):
        renamed = [Row(r.at, r.sensor, kind, r.value, r.room) if r.sensor == "living_pir" else r for r in dead]
        detector = learned(renamed)
        assert (detector.silent == {"living_pir"}) is judged, kind
        assert bool(detector.silent_sensors(dead[-1].at)) is judged, kind


def test_without_a_sensor_spells_run_on_to_the_next_working_one() -> None:
    names = ("hall", "kitchen", "living")
    table = SpellTable(
        start=np.array([0.0, 60.0, 100.0, 400.0, 500.0]),
        seconds=np.array([60.0, 40.0, 300.0, 100.0, 50.0]),
        context=np.array([1, 2, 0, 1, 2]),  # kitchen -> living -> hall | kitchen -> living -> ?
        names=names,
        end=np.array([2, 0, 1, 2, 1]),
        absence=np.zeros(5, dtype=bool),
        departed=np.array([False, True, False, False, False]),  # what ends a merged spell is its last part's
        lost=np.array([False, True, False, False, False]),
    )
    chain = np.array([False, True, True, False, True])
    merged = without(table, chain, {2})
    assert list(merged.seconds) == [100.0, 300.0, 150.0]  # kitchen 60 + 40; hall 300; kitchen 100 + 50
    assert list(merged.context) == [1, 0, 1] and list(merged.end) == [0, 1, 1]
    assert merged.departed is not None and list(merged.departed) == [True, False, False]
    assert merged.lost is not None and list(merged.lost) == [True, False, False]
    broken = without(table, np.array([False, False, True, False, True]), {2})
    assert list(broken.seconds) == [300.0, 150.0]  # not contiguous: its true length is unknown, left out


def test_door_then_nothing_alerts_the_circle_as_inactivity_unless_not_back_is_on() -> None:
    """Without not_back, the routine's door line raises a (high) inactivity alert; with it, a not_back alert."""
    for not_back, kind in ((False, "inactivity"), (True, "not_back")):
        config = parse_config(
            "home: {id: mary, name: Mary}\ngpio: {pin_factory: mock}\nmqtt: {host: 127.0.0.1, port: 1883}\n"
            f"detection: {{not_back: {str(not_back).lower()}}}\n"
            "sensors:\n  - {name: kitchen_pir, kind: motion, pin: 5, room: kitchen}\n"
            "  - {name: front_door, kind: door, pin: 6, room: hall}\n"
        )
        assert config.detection is not None
        watch = Watch(config.detection, config.home, config.sensors)
        rows = outing_days(14)

        def mono(at: datetime) -> float:  # the monotonic clock, in step with the wall clock
            return (at - D0).total_seconds()

        seen: list[Event] = []
        for row in rows:
            event = Event(row.sensor, row.kind, row.value, row.room, row.at.astimezone(), mono(row.at))
            seen.append(event)
            if event.is_activity:
                watch.activity(event, learn=True)
            if watch.detector.wanted is not None:  # the daily refit, as the agent's learning process does it
                watch.adopt(learn(seen, [], watch.request(watch.detector.wanted, state=False)))
                watch.detector.wanted = None
        out = rows[-1].at + timedelta(hours=16)  # the next day at 14:00
        watch.activity(Event("front_door", "door", 0, "hall", out.astimezone(), mono(out)), learn=True)
        line = watch.line_s()
        assert line is not None and math.isfinite(line)
        assert watch.due(mono(out) + line - 1) is None and watch.due(mono(out) + line + 1) == "alert"
        alert = watch.alert(out + timedelta(seconds=line), "n")
        assert alert.kind == kind and alert.severity == ("normal" if not_back else "high")
        assert alert.facts["context"] == "front_door:0" and alert.facts["line_cause"] in ("budget", "ceiling")


def prior_home(steady: bool) -> list[Spell]:
    """Four weeks of a home whose places either keep their usual spell length at each hour, or do not."""
    rng = random.Random(3)
    places = ["kitchen", "hall", "bath", "bed", "sofa", "desk"]
    usual = {(p, h): rng.choice([4, 12, 40, 90, 150]) * 60.0 for p in places for h in range(24)}
    out: list[Spell] = []
    for d in range(28):
        t = D0 + timedelta(days=d, hours=7)
        while t < D0 + timedelta(days=d, hours=23):
            place = rng.choice(places)
            seconds = usual[(place, t.hour)] * rng.uniform(0.8, 1.25) if steady else rng.lognormvariate(7.3, 1.2)
            out.append(Spell(t, place, seconds))
            t += timedelta(seconds=seconds + 60)
    return out


def test_the_prior_weight_is_learned_from_the_home_and_kept_for_a_week() -> None:
    """Places with their own steady habits speak for themselves; places that say nothing lean on the home."""
    now = D0 + timedelta(days=28)
    steady, noisy = fit(prior_home(True), now, Params()), fit(prior_home(False), now, Params())
    assert steady.prior_weight == min(PRIOR_WEIGHTS) and noisy.prior_weight == max(PRIOR_WEIGHTS)
    assert steady.prior_chosen_s == wall_seconds(now)
    # Within a week the weight in use is kept (no new choice); once the window has moved by a week it is chosen anew.
    kept = fit(prior_home(True), now, Params(), prior_hint=(2.0, wall_seconds(now - timedelta(days=6))))
    assert (kept.prior_weight, kept.prior_chosen_s) == (2.0, wall_seconds(now - timedelta(days=6)))
    anew = fit(prior_home(True), now, Params(), prior_hint=(2.0, wall_seconds(now - REFRESH_S * timedelta(seconds=1))))
    assert (anew.prior_weight, anew.prior_chosen_s) == (min(PRIOR_WEIGHTS), wall_seconds(now))
    # Set rather than learned, the weight is the one given.
    fixed = fit(prior_home(False), now, Params(prior_weight=1.0, learn_prior=False))
    assert (fixed.prior_weight, fixed.prior_chosen_s) == (1.0, None)
    # The learning process is told the weight in use and hands back the one it drew with.
    request = Request(now, Params(), Warmup(), prior_hint=(2.0, 123.0))
    assert Request.loads(request.dumps()).prior_hint == (2.0, 123.0)
    back = _model_of(json.loads(json.dumps(_model_dict(kept))))
    assert back is not None and (back.prior_weight, back.prior_chosen_s) == (kept.prior_weight, kept.prior_chosen_s)


@pytest.mark.parametrize(
    ("floor_s", "ceiling_s"), [(1800.0, 16 * 3600.0), (300.0, 16 * 3600.0), (7200.0, 3600.0), (3900.0, 3600.0)]
)
def test_the_curves_left_undone_below_the_floor_change_no_line(
    monkeypatch: pytest.MonkeyPatch, floor_s: float, ceiling_s: float
) -> None:
    """Below the floor, and below a ceiling set lower still, nothing reads the curves: working them out changes
    no line, nor the price (a ceiling under the floor is refused in a config, not by the learning)."""
    rows = Resident(seed=1).days(D0, 30)

    def learned() -> RoutineModel:
        detector = InactivityDetector(Params(floor_s=floor_s, ceiling_s=ceiling_s))
        for row in rows:  # refitted daily from yesterday's price, as the agent is
            detector.observe(row)
        assert detector.model is not None
        return detector.model

    skipped = learned()
    monkeypatch.setattr("sentinel.detect.routine.first_line", lambda shortest_s: 0)  # every grid line worked out
    whole = learned()
    for name, lines in whole.lines.items():
        assert np.array_equal(skipped.lines[name], lines), name
    assert skipped.price == pytest.approx(whole.price, rel=1e-6)
    assert skipped.expected_per_month == pytest.approx(whole.expected_per_month, rel=1e-6)
