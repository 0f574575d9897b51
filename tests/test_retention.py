"""What the agent keeps on the SD card: sensor events in batches, and only for keep_days."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_agent import HELP_PIN, PIR_PIN, T0, Home

from conftest import Mosquitto, agent_yaml
from sentinel.agent.app import EVENT_BATCH_S
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.core.events import Event
from sentinel.errors import ConfigError
from sentinel.store import Store


def moves(h: Home, times: int) -> None:
    for _ in range(times):
        h.pin(PIR_PIN).drive_high()
        h.wait(40)
        h.pin(PIR_PIN).drive_low()
        h.wait(40)  # past the PIR's hold time: each is an episode of its own


def test_sensor_events_are_stored_together_and_an_alert_at_once(tmp_path: Path, broker: Mosquitto) -> None:
    h = Home(tmp_path, broker.port, clock=ManualClock(T0)).start(threaded=False)
    try:
        h.agent.pump()  # the start-up (old events are pruned then)
        moves(h, 3)  # 4 minutes of movement
        assert list(h.store.events()) == []  # still waiting for the batch: no write to the card yet
        h.pin(HELP_PIN).drive_low()
        h.wait(0.6)
        h.pin(HELP_PIN).drive_high()
        h.wait(0.1)
        assert h.store.open_alerts("testhome")  # an alert is never held back, and it takes the waiting events along
        assert [e.sensor for e in h.store.events()][:6] == ["hall_pir"] * 6
        moves(h, 1)
        stored = len(list(h.store.events()))
        h.wait(EVENT_BATCH_S)
        assert len(list(h.store.events())) > stored  # the batch went in by itself
    finally:
        h.stop()


def test_a_clean_stop_stores_the_waiting_events(tmp_path: Path, broker: Mosquitto) -> None:
    h = Home(tmp_path, broker.port, clock=ManualClock(T0)).start(threaded=False)
    moves(h, 2)
    h.agent.close()
    assert len(list(h.store.events())) == 4
    h.store.close()


def test_events_older_than_keep_days_are_deleted_at_start_and_daily(tmp_path: Path, broker: Mosquitto) -> None:
    store = Store(tmp_path / "agent.db")
    for days in (120, 95, 89.5, 1):
        store.add_event(Event("hall_pir", "motion", 1, "hall", T0 - timedelta(days=days), 0.0))
    store.close()
    h = Home(tmp_path, broker.port, clock=ManualClock(T0)).start(threaded=False)
    try:
        h.agent.pump()
        assert [(T0 - e.wall).days for e in h.stored()] == [89, 1]  # 90 days kept by default
        h.wait(86400)
        assert [(T0 - e.wall).days for e in h.stored() if e.wall < T0] == [1]  # a day later, the 89-day one is 90
    finally:
        h.stop()


def test_keep_days_must_cover_what_the_routine_learns_from(tmp_path: Path) -> None:
    text = agent_yaml(1883) + "keep_days: 30\ndetection:\n  window_days: 56\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "agent.yaml")
    assert any(
        "keep_days: keeps 30 days of events, but the routine is learned from detection.window_days: 56" in issue
        for issue in refused.value.issues
    )
