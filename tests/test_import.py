"""sentinel import: a kit's history back from an export (a dead SD card, a new Pi)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import agent_yaml
from sentinel.cli import main
from sentinel.core.events import Event
from sentinel.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def config(tmp_path: Path, state: Path) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(agent_yaml(1883, state_dir=state))
    return path


def history(store: Store, days: range) -> None:
    store.add_events([Event("hall_pir", "motion", 1, "hall", T0 + timedelta(days=d), 0.0) for d in days])


def test_an_export_imported_on_a_new_pi_gives_back_the_same_history(tmp_path: Path, capsys) -> None:
    old = Store(tmp_path / "old" / "agent.db")
    history(old, range(10))
    old.close()
    assert main(["export", "-c", str(config(tmp_path, tmp_path / "old")), "-o", str(tmp_path / "backup.csv")]) == 0
    new = config(tmp_path, tmp_path / "new")
    assert main(["import", str(tmp_path / "backup.csv"), "-c", str(new)]) == 0
    assert "imported 10 events of 10" in capsys.readouterr().err
    store = Store(tmp_path / "new" / "agent.db", read_only=True)
    assert [(e.sensor, e.wall) for e in store.events()] == [("hall_pir", T0 + timedelta(days=d)) for d in range(10)]
    store.close()


def test_history_is_not_mixed_unless_asked_and_then_only_what_came_before(tmp_path: Path, capsys) -> None:
    backup = tmp_path / "backup.csv"
    backup.write_text(
        "timestamp,sensor,kind,value,room\n"
        + "".join(f"{(T0 + timedelta(days=d)).isoformat()},hall_pir,motion,1,hall\n" for d in range(10))
    )
    state = tmp_path / "state"
    store = Store(state / "agent.db")
    history(store, range(7, 12))  # the new Pi has learned for a few days already
    store.close()
    path = config(tmp_path, state)
    assert main(["import", str(backup), "-c", str(path)]) == 2
    assert "already holds history from 2026-03-09" in capsys.readouterr().err
    assert len(list(Store(state / "agent.db", read_only=True).events())) == 5  # nothing was imported
    assert main(["import", str(backup), "-c", str(path), "--merge"]) == 0
    said = capsys.readouterr().err  # why 3 of the 10 were not imported (before: only "imported 7 events of 10")
    assert "imported 7 events of 10" in said
    assert "note: 3 of them are from 2026-03-09 09:00 on, where the database's own history begins" in said
    days = [(e.wall - T0).days for e in Store(state / "agent.db", read_only=True).events()]
    assert sorted(days) == list(range(12))  # days 0-6 from the backup, 7-11 as they were: nothing twice


def test_a_broken_csv_imports_nothing(tmp_path: Path, capsys) -> None:
    backup = tmp_path / "backup.csv"
    backup.write_text(f"timestamp,sensor,kind,value,room\n{T0.isoformat()},hall_pir,motion,1,hall\nyesterday,x,y,1,\n")
    state = tmp_path / "state"
    assert main(["import", str(backup), "-c", str(config(tmp_path, state))]) == 2
    assert "backup.csv:3" in capsys.readouterr().err
    assert not (state / "agent.db").exists()
