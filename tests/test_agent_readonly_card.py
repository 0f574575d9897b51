"""A dying SD card: SQLite finds the file damaged while Linux has remounted the card read-only.

The database cannot be moved aside then. The help press still reaches the broker, the loop goes on, a restart
does not end the agent, and once the card can be written the damaged file is kept aside and memory is stored.
Damage is real (a page overwritten in the file); only the rename of ``agent.db`` is made to fail with EROFS,
as a card remounted read-only fails it (root can rename anything, so chmod cannot show it here).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import test_agent
from test_agent import T0, Home
from test_agent_storage import make_history, press_for_help, spoil_page, stored_alerts

from conftest import ROOT, Mosquitto, Recorder
from sentinel.agent.journal import Journal
from sentinel.agent.writes import RETRY
from sentinel.clock import ManualClock
from sentinel.core.alerts import help_alert
from sentinel.errors import StoreError
from sentinel.store import Store


def read_only_card(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Renaming the database fails as on a card Linux remounted read-only; the function returned mends the card."""
    real = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(src).name.startswith("agent.db"):
            raise OSError(errno.EROFS, "Read-only file system", str(src))
        real(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    return lambda: monkeypatch.setattr(os, "replace", real)


def spoil_alerts_page(store: Store) -> None:
    """Overwrite the alerts table's page in the file under the running agent, as a worn card returns it."""
    db = store._db
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the page is read from the main file, not the -wal
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'alerts'").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    with open(store.path, "r+b") as f:
        f.seek(size * (root - 1))
        f.write(b"\xa5" * size)
    # Another writer's commit makes the agent's connection drop its cached pages and read the file again.
    other = sqlite3.connect(store.path)
    other.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('touched', 'yes')")
    other.commit()
    other.close()


def storage_says(h: Home, rec: Recorder, start: str) -> dict:
    """The first status whose storage begins with ``start``."""
    found = lambda: [s for s in rec.on(h.topics.status) if s["storage"].startswith(start)]  # noqa: E731
    try:
        return h.pump_until(found, f"a status saying {start!r}")[0]  # type: ignore[index]
    except AssertionError as exc:  # say what was said instead
        said = [s["storage"][:90] for s in rec.on(h.topics.status)]
        raise AssertionError(f"{exc}; the statuses said: {said}; storage now: {h.agent.journal.storage[:90]}") from exc


DAMAGED_READ_ONLY = (
    "failing: the database was damaged (database disk image is malformed), and no fresh one can be started yet:"
    " the SD card is mounted read-only: it may be failing"
)


def test_damage_found_by_a_help_press_on_a_read_only_card_still_sends_it_and_the_loop_goes_on(
    tmp_path, broker, recorder, monkeypatch, caplog
) -> None:
    clock = ManualClock(T0)
    h = Home(tmp_path, broker.port, clock=clock, home="rodamaged").start(threaded=False)
    try:
        rec = recorder([h.topics.alert, h.topics.status, h.topics.heartbeat])
        h.pump_until(lambda: rec.on(h.topics.status), "the first status")
        mend = read_only_card(monkeypatch)
        spoil_alerts_page(h.store)
        with caplog.at_level(logging.ERROR):
            first = press_for_help(h, rec)  # a long press, taken in tick: storing it finds the damage
        assert "the database was damaged" in caplog.text and "Read-only file system" in caplog.text
        status = storage_says(h, rec, DAMAGED_READ_ONLY)
        assert status["state"] == "alert" and status["open_alerts"] == [first["alert_id"]]
        clock.advance(60)
        beat = h.pump_until(lambda: [b for b in rec.on(h.topics.heartbeat) if b["storage"] != "ok"], "a beat")
        assert beat[0]["storage"].startswith(DAMAGED_READ_ONLY)  # type: ignore[index]
        second = press_for_help(h, rec)  # the loop went on, and so does the help button
        assert not list(tmp_path.glob("agent.db.corrupt-*"))

        mend()
        clock.advance(RETRY)
        status = storage_says(h, rec, "renewed: the database was damaged (database disk image is malformed)")
        assert sorted(tmp_path.glob("agent.db.corrupt-*"))  # kept, not deleted
        assert h.store.damage() is None
        assert stored_alerts(h.store.path) == [first["alert_id"], second["alert_id"]]
        assert h.pump_until(lambda: h.store.pending() == [], "the outbox to be empty")
    finally:
        h.stop()


def test_damage_found_by_the_check_at_start_on_a_read_only_card_keeps_memory_until_it_can_be_written(
    tmp_path, broker, recorder, monkeypatch
) -> None:
    path = tmp_path / "agent.db"
    waiting = make_history(path, "rocheck")
    spoil_page(path, 40)  # a page of the events: only the whole-file check finds it
    mend = read_only_card(monkeypatch)
    rec = recorder(["sentinel/rocheck/alert", "sentinel/rocheck/status"])
    clock = ManualClock(T0)
    h = Home(tmp_path, broker.port, clock=clock, home="rocheck").start(threaded=False)
    try:
        h.pump_until(lambda: [a for a in rec.on(h.topics.alert) if a["alert_id"] == waiting], "the waiting alert")
        assert h.agent.mode == "away"  # read before the damage was found
        storage_says(h, rec, "failing: the database was damaged")
        new = press_for_help(h, rec)
        assert not list(tmp_path.glob("agent.db.corrupt-*"))

        mend()
        clock.advance(RETRY)
        storage_says(h, rec, "renewed: the database was damaged")
        assert sorted(tmp_path.glob("agent.db.corrupt-*"))
        assert stored_alerts(path) == [waiting, new["alert_id"]]
        assert Store(path, read_only=True).get_setting("mode") == "away"
    finally:
        h.stop()


def test_a_file_that_is_no_database_on_a_read_only_card_starts_the_agent_from_memory(
    tmp_path, broker, recorder, monkeypatch, caplog
) -> None:
    path = tmp_path / "agent.db"
    make_history(path, "rostart", days=1)
    spoil_page(path, 1)  # the header: "file is not a database"
    mend = read_only_card(monkeypatch)
    # A carer's tool still gets a clear error; the agent, opened as `sentinel run` opens it, goes on.
    with pytest.raises(StoreError, match=r"no fresh database can be started: .*Read-only file system"):
        Store(path)
    monkeypatch.setattr(test_agent, "Store", partial(Store, keep_going=True))
    clock = ManualClock(T0)
    with caplog.at_level(logging.ERROR):
        h = Home(tmp_path, broker.port, clock=clock, home="rostart").start(threaded=False)
    try:
        assert "starting from memory" in caplog.text
        rec = recorder([h.topics.alert, h.topics.status])
        alert = press_for_help(h, rec)
        status = storage_says(h, rec, "failing: the database was damaged (file is not a database)")
        assert "the SD card is mounted read-only" in status["storage"]
        assert not list(tmp_path.glob("agent.db.corrupt-*"))

        mend()
        clock.advance(RETRY)
        storage_says(h, rec, "renewed: the database was damaged (file is not a database)")
        assert sorted(tmp_path.glob("agent.db.corrupt-*"))
        assert stored_alerts(path) == [alert["alert_id"]]
    finally:
        h.stop()


def test_a_write_the_card_refuses_with_an_os_error_waits_in_memory(tmp_path: Path, monkeypatch) -> None:
    store = Store(tmp_path / "agent.db")
    journal = Journal(store, "mary")

    def refused(*args: object, **kwargs: object) -> int:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store, "raise_alert", refused)
    alert = help_alert("mary", "Mary", "long press", "help_button", "lounge", T0, "abc123")
    journal.raise_alert(alert, "sentinel/mary/alert", "{}")
    assert journal.failing is not None and "the SD card is mounted read-only" in journal.failing
    assert [m.topic for m in journal.outbox] == ["sentinel/mary/alert"]  # it still goes out from memory
    monkeypatch.undo()
    assert journal.flush()
    assert [a.alert_id for a in store.open_alerts("mary")] == [alert.alert_id]  # kept, not dropped


