"""The agent as a real process: killed with SIGKILL, restarted, and its last will."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest

from conftest import ROOT, Mosquitto, Recorder, agent_yaml, free_port, modules_loaded, sentinel_cmd, wait_for
from sentinel.store import Store


def write_config(tmp_path: Path, port: int, **kwargs: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(agent_yaml(port, state_dir=tmp_path / "state", **kwargs))
    return path


def start_agent(config: Path, log: Path | None = None) -> subprocess.Popen[str]:
    """The agent as a process; its log goes to ``log`` when given (to be read while it runs), else to a pipe."""
    if log is None:
        return subprocess.Popen(
            sentinel_cmd("run", "-c", str(config)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
    with open(log, "a") as out:
        return subprocess.Popen(sentinel_cmd("run", "-c", str(config)), stdout=out, stderr=out, text=True, cwd=ROOT)


def start_driver(config: Path) -> subprocess.Popen[str]:
    """The agent on mock pins in a process of its own (tests/agent_driver.py), once it is ready."""
    driver = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "agent_driver.py"), str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert driver.stdout and driver.stdin
    assert driver.stdout.readline().strip() == "ready"
    return driver


def tell(driver: subprocess.Popen[str], *commands: str) -> None:
    assert driver.stdin
    driver.stdin.write("".join(f"{c}\n" for c in commands))
    driver.stdin.flush()


def answer(driver: subprocess.Popen[str]) -> list[str]:
    assert driver.stdout
    return driver.stdout.readline().split()


def kill(driver: subprocess.Popen[str]) -> None:
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(10)


@pytest.mark.long(5)
def test_an_alert_survives_broker_outage_and_agent_kill(tmp_path: Path, own_broker: Mosquitto) -> None:
    config = write_config(tmp_path, own_broker.port)
    topic, availability = "sentinel/testhome/alert", "sentinel/testhome/availability"
    circle = Recorder(own_broker.port, [topic, availability], client_id="circle", clean=False)
    own_broker.stop()

    # The agent raises a help alert while the broker is down, then dies hard.
    driver = start_driver(config)
    tell(driver, "press 0.7", "wait-alert")
    queued, alert_id = answer(driver)
    assert queued == "queued"
    kill(driver)

    # A new agent process starts with the broker still down, then the broker returns.
    log = tmp_path / "agent.log"
    agent = start_agent(config, log)
    wait_for(lambda: "cannot connect to the broker" in log.read_text(), 30, "the agent to try the broker")
    own_broker.start()
    try:
        first = circle.wait(topic, timeout=60)
        assert first["alert_id"] == alert_id and first["kind"] == "help"
        store = Store(tmp_path / "state" / "agent.db")
        wait_for(lambda: store.pending() == [], 15, "the outbox to empty")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
    # The agent's last word ("offline") comes after everything it sent before: after it, nothing more can come.
    circle.wait(availability, lambda p: p == "offline", timeout=15)
    circle.close()
    assert agent.returncode == 0, log.read_text()
    assert [a["alert_id"] for a in circle.on(topic)] == [alert_id]


def test_last_will_marks_a_killed_agent_offline_within_the_keepalive(tmp_path: Path, broker: Mosquitto) -> None:
    keepalive = 5
    config = write_config(tmp_path, broker.port, keepalive=f"{keepalive}s")
    topic = "sentinel/testhome/availability"
    watcher = Recorder(broker.port, [topic])
    agent = start_agent(config)
    try:
        watcher.wait(topic, lambda p: p == "online", timeout=20)
        killed_at = time.monotonic()
        os.kill(agent.pid, signal.SIGKILL)
        watcher.wait(topic, lambda p: p == "offline", timeout=keepalive * 1.5 + 2)
        assert time.monotonic() - killed_at <= keepalive * 1.5 + 2
    finally:
        agent.kill()
        agent.wait(10)
        watcher.close()


def test_a_clean_stop_says_offline_and_exits_0(tmp_path: Path, broker: Mosquitto) -> None:
    config = write_config(tmp_path, broker.port)
    topic = "sentinel/testhome/availability"
    watcher = Recorder(broker.port, [topic])
    agent = start_agent(config)
    watcher.wait(topic, lambda p: p == "online", timeout=20)
    agent.send_signal(signal.SIGTERM)
    out, _ = agent.communicate(timeout=15)
    assert agent.returncode == 0, out
    assert watcher.on(topic)[-1] == "offline"
    assert "agent stopped" in out
    watcher.close()


def test_the_agent_starts_without_a_broker_and_keeps_retrying(tmp_path: Path) -> None:
    from conftest import free_port

    config = write_config(tmp_path, free_port())
    log = tmp_path / "agent.log"
    agent = start_agent(config, log)
    wait_for(lambda: "cannot connect to the broker" in log.read_text(), 30, "the agent to say why it cannot connect")
    assert agent.poll() is None  # still running, retrying in the background
    agent.send_signal(signal.SIGTERM)
    agent.wait(15)
    assert agent.returncode == 0, log.read_text()


def test_export_writes_what_the_agent_stored(tmp_path: Path) -> None:
    from datetime import datetime

    from sentinel.core.events import Event

    config = write_config(tmp_path, 1883)
    store = Store(tmp_path / "state" / "agent.db")
    store.add_event(Event("hall_pir", "motion", 1, "hall", datetime(2026, 1, 5, 8, 0, tzinfo=UTC), 1.0))
    store.close()
    out = tmp_path / "events.csv"
    result = subprocess.run(
        sentinel_cmd("export", "-c", str(config), "-o", str(out)),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == [
        "timestamp,sensor,kind,value,room",
        "2026-01-05T08:00:00+00:00,hall_pir,motion,1,hall",
    ]


def run_tool(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A carer's tool as a process, in an environment of the test's own (no systemd, a home in tmp_path)."""
    base = {k: v for k, v in os.environ.items() if k not in ("STATE_DIRECTORY", "XDG_STATE_HOME")}
    base["HOME"] = str(tmp_path / "home")
    return subprocess.run(
        sentinel_cmd(*args), capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**base, **env}
    )


