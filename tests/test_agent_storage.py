"""The SD card fails under the agent: full, read-only, damaged or deleted. A help press still reaches the broker.

The failures are SQLite's own, on real files: a page limit on the agent's connection gives "database or disk
is full" (SQLITE_FULL, as a full card does), query_only gives "attempt to write a readonly database".
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_agent import PIR_PIN, T0, Home

from conftest import Mosquitto, Recorder
from sentinel.agent import writes as writes_module
from sentinel.agent.journal import Journal
from sentinel.agent.writes import RETRY
from sentinel.clock import ManualClock
from sentinel.core.alerts import help_alert
from sentinel.core.events import Event
from sentinel.core.status import Flip
from sentinel.store import Store


@pytest.fixture
def make_home(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Home]]:
    made: list[Home] = []

    def make(name: str, clock: ManualClock | None = None) -> Home:
        made.append(Home(tmp_path / name, broker.port, clock=clock or ManualClock(T0), home=name))
        return made[-1]

    yield make
    for h in made:
        h.stop()


def fill_up(store: Store) -> None:
    """Make the database as full as a full card: no page may be added, and the last pages are packed to the byte."""
    db = store._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={pages}")
    old = T0 - timedelta(days=400)
    rows = {  # a long history of closed alerts, events and status changes fills every page they use
        "INSERT INTO alerts (alert_id, kind, severity, raised_at, reason, facts, closed_at)"
        " VALUES (?, 'help', 'critical', ?, ?, '{}', ?)": lambda i, pad: (f"old-{i:06d}", old, pad, old),
        "INSERT INTO events (wall, mono, sensor, kind, value, room) VALUES (?, 0, ?, 'motion', 1, NULL)": (
            lambda i, pad: (old, pad)
        ),
        "INSERT INTO flips (at, old, new, reason) VALUES (?, 'ok', 'ok', ?)": lambda i, pad: (old, pad),
    }
    for sql, make in rows.items():
        count = 0
        for size in (2000, 500, 120, 30, 8, 1):
            while True:
                try:
                    db.execute(sql, make(count, "x" * size))
                    count += 1
                except sqlite3.OperationalError as exc:
                    assert exc.sqlite_errorcode == sqlite3.SQLITE_FULL
                    break


def free_up(store: Store) -> None:
    """The carer cleared the card."""
    store._db.execute("PRAGMA max_page_count=1073741823")


def stored_alerts(path: Path) -> list[str]:
    """Open alerts in the file itself, read by another connection."""
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT alert_id FROM alerts WHERE closed_at IS NULL ORDER BY raised_at")]
    finally:
        db.close()


def press_for_help(h: Home, rec: Recorder) -> dict:
    """Hold the help button; the new alert the broker passed on."""
    seen = {a["alert_id"] for a in rec.on(h.topics.alert)}
    h.wait(1)  # apart from any earlier press
    assert h.clock is not None, "every home here runs on a manual clock"
    pressed = h.clock.now().replace(microsecond=0)
    h.press(0.6)
    # Not one raised before: an alert still waiting from before the start may reach the broker only now.
    new = lambda: [  # noqa: E731
        a
        for a in rec.on(h.topics.alert)
        if a["alert_id"] not in seen and datetime.fromisoformat(a["raised_at"]) >= pressed
    ]
    return h.pump_until(new, "the help alert")[0]  # type: ignore[index]


def test_a_card_that_fails_between_two_checks_is_tried_again_within_the_retry(make_home, recorder) -> None:
    clock = ManualClock(T0)
    h = make_home("between", clock).start(threaded=False)
    t = h.topics
    rec = recorder([t.alert, t.status])
    h.pump_until(lambda: rec.on(t.status), "the first status")  # the file checked: the next check a minute on
    fill_up(h.store)
    alert = press_for_help(h, rec)  # cannot be stored: it goes out from memory
    free_up(h.store)
    clock.advance(RETRY)  # not the minute to the next check: 30 s after it began failing, as promised
    h.pump_until(lambda: rec.on(t.status)[-1]["storage"] == "ok", "the status to say the card works again")
    assert stored_alerts(h.store.path) == [alert["alert_id"]]


def test_a_help_press_reaches_the_broker_when_the_sd_card_is_full(make_home, recorder, caplog) -> None:
    clock = ManualClock(T0)
    h = make_home("full", clock).start(threaded=False)
    t = h.topics
    rec = recorder([t.alert, t.status, t.heartbeat, t.acks])
    h.pump_until(lambda: rec.on(t.status), "the first status")
    fill_up(h.store)

    with caplog.at_level(logging.ERROR):
        h.pin(PIR_PIN).drive_high()  # movement that cannot be stored: the loop goes on
        h.wait(1)
        alert = press_for_help(h, rec)
    assert alert["kind"] == "help"
    status = h.pump_until(lambda: [s for s in rec.on(t.status) if s["state"] == "alert"], "the alert status")[0]
    assert status["open_alerts"] == [alert["alert_id"]]
    assert status["storage"].startswith("failing: the SD card is full (database or disk is full)")
    assert any("the SD card is full" in r.getMessage() for r in caplog.records)
    assert stored_alerts(h.store.path) == []  # it could not be written, yet it went out
    clock.advance(60)
    h.agent.pump()
    beat = h.pump_until(lambda: [b for b in rec.on(t.heartbeat) if b["storage"].startswith("failing")], "a beat")
    assert beat[0]["storage"] == status["storage"]

    free_up(h.store)
    clock.advance(RETRY)
    h.pump_until(lambda: rec.on(t.status)[-1]["storage"] == "ok", "the status to say the card works again")
    assert stored_alerts(h.store.path) == [alert["alert_id"]]  # what memory held is stored now
    assert [e.sensor for e in h.store.events(T0)] == ["hall_pir", "help_button", "help_button"]
    assert h.store.pending() == []  # delivered while the card was full: not queued again

    h.press(0.1)  # "I'm OK": closed, and the circle told, as ever
    h.wait(0.5)  # no second press follows
    h.pump_until(lambda: rec.on(t.ack(alert["alert_id"])), "the resident's cancel")
    h.pump_until(lambda: h.store.pending() == [], "the cancel to be delivered")
    assert stored_alerts(h.store.path) == []


def read_only_card(store: Store) -> None:
    """SQLite refuses every write, as on a card remounted read-only: each time the file is opened again too."""
    store._db.execute("PRAGMA query_only=ON")
    reopen = store.reopen

    def still_read_only() -> None:
        reopen()
        store._db.execute("PRAGMA query_only=ON")

    store.reopen = still_read_only  # type: ignore[method-assign]


def test_a_read_only_card_still_sends_help_and_says_so_also_after_a_restart(tmp_path, broker, recorder) -> None:
    first = Home(tmp_path, broker.port, clock=ManualClock(T0), home="readonly").start(threaded=False)
    rec = recorder([first.topics.alert, first.topics.status])
    read_only_card(first.store)
    alert = press_for_help(first, rec)
    # The status that reports the alert may go out before the failed write is noticed; the next one says it.
    failing = first.pump_until(
        lambda: [s for s in rec.on(first.topics.status) if s["storage"].startswith("failing")][-1:], "a status"
    )[0]  # type: ignore[index]
    assert failing["storage"].startswith("failing: the database is read-only")
    assert failing["state"] == "alert" and first.agent.status == "alert"
    first.stop()

    second = Home(tmp_path, broker.port, clock=ManualClock(T0 + timedelta(minutes=5)), home="readonly")
    read_only_card(second.store)
    second.start(threaded=False)
    again = press_for_help(second, rec)
    assert again["alert_id"] != alert["alert_id"]
    assert second.agent.journal.failing is not None and second.agent.status == "alert"
    second.stop()


def test_a_database_deleted_while_running_is_replaced_and_holds_what_memory_held(make_home, recorder) -> None:
    h = make_home("deleted").start(threaded=False)
    rec = recorder([h.topics.alert, h.topics.status])
    first = press_for_help(h, rec)
    h.agent.set_mode("away", "set to away by test")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{h.store.path}{suffix}").unlink(missing_ok=True)  # rm /var/lib/sentinel/agent.db*

    second = press_for_help(h, rec)  # noticed before the alert is written: it goes into a fresh file
    assert h.store.path.exists()
    assert stored_alerts(h.store.path) == [first["alert_id"], second["alert_id"]]
    again = Store(h.store.path, read_only=True)
    assert again.get_setting("mode") == "away"
    again.close()
    status = h.pump_until(lambda: [s for s in rec.on(h.topics.status) if "renewed" in s["storage"]], "the notice")
    assert "the database file was deleted while the monitor ran: started a fresh database" in status[0]["storage"]


def make_history(path: Path, home: str, days: int = 20) -> str:
    """A database with weeks of events, the mode, and an alert still waiting in the outbox; its alert id."""
    store = Store(path)
    start = datetime(2026, 2, 1, tzinfo=UTC)
    for minute in range(0, days * 24 * 60, 10):
        at = start + timedelta(minutes=minute)
        store.add_event(Event("hall_pir", "motion", 1 - (minute // 10) % 2, "hall", at, float(minute)))
    alert = help_alert(home, "Mary", "long press", "help_button", "lounge", T0 - timedelta(minutes=1), "0ld0ne")
    store.add_alert(alert)
    store.enqueue(f"sentinel/{home}/alert", json.dumps(alert.payload()), at=alert.raised_at)
    store.set_setting("mode", "away")
    store.add_flip(Flip("alert", "alert", "set to away by Ann", T0 - timedelta(minutes=1)))
    store.close()
    return alert.alert_id


def spoil_page(path: Path, number: int) -> None:
    """Overwrite one page in the middle of the file, as a worn SD card returns it."""
    db = sqlite3.connect(path)
    size = db.execute("PRAGMA page_size").fetchone()[0]
    assert db.execute("PRAGMA page_count").fetchone()[0] > number + 10
    db.close()
    with open(path, "r+b") as f:
        f.seek(size * (number - 1))
        f.write(b"\xa5" * size)


def test_a_damaged_database_is_moved_aside_and_what_could_be_read_is_kept(tmp_path, broker, recorder, caplog) -> None:
    path = tmp_path / "agent.db"
    waiting = make_history(path, "corrupt")
    spoil_page(path, 40)  # a page of the events (pages 2-9 are each table's first)
    rec = recorder(["sentinel/corrupt/alert", "sentinel/corrupt/status"])
    with caplog.at_level(logging.ERROR):
        h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="corrupt").start(threaded=False)
    try:
        kept = sorted(tmp_path.glob("agent.db.corrupt-*"))
        assert kept and kept[0].stat().st_size > 100_000  # kept, not deleted: a carer may still want it
        assert h.store.damage() is None
        assert any("the database was damaged" in r.getMessage() for r in caplog.records)
        # What could still be read was saved: the alert that was waiting goes out, the mode is kept.
        h.pump_until(lambda: [a for a in rec.on("sentinel/corrupt/alert") if a["alert_id"] == waiting], "the alert")
        assert h.agent.mode == "away"
        # The first status may go out before the check at start has read the whole file; the next one says it.
        renewed = lambda: [s for s in rec.on("sentinel/corrupt/status") if s["storage"] != "ok"][-1:]  # noqa: E731
        status = h.pump_until(renewed, "the status")[0]  # type: ignore[index]
        assert "the database was damaged" in status["reason"] and status["storage"].startswith("renewed: ")
        assert h.agent.watch is not None and h.agent.watch.learning
        new = press_for_help(h, rec)
        assert stored_alerts(path) == [waiting, new["alert_id"]]
    finally:
        h.stop()


def test_the_whole_file_is_checked_once_online_and_a_press_meanwhile_goes_into_the_fresh_one(
    tmp_path, broker, recorder, monkeypatch
) -> None:
    path = tmp_path / "agent.db"
    waiting = make_history(path, "late")
    spoil_page(path, 40)  # a page of the events: nothing the agent reads at start shows it
    gate = threading.Event()
    check = Store.damage_apart

    def held(store: Store) -> str | None:  # the real check, held back as a year of history on a Pi Zero holds it
        gate.wait(10)
        return check(store)

    monkeypatch.setattr(Store, "damage_apart", held)
    rec = recorder(["sentinel/late/alert", "sentinel/late/status"])
    h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="late")
    h.agent.start()
    try:
        h.pump_until(lambda: h.agent.link.connected and rec.on("sentinel/late/status"), "online")
        new = press_for_help(h, rec)  # the help path never waits for the check
        assert not list(tmp_path.glob("agent.db.corrupt-*")) and not h.agent.routine_ready
        assert h.agent.learner is not None and h.agent.learner.started == 0  # learning reads the file once checked
        gate.set()
        h.pump_until(lambda: h.agent.routine_ready, "the check, then the routine")
        assert sorted(tmp_path.glob("agent.db.corrupt-*"))
        assert h.store.damage() is None
        assert stored_alerts(path) == [waiting, new["alert_id"]]  # memory went into the fresh file, the press too
        renewed = lambda: [s for s in rec.on("sentinel/late/status") if s["storage"] != "ok"]  # noqa: E731
        assert h.pump_until(renewed, "the status")[0]["storage"].startswith("renewed: the database was damaged")  # type: ignore[index]
    finally:
        h.stop()


def test_a_database_that_is_not_one_any_more_is_moved_aside(tmp_path, broker, recorder) -> None:
    path = tmp_path / "agent.db"
    make_history(path, "notadb", days=1)
    spoil_page(path, 1)  # the header: SQLite says "file is not a database"
    h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="notadb").start(threaded=False)
    try:
        assert list(tmp_path.glob("agent.db.corrupt-*"))
        rec = recorder([h.topics.alert])
        press_for_help(h, rec)
        assert len(stored_alerts(path)) == 1
    finally:
        h.stop()


def test_a_history_the_routine_cannot_learn_from_leaves_the_help_button_working(tmp_path, broker, recorder) -> None:
    path = tmp_path / "agent.db"
    make_history(path, "unlearnable", days=2)
    db = sqlite3.connect(path)
    db.execute("UPDATE events SET wall = 'yesterday' WHERE id = 7")  # a row SQLite keeps, but no time
    db.commit()
    db.close()
    h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="unlearnable").start(threaded=False)
    try:
        assert not list(tmp_path.glob("agent.db.corrupt-*"))  # the file is sound: it stays
        assert h.agent.watch is not None and h.agent.watch.learning
        rec = recorder([h.topics.alert])
        new = press_for_help(h, rec)
        assert new["alert_id"] in stored_alerts(path)
    finally:
        h.stop()


def test_a_database_that_cannot_be_opened_for_writing_at_start_is_read_and_help_still_goes_out(
    tmp_path, broker, recorder
) -> None:
    path = tmp_path / "agent.db"
    before = Store(path)
    before.set_setting("mode", "away")
    before.close()
    # SQLite cannot make its shared-memory file beside the database, as on a card Linux remounted read-only:
    # "unable to open database file" when opening it for writing.
    shm = tmp_path / "agent.db-shm"
    shm.symlink_to(tmp_path / "gone" / "agent.db-shm")
    clock = ManualClock(T0)
    h = Home(tmp_path, broker.port, clock=clock, home="cantopen").start(threaded=False)
    try:
        assert h.agent.mode == "away"  # what the database held was read
        rec = recorder([h.topics.alert, h.topics.status])
        alert = press_for_help(h, rec)
        # The retained status from before the press may be the last one heard yet: wait for the one that reports it.
        told = lambda: [s for s in rec.on(h.topics.status) if alert["alert_id"] in s["open_alerts"]]  # noqa: E731
        status = h.pump_until(told, "the status")[0]  # type: ignore[index]
        assert status["state"] == "alert"
        assert status["storage"].startswith("failing: the database cannot be opened for writing")

        shm.unlink()  # the card works again
        clock.advance(RETRY)
        h.pump_until(lambda: rec.on(h.topics.status)[-1]["storage"] == "ok", "the card to work again")
        assert stored_alerts(path) == [alert["alert_id"]]
    finally:
        h.stop()


def test_a_write_the_database_refuses_is_dropped_and_the_rest_go_on(tmp_path: Path, caplog) -> None:
    store = Store(tmp_path / "agent.db")
    journal = Journal(store, "mary")
    alert = help_alert("mary", "Mary", "long press", "help_button", "lounge", T0, "abc123")
    store.add_alert(alert)  # already stored: the insert breaks the primary key
    journal.raise_alert(alert, "sentinel/mary/alert", "{}")
    journal.add_flip(Flip("ok", "alert", "by \ud800", T0))  # SQLite cannot encode a lone surrogate
    journal.set_setting("mode", "away")
    assert journal.failing is None and store.get_setting("mode") == "away"
    assert sum("dropped a write" in r.getMessage() for r in caplog.records) == 2
    assert [m.topic for m in journal.outbox] == ["sentinel/mary/alert"]  # it still goes out from memory


def test_while_the_card_is_full_movement_waits_in_memory_up_to_a_cap_and_alerts_always(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes_module, "MAX_WAITING_EVENTS", 5)
    store = Store(tmp_path / "agent.db")
    journal = Journal(store, "mary")
    fill_up(store)
    for minute in range(10):
        journal.add_event(Event("hall_pir", "motion", 1, "hall", T0 + timedelta(minutes=minute), 60.0 * minute))
    alert = help_alert("mary", "Mary", "long press", "help_button", "lounge", T0, "abc123")
    journal.raise_alert(alert, "sentinel/mary/alert", "{}")
    assert journal.failing is not None
    free_up(store)
    assert journal.flush()
    assert [e.wall.minute for e in store.events(T0)] == [5, 6, 7, 8, 9]  # the oldest were dropped
    assert [a.alert_id for a in store.open_alerts("mary")] == [alert.alert_id]


def test_a_claim_for_an_alert_closed_on_movement_before_a_restart_opens_it_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    journal = Journal(store, "mary")
    journal.load()
    alert = help_alert("mary", "Mary", "long press", "help_button", "lounge", T0, "abc123")
    journal.raise_alert(alert, "sentinel/mary/alert", "{}")
    assert journal.close_alert(alert.alert_id, T0 + timedelta(minutes=5), "sensors", "Movement again.", None)
    journal.flush()
    store.close()

    store = Store(tmp_path / "agent.db")  # the agent restarted before it heard that Ann had set out
    journal = Journal(store, "mary")
    journal.load()
    assert not journal.claim("mary-someone-else-1", "Ann")  # an alert it never closed on movement: nothing
    assert journal.claim(alert.alert_id, "Ann")
    journal.flush()
    assert [a.alert_id for a in store.open_alerts("mary")] == [alert.alert_id]
    assert store.claimed_by(alert.alert_id) == "Ann"
    store.close()


def test_a_database_opened_read_only_behind_the_agents_back_is_opened_again_and_written(tmp_path, broker, recorder):
    # SQLite opens a database whose WAL file was left by a kill read-only, without a word, on a card gone read-only;
    # once the card could be written again the agent never wrote again, until a restart (a field trial).
    h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="walro").start(threaded=False)
    rec = recorder([h.topics.alert, h.topics.status])
    h.store._db.execute("PRAGMA query_only=ON")  # this connection refuses writes; the card can be written again
    alert = press_for_help(h, rec)
    h.clock.advance(31)  # the next try opens the file afresh (before: it kept the read-only connection for good)
    h.pump_until(lambda: stored_alerts(h.store.path) == [alert["alert_id"]], "the alert to be stored")
    assert h.agent.journal.failing is None
    h.stop()


def test_a_damaged_database_leaves_a_zigbee_sensors_state_unknown_and_the_agent_starts(tmp_path) -> None:
    # Before, the Zigbee sensors' last states were read before the file was checked: a damaged one stopped the
    # agent at every start (no alerts, no help button).
    path = tmp_path / "agent.db"
    make_history(path, "seeded")
    for page in range(30, 60):
        spoil_page(path, page)
    store = Store(path)
    try:
        assert store.last_value("front_door") is None  # unreadable: not known, not a crash
    finally:
        store.close()