def test_a_part_of_the_loop_that_fails_is_logged_and_help_still_goes_out(
    tmp_path, broker, recorder, monkeypatch, caplog
) -> None:
    h = Home(tmp_path, broker.port, clock=ManualClock(T0), home="tickfails").start(threaded=False)
    try:
        rec = recorder([h.topics.alert])

        def bug(*args: object) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(h.agent, "_heartbeat", bug)
        monkeypatch.setattr(h.agent.journal, "_write", bug)  # storing anything fails in a way no one foresaw
        with caplog.at_level(logging.ERROR):
            assert h.clock is not None
            h.clock.advance(120)
            h.agent.pump()  # the heartbeat fails: logged, the loop goes on
            first = press_for_help(h, rec)  # storing the alert fails: it is sent from memory all the same
            second = press_for_help(h, rec)
        assert first["alert_id"] != second["alert_id"]
        assert "could not run the heartbeat" in caplog.text
        assert "could not run the deadline of help_button" in caplog.text
    finally:
        monkeypatch.undo()
        h.stop()


ZIGBEE_AGENT = """\
home: {{id: rorun, name: Mary}}
gpio: {{pin_factory: mock}}
state_dir: {state}
mqtt: {{host: 127.0.0.1, port: {port}}}
detection: {{enabled: false}}
sensors:
  - {{name: help_button, kind: button, zigbee: help button, room: lounge}}
"""
# `sentinel run`, with renaming agent.db failing as on a card Linux remounted read-only.
RUN_ON_READ_ONLY_CARD = """\
import errno, os, sys
real = os.replace
def replace(src, dst, *args, **kwargs):
    if os.path.basename(src).startswith("agent.db"):
        raise OSError(errno.EROFS, "Read-only file system", src)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from sentinel.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.long(3)
def test_sentinel_run_starts_on_a_damaged_database_it_cannot_move_and_help_goes_out(
    tmp_path: Path, broker: Mosquitto
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "agent.db").write_bytes(b"garbage " * 1000)  # no database, and the card will not let it be moved
    config = tmp_path / "agent.yaml"
    config.write_text(ZIGBEE_AGENT.format(state=state, port=broker.port))
    rec = Recorder(broker.port, ["sentinel/rorun/alert", "sentinel/rorun/status"])
    agent = subprocess.Popen(
        [sys.executable, "-c", RUN_ON_READ_ONLY_CARD, "run", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        status = rec.wait("sentinel/rorun/status", lambda s: s["storage"].startswith("failing"), timeout=20)
        assert "file is not a database" in status["storage"] and "mounted read-only" in status["storage"]
        # The agent subscribed before it published its status: the press is heard.
        rec.client.publish("zigbee2mqtt/help button", b'{"action":"hold","battery":100}', qos=1).wait_for_publish(5)
        alert = rec.wait("sentinel/rorun/alert")
        assert alert["kind"] == "help" and alert["facts"]["gesture"] == "long press"
        assert agent.poll() is None  # still running
    finally:
        agent.send_signal(signal.SIGTERM)
        out, _ = agent.communicate(timeout=20)
        rec.close()
    assert agent.returncode == 0, out
    assert "starting from memory" in out
