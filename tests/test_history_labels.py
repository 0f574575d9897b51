"""What the history sends as labels (never a sensor's name, no endless room) and hourly counts around clock jumps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from test_agent import PIR_PIN, Home
from test_history import T0, history_yaml, one, series, written

from conftest import Mosquitto, VictoriaMetrics, wait_for
from sentinel.agent.app import Agent
from sentinel.agent.history import LABEL_MAX, OTHER, History
from sentinel.agent.lineprotocol import epoch_ms
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.config.model import HistoryConfig
from sentinel.core.events import Event
from sentinel.store import Store

SENSORS = ("hall_pir", "front_door", "help_button")


def test_no_sensor_name_is_sent_and_a_long_room_is_cut(
    tmp_path: Path, broker: Mosquitto, victoria: VictoriaMetrics
) -> None:
    text = history_yaml(broker.port, "hist-names", victoria.url)
    text = text.replace("    room: hall\n    hold_time", "    hold_time")  # the PIR: no room
    text = text.replace("    pin: 27\n    room: hall", '    pin: 27\n    room: ""')  # the door: an empty one
    long_room = "the back room by the garden " * 8  # 224 characters
    text = text.replace("room: living room", f"room: {long_room}")
    h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="hist-names")
    h.agent.close()
    h.config = parse_config(text)
    h.agent = Agent(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    h.start(threaded=False)
    try:
        h.pin(PIR_PIN).drive_high()  # a sign of life from the PIR without a room
        h.wait(1)
        h.pin(PIR_PIN).drive_low()
        h.wait(31)
        h.clock.advance_to(T0.replace(minute=0) + timedelta(hours=1, seconds=30))
        h.agent.pump()
        written(h)
        found = series(victoria, "hist-names")
    finally:
        h.stop()

    values = {value for _, labels in found for _, value in labels}
    assert not any(sensor in value for sensor in SENSORS for value in values), values
    rooms = {dict(labels)["room"] for name, labels in found if name == "sentinel_activity_count"}
    assert rooms == {OTHER, long_room[:LABEL_MAX]}
    assert one(found, "sentinel_activity_count", room=OTHER) == [(epoch_ms(T0.replace(minute=0)), 1.0)]


def test_a_clock_set_back_into_an_hour_adds_to_its_count(tmp_path: Path, own_victoria) -> None:
    """NTP sets a fast clock back from 10:05 to 09:58: 09:00 goes on from its 4 to 5, 10:00 keeps its 1."""
    server: VictoriaMetrics = own_victoria("-dedup.minScrapeInterval=1ms")
    server.start()
    nine = T0.replace(minute=0)
    store = Store(tmp_path / "a.db")
    writer = History(
        HistoryConfig(enabled=True, url=server.url), store, "hist-jump", {"pir": "hall"}, ManualClock(nine), 90
    )
    writer.start(nine)

    def life(minutes: int) -> None:
        writer.activity(Event("pir", "motion", 1, "hall", nine + timedelta(minutes=minutes), 0.0))

    def tick(minutes: int) -> None:
        writer.tick(nine + timedelta(minutes=minutes), "ok", lambda: {})

    try:
        for minute in (10, 20, 30):
            life(minute)
        tick(55)  # a clock 20 minutes fast
        tick(35)  # set back within the hour: nothing to send
        life(40)
        tick(61)  # 10:01: 09:00 is sent with 4
        life(62)
        tick(58)  # set back across the hour: 10:00 is sent with 1, 09:00 goes on
        life(59)
        tick(66)  # 10:06: 09:00 is sent again, with 5
        tick(121)  # 11:01: 10:00 again, with its 1
        wait_for(lambda: writer.pending() == 0 and not writer.sending, 20, "the points to be written")
        found = series(server, "hist-jump")
    finally:
        writer.close()
        store.close()
    hour = timedelta(hours=1)
    assert one(found, "sentinel_activity_count", room="hall") == [(epoch_ms(nine), 5.0), (epoch_ms(nine + hour), 1.0)]
