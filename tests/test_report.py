"""sentinel report: one page for a carer, rendered in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from conftest import agent_yaml
from sentinel.agent.learning import ROUTINE
from sentinel.cli import main
from sentinel.core.alerts import Alert
from sentinel.core.events import Event
from sentinel.demo.resident import Resident
from sentinel.detect.learn import learn
from sentinel.detect.lines import Params, Warmup
from sentinel.detect.summary import Request
from sentinel.store import Store


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:  # never a skip: without it the page is not known to render
        pytest.fail("chromium is not installed; run the tests with `bash scripts/test.sh`", pytrace=False)
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Three weeks of a simulated resident in a real database, with one alert Ann closed."""
    store = Store(tmp_path / "state" / "agent.db")
    rows = Resident(seed=3).days(datetime(2026, 3, 1), 21)
    store.add_events([Event(r.sensor, r.kind, r.value, r.room, r.at.astimezone(), 0.0) for r in rows])
    raised = datetime(2026, 3, 18, 14, 16).astimezone()
    alert = Alert("mary-inactivity-1", "mary", "inactivity", "high", raised, "No sign of activity since 11:30.", {})
    store.raise_alert(alert, "sentinel/mary/alert", "{}")
    store.close_alert(alert.alert_id, datetime(2026, 3, 18, 14, 40).astimezone(), "Ann (next door)", "Ann is there")
    store.close()
    config = tmp_path / "agent.yaml"
    config.write_text(agent_yaml(1883, state_dir=tmp_path / "state"))
    return config


def test_the_report_holds_what_a_carer_asks_and_needs_no_network(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "-c", str(home), "-o", str(out), "--days", "14"]) == 0
    page = out.read_text()
    for heading in (
        "When there was life at home",
        "How long a quiet spell may last",
        "The longest quiet spells",
        "Outings",
        "Alerts",
        "The kit",
    ):
        assert heading in page
    assert "Closed 14:40 by Ann (next door)" in page
    assert "sentinel: the last days at Mary's" in page
    assert "With these waits, expect about" in page
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing fetched: it opens without a network
    night = re.search(r"The usual night: from (\d\d):\d\d to (\d\d):\d\d", page)
    assert night is None or int(night.group(1)) >= 18 or int(night.group(1)) <= 6  # a night, not an afternoon


def test_the_report_renders_in_chromium_without_errors(home: Path, tmp_path: Path) -> None:
    out, shot = tmp_path / "report.html", tmp_path / "report.png"
    assert main(["report", "-c", str(home), "-o", str(out)]) == 0
    result = subprocess.run(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=412,2400",  # a phone's width
            f"--screenshot={shot}",
            "--enable-logging=stderr",
            "--v=0",
            out.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert "CONSOLE" not in result.stderr and "Uncaught" not in result.stderr, result.stderr[-2000:]


def test_the_report_and_the_routine_draw_the_lines_as_the_homes_config_sets_them(
    home: Path, tmp_path: Path, capsys
) -> None:
    def living_room_waits() -> list[str]:
        assert main(["routine", "-c", str(home)]) == 0
        out = capsys.readouterr().out
        return re.findall(r"^\d\d:00 .*?\s((?:\d+ h )?\d+ min) \(living_pir\)$", out, flags=re.MULTILINE)

    as_learned = living_room_waits()
    assert as_learned and any("h" in wait for wait in as_learned)  # an hour or more somewhere in the living room
    home.write_text(
        home.read_text()
        + "detection:\n  false_alerts_per_month: 0.5\n  rooms:\n    - room: living room\n      ceiling: 45m\n"
    )
    capped = living_room_waits()
    assert len(capped) == len(as_learned) and all("h" not in wait and int(wait.split()[0]) <= 45 for wait in capped)
    out = tmp_path / "report.html"
    assert main(["report", "-c", str(home), "-o", str(out)]) == 0
    page = out.read_text()
    assert "drawn for 0.5 a month" in page  # the home's budget, not 1
    # 45 min in the living room is far shorter than her afternoons there: the room's ceiling's alerts are counted.
    assert "24 h after the front door, or a room&#x27;s own)" in page
    expected = re.search(r"With these waits, expect about (\d+) false alerts a month", page)
    assert expected is not None and int(expected.group(1)) > 10
    hours = re.findall(r"<title>\d\d:00: an alert after ((?:\d+ h )?\d+ min) of quiet</title>", page)
    assert len(hours) == 24 and sum("h" not in wait and int(wait.split()[0]) <= 45 for wait in hours) >= len(capped)


def test_the_report_and_the_routine_show_the_routine_the_agent_watches_with(home: Path, tmp_path: Path, capsys) -> None:
    database = tmp_path / "state" / "agent.db"
    store = Store(database)
    events = list(store.events())
    # The agent learned its routine with a budget of 0.2 (before a carer's change of config it has not yet taken up).
    request = Request(events[-1].wall, Params(false_alerts_per_month=0.2), Warmup())
    store.set_setting(ROUTINE, learn(events, store.flips(), request).dumps())
    store.close()
    assert main(["routine", "-c", str(home)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("The routine the agent watches with, learned as of 2026-03-21")
    assert "It was learned with a budget of 0.2 a month (the config now says 1 a month)" in said
    assert "(drawn for 0.2 a month)" in said  # the agent's routine, not one learned here
    out = tmp_path / "report.html"
    assert main(["report", "-c", str(home), "-o", str(out)]) == 0
    assert "(drawn for 0.2 a month)" in out.read_text()
    # A routine that cannot be read, or one kept while the agent was still learning: said so, and one is learned
    # from the stored events with the config instead.
    for kept, why in (
        ('{"version": 1', "The agent's routine could not be read"),
        (learn(events[:500], [], replace(request, now=events[499].wall)).dumps(), "it was still learning"),
    ):
        store = Store(database)
        store.set_setting(ROUTINE, kept)
        store.close()
        assert main(["routine", "-c", str(home)]) == 0
        said = capsys.readouterr().out
        assert why in said.splitlines()[0] and "the routine below is learned here" in said.splitlines()[0]
        assert "(drawn for 1 a month)" in said


def test_with_detection_off_the_report_and_the_routine_say_no_alert_comes_from_quiet(
    home: Path, tmp_path: Path, capsys
) -> None:
    home.write_text(home.read_text() + "detection:\n  enabled: false\n")
    assert main(["routine", "-c", str(home)]) == 0
    assert capsys.readouterr().out.startswith("Inactivity detection is off in this home's config")
    out = tmp_path / "report.html"
    assert main(["report", "-c", str(home), "-o", str(out)]) == 0
    assert "Inactivity detection is off in this home&#x27;s config (detection.enabled: false)" in out.read_text()
