"""The SQLite store: migrations, WAL, events, outbox and alerts survive a reopen."""

from __future__ import annotations

import io
import re
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sentinel.core.alerts import help_alert
from sentinel.core.events import Event
from sentinel.core.status import Flip
from sentinel.errors import StoreError
from sentinel.export import write_csv
from sentinel.store import Store
from sentinel.store_file import MIGRATIONS

T0 = datetime(2026, 3, 1, 7, 30, tzinfo=timezone(timedelta(hours=1)))


def test_a_new_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "deep" / "agent.db")
    assert store.schema_version == len(MIGRATIONS)
    mode = sqlite3.connect(tmp_path / "deep" / "agent.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer sentinel"):
        Store(path)


def test_an_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open the database"):
        Store(blocker / "agent.db")


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    store = Store(path)
    store.add_event(Event("hall_pir", "motion", 1, "hall", T0, 5.0))
    store.add_event(Event("hall_pir", "motion", 0, "hall", T0 + timedelta(seconds=40), 45.0))
    alert = help_alert("mary", "Mary", "long press", "help_button", "lounge", T0, "abc123")
    store.add_alert(alert)
    row = store.enqueue("sentinel/mary/alert", '{"x": 1}', qos=1)
    store.add_flip(Flip("ok", "alert", alert.reason, T0))
    store.set_setting("mode", "away")
    store.close()

    store = Store(path)
    events = list(store.events())
    assert [(e.sensor, e.value, e.wall) for e in events] == [
        ("hall_pir", 1, T0),
        ("hall_pir", 0, T0 + timedelta(seconds=40)),
    ]
    assert store.last_activity() == T0  # a PIR going quiet is not activity
    assert [a.alert_id for a in store.open_alerts("mary")] == ["mary-help-20260301T073000-abc123"]
    assert [(i.id, i.topic, i.qos) for i in store.pending()] == [(row, "sentinel/mary/alert", 1)]
    assert store.last_flip() == Flip("ok", "alert", alert.reason, T0)
    assert store.get_setting("mode") == "away"

    store.delivered(row)
    assert store.pending() == []
    assert store.close_alert(alert.alert_id, T0, "resident", "ok") is True
    assert store.close_alert(alert.alert_id, T0, "resident", "again") is False
    assert store.open_alerts("mary") == []