def test_export_without_a_database_says_where_it_looked_and_creates_nothing(tmp_path: Path) -> None:
    assert not Path("/var/lib/sentinel/agent.db").exists(), "this machine runs an agent: the test would read it"
    config = tmp_path / "agent.yaml"
    config.write_text(agent_yaml(1883))  # no state_dir, as in /etc/sentinel/agent.yaml
    before = sorted(tmp_path.rglob("*"))
    for args in (("export", "-c", str(config), "-o", str(tmp_path / "out.csv")), ("routine", "-c", str(config))):
        result = run_tool(tmp_path, *args)
        assert result.returncode == 1, result.stderr
        assert "sentinel: no agent.db to read; looked in" in result.stderr
        assert "/var/lib/sentinel/agent.db (the systemd service's): not there" in result.stderr
        assert f"{tmp_path}/home/.local/state/sentinel/agent.db" in result.stderr
        assert "sudo -u sentinel" in result.stderr
        assert "Traceback" not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before  # no database, no state directory, no empty CSV

    with_state_dir = write_config(tmp_path, 1883)
    result = run_tool(tmp_path, "export", "-c", str(with_state_dir))
    assert result.returncode == 1
    assert f"{tmp_path}/state/agent.db (state_dir in the config): not there" in result.stderr
    assert not (tmp_path / "state").exists()


def test_export_finds_the_service_database_through_state_directory(tmp_path: Path) -> None:
    from datetime import datetime

    from sentinel.core.events import Event

    config = tmp_path / "agent.yaml"
    # The broker password is the service's: a carer reading records does not need it.
    extra = "  username: agent\n  password_env: SENTINEL_TEST_UNSET_PASSWORD\n"
    config.write_text(agent_yaml(1883, extra_mqtt=extra))
    service = tmp_path / "var-lib-sentinel"
    store = Store(service / "agent.db")
    store.add_event(Event("hall_pir", "motion", 1, "hall", datetime(2026, 1, 5, 8, 0, tzinfo=UTC), 1.0))
    store.close()
    result = run_tool(tmp_path, "export", "-c", str(config), STATE_DIRECTORY=str(service))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "timestamp,sensor,kind,value,room",
        "2026-01-05T08:00:00+00:00,hall_pir,motion,1,hall",
    ]
    assert f"wrote 1 events from {service}/agent.db" in result.stderr
    result = run_tool(tmp_path, "routine", "-c", str(config), STATE_DIRECTORY=str(service))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "home").exists()  # nothing was made in the carer's own state directory