def test_export_writes_the_event_csv(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    store.add_event(Event("front_door", "door", 1, "hall", T0, 1.0))
    store.add_event(Event("help_button", "button", 1, None, T0 + timedelta(minutes=1), 61.0))
    out = io.StringIO()
    assert write_csv(store.events(), out) == 2
    assert out.getvalue().splitlines() == [
        "timestamp,sensor,kind,value,room",
        "2026-03-01T07:30:00+01:00,front_door,door,1,hall",
        "2026-03-01T07:31:00+01:00,help_button,button,1,",
    ]


def test_a_reader_never_creates_a_database(tmp_path: Path) -> None:
    from sentinel.statedir import NoDatabase, find_database

    where = re.escape(f"{tmp_path / 'state' / 'agent.db'} (state_dir in the config): not there")
    with pytest.raises(NoDatabase, match=where):
        find_database("agent.db", str(tmp_path / "state"), "agent.yaml")
    with pytest.raises(StoreError, match="cannot read the database"):
        Store(tmp_path / "agent.db", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_a_reader_sees_what_a_running_writer_committed_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    writer = Store(path)
    writer.add_event(Event("hall_pir", "motion", 1, "hall", T0, 1.0))
    reader = Store(path, read_only=True)
    writer.add_event(Event("hall_pir", "motion", 0, "hall", T0 + timedelta(seconds=40), 41.0))
    assert [e.value for e in reader.events()] == [1, 0]  # still in the WAL, not yet checkpointed
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.set_setting("mode", "away")
    reader.close()
    writer.close()
    assert [e.value for e in Store(path).events()] == [1, 0]


def test_a_reader_neither_migrates_an_old_database_nor_reads_a_newer_one(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()  # schema 0: a file the agent has not set up yet
    with pytest.raises(StoreError, match="start the service once"):
        Store(old, read_only=True)
    db = sqlite3.connect(old)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    db.close()
    new = tmp_path / "new.db"
    Store(new).close()
    db = sqlite3.connect(new)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer sentinel"):
        Store(new, read_only=True)


def test_the_finder_prefers_state_dir_then_state_directory_then_the_service_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentinel import statedir

    service, xdg, given = tmp_path / "var-lib-sentinel", tmp_path / "xdg", tmp_path / "given"
    monkeypatch.setattr(statedir, "SERVICE_STATE_DIR", service)
    monkeypatch.setenv("XDG_STATE_HOME", str(xdg))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    for place in (service, xdg / "sentinel", given):
        Store(place / "agent.db").close()
    assert statedir.find_database("agent.db", None) == service / "agent.db"
    (service / "agent.db").unlink()
    assert statedir.find_database("agent.db", None) == xdg / "sentinel" / "agent.db"
    monkeypatch.setenv("STATE_DIRECTORY", str(given))
    assert statedir.find_database("agent.db", None) == given / "agent.db"
    assert statedir.find_database("agent.db", str(xdg / "sentinel")) == xdg / "sentinel" / "agent.db"
    with pytest.raises(statedir.NoDatabase, match=r"notifier.db .*\$STATE_DIRECTORY"):
        statedir.find_database("notifier.db", None)


def test_an_alert_and_its_message_are_stored_together_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    alert = help_alert("mary", "Mary", "long press", "help_button", "lounge", T0, "abc123")
    # The outbox refuses the message (as a full card would, half-way): the alert must not stay behind alone.
    store._db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(FAIL, 'no room'); END")
    with pytest.raises(sqlite3.IntegrityError, match="no room"):
        store.raise_alert(alert, "sentinel/mary/alert", "{}")
    assert store.open_alerts("mary") == [] and store.pending() == []
    store._db.execute("DROP TRIGGER refuse")
    row = store.raise_alert(alert, "sentinel/mary/alert", "{}")
    assert [a.alert_id for a in store.open_alerts("mary")] == [alert.alert_id]
    assert [i.id for i in store.pending()] == [row]

    store.delivered(row)
    store._db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(FAIL, 'no room'); END")
    with pytest.raises(sqlite3.IntegrityError):
        store.close_and_tell(alert.alert_id, T0, "resident", "ok", "sentinel/mary/alert/x/ack", "{}")
    assert [a.alert_id for a in store.open_alerts("mary")] == [alert.alert_id]  # not closed without the cancel
    store._db.execute("DROP TRIGGER refuse")
    ack = store.close_and_tell(alert.alert_id, T0, "resident", "ok", "sentinel/mary/alert/x/ack", "{}")
    assert store.open_alerts("mary") == [] and [i.id for i in store.pending()] == [ack]


def test_a_deleted_database_is_noticed_and_a_damaged_one_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    store = Store(path)
    assert not store.replaced()
    path.unlink()
    assert store.replaced()
    store.renew("deleted")
    assert path.exists() and not store.replaced() and store.renewed == "deleted: started a fresh database"
    store.add_event(Event("hall_pir", "motion", 1, "hall", T0, 1.0))
    store.renew("damaged", damaged=True)
    assert store.renewed is not None and store.renewed.startswith("damaged: started a fresh database; the old one")
    kept = list(tmp_path.glob("agent.db.corrupt-*"))
    assert len(kept) == 1 and list(Store(kept[0], read_only=True).events())  # kept, whole
    assert list(store.events()) == []


def test_the_whole_file_is_checked_on_a_connection_of_its_own_while_writes_go_on(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    store = Store(path)
    store.add_events([Event("hall_pir", "motion", i % 2, "hall", T0 + timedelta(minutes=i), i) for i in range(5000)])
    found: list[str | None] = []
    with store.transaction():  # the store's lock is held and a write is under way: the check does not wait for it
        store.add_event(Event("hall_pir", "motion", 1, "hall", T0, 0.0))
        check = threading.Thread(target=lambda: found.append(store.damage_apart()))
        check.start()
        check.join(10)
    assert found == [None] and store.renewals == 0
    store.close()
    with open(path, "r+b") as f:  # a page of the events, as a worn SD card returns it
        f.seek(4096 * 20)
        f.write(b"\xa5" * 4096)
    store = Store(path)
    assert store.damage_apart() == store.damage() is not None
    store.renew("damaged", damaged=True)
    assert store.renewals == 1 and store.damage_apart() is None
    store.close()