def peak_rss_kb(pid: int) -> int:
    """The highest resident memory the process has had (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


def test_a_64_mb_message_on_cmd_does_not_grow_the_agent(tmp_path: Path, broker: Mosquitto) -> None:
    config = write_config(tmp_path, broker.port, home="huge")
    root = "sentinel/huge"
    watcher = Recorder(broker.port, [f"{root}/availability", f"{root}/cmd/status/reply", f"{root}/status"])
    agent = start_agent(config, tmp_path / "agent.log")
    try:
        watcher.wait(f"{root}/availability", lambda p: p == "online", timeout=30)
        watcher.wait(f"{root}/status")
        before = peak_rss_kb(agent.pid)
        huge = b'{"who": "' + b"x" * (64 << 20) + b'"}'
        watcher.client.publish(f"{root}/cmd/away", huge, qos=1).wait_for_publish(60)
        del huge
        # A barrier: the reply to a later command comes after anything the agent made of the huge one.
        watcher.client.publish(f"{root}/cmd/status", b'{"transaction": 64}', qos=1)
        watcher.wait(f"{root}/cmd/status/reply", lambda r: r.get("transaction") == 64, timeout=120)
        grown_mb = (peak_rss_kb(agent.pid) - before) / 1024
        assert agent.poll() is None
        # MQTT 5: the broker was told the largest packet the agent takes, so it never sent the 64 MB (it took 561 MB).
        assert grown_mb < 16, f"the agent grew by {grown_mb:.0f} MB"
        assert all(s["state"] != "away" for s in watcher.on(f"{root}/status"))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
        watcher.close()


def test_an_alert_raised_after_the_database_was_deleted_survives_a_kill(tmp_path: Path, own_broker: Mosquitto) -> None:
    config = write_config(tmp_path, own_broker.port)
    topic = "sentinel/testhome/alert"
    circle = Recorder(own_broker.port, [topic], client_id="circle", clean=False)
    driver = start_driver(config)
    database = tmp_path / "state" / "agent.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)  # someone cleans up /var/lib/sentinel
    own_broker.stop()
    tell(driver, "press 0.7", "wait-alert")
    queued, alert_id = answer(driver)
    assert queued == "queued"
    kill(driver)

    log = tmp_path / "agent.log"
    agent = start_agent(config, log)
    own_broker.start()
    try:
        assert circle.wait(topic, timeout=60)["alert_id"] == alert_id
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(15)
        circle.close()


@pytest.mark.parametrize("step", ["raise", "close"])
def test_a_kill_between_storing_an_alert_and_queueing_its_message_leaves_neither_half(
    tmp_path: Path, broker: Mosquitto, step: str
) -> None:
    config = write_config(tmp_path, broker.port, home=f"half-{step}")
    root = f"sentinel/half-{step}"
    circle = Recorder(broker.port, [f"{root}/alert", f"{root}/alert/+/ack"])
    driver = start_driver(config)
    if step == "close":
        tell(driver, "press 0.7")
        alert_id = circle.wait(f"{root}/alert")["alert_id"]
    tell(driver, "die-at INSERT INTO outbox")
    assert answer(driver) == ["armed"]
    tell(driver, "press 0.7" if step == "raise" else "press 0.1")  # help, or "I'm OK"
    driver.wait(20)  # it killed itself as the message was being queued
    assert driver.returncode == -signal.SIGKILL

    store = Store(tmp_path / "state" / "agent.db", read_only=True)
    queued = [json.loads(item.payload) for item in store.pending()]
    open_alerts = [a.alert_id for a in store.open_alerts(f"half-{step}")]
    closed = store._read("SELECT alert_id FROM alerts WHERE closed_by = 'resident'")
    store.close()
    # Whatever was stored, its message was stored with it: an open alert is queued (or was delivered before), a
    # cancel is queued.
    delivered = {a["alert_id"] for a in circle.on(f"{root}/alert")}
    assert all(a in delivered or any(q.get("alert_id") == a and "kind" in q for q in queued) for a in open_alerts)
    assert all(any(q.get("alert_id") == a and q.get("what") == "cancel" for q in queued) for (a,) in closed)

    # And the agent after the kill works as ever.
    again = start_driver(config)
    try:
        if step == "raise":
            tell(again, "press 0.7")
            circle.wait(f"{root}/alert")
        else:
            assert open_alerts == [alert_id]  # the cancel did not happen: the alert is still open
            tell(again, "press 0.1")
            assert circle.wait(f"{root}/alert/{alert_id}/ack")["what"] == "cancel"
    finally:
        kill(again)
        circle.close()


AGENT_START = """\
import sys
from gpiozero.pins.mock import MockFactory
import sentinel.cli
from sentinel.agent.app import Agent
from sentinel.config import load_config
from sentinel.store import Store
agent = Agent(load_config(sys.argv[1]), Store(sys.argv[2]), pin_factory=MockFactory())
agent.start()
later = ("sentinel.config.circle", "sentinel.notifier", "sentinel.report", "sentinel.agent.history")
later += ("sentinel.agent.inbox",)
print(sorted(m for m in sys.modules if m.startswith(later) or m.split(".")[0] in ("numpy", "difflib")))
agent.close()
"""


def test_the_agent_goes_online_without_loading_what_it_needs_only_later(tmp_path: Path) -> None:
    # On a Pi Zero every module costs ten times what it does here: the notifier's config, the carer's report,
    # the history client and the parser of incoming messages are loaded when they are first needed, if ever.
    config = write_config(tmp_path, free_port())  # no broker: nothing arrives while it starts
    assert modules_loaded(AGENT_START, str(config), str(tmp_path / "agent.db")) == []
