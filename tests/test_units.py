"""The systemd unit files: systemd's own checker, and the start-up logic they rely on.

This box has no systemd as PID 1, so the units cannot be started here. What can be
checked is: `systemd-analyze verify` (systemd's parser, offline, in a stand-in root),
the restart rules read from the files, and that the very ExecStart= command stops
with the exit code the unit does not restart on, before it touches pins or a broker.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, sentinel_cmd
from sentinel.statedir import SERVICE_STATE_DIR

UNITS = ROOT / "systemd"
AGENT, NOTIFY = "sentinel-agent.service", "sentinel-notify.service"
BINARY = "/opt/sentinel/bin/sentinel"
Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections of a unit file, each key with every value it was given, in order."""
    unit: Unit = {}
    section: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = unit.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values, f"{key}= is missing from [{section}]"
    return values[-1]


def seconds(span: str) -> float:
    """A systemd time span in the forms these units use (30, 5s, 10min)."""
    for suffix, factor in (("min", 60), ("s", 1), ("h", 3600)):
        if span.endswith(suffix):
            return float(span.removesuffix(suffix)) * factor
    return float(span)


def environment(unit: Unit) -> dict[str, str]:
    pairs = [p for value in unit["Service"].get("Environment", []) for p in shlex.split(value)]
    return dict(p.split("=", 1) for p in pairs)


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if not found:
        # Never a skip: scripts/test.sh installs Debian's systemd package, which has it.
        pytest.fail("systemd-analyze is missing: apt-get install systemd (scripts/test.sh does)", pytrace=False)
    return found


def stand_in_root(tmp_path: Path, units: dict[str, str]) -> Path:
    """A root for `verify --root`: systemd's own units, the units under test, and a stand-in for the binary."""
    root = tmp_path / "root"
    candidates = [Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")]
    shipped = next((d for d in candidates if (d / "sysinit.target").exists()), None)
    assert shipped, "systemd's unit directory was not found (apt-get install systemd)"
    shutil.copytree(shipped, root / "usr/lib/systemd/system", symlinks=True)
    binary = root / BINARY.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name, text in units.items():
        (root / "etc/systemd/system" / name).write_text(text)
    return root


def verify(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    root = stand_in_root(tmp_path, {name: text})
    return subprocess.run(
        [systemd_analyze(), "verify", "--man=no", f"--root={root}", f"/etc/systemd/system/{name}"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", [AGENT, NOTIFY])
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path, name: str) -> None:
    result = verify(tmp_path, name, (UNITS / name).read_text())
    # verify exits 0 even for an unknown key (it only warns), so its output must be empty too.
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result.stderr + result.stdout


def test_the_verify_check_catches_a_mistake(tmp_path: Path) -> None:
    text = (UNITS / AGENT).read_text().replace("WatchdogSec=30", "WatchdogSecs=30")
    result = verify(tmp_path, AGENT, text)
    assert "Unknown key 'WatchdogSecs'" in result.stderr


@pytest.mark.parametrize("name", [AGENT, NOTIFY])
def test_hardening_stays_where_it_is(tmp_path: Path, name: str) -> None:
    # Exposure on systemd's 0-10 scale, given x10: today 1.9 (agent) and 1.7 (notifier), "OK".
    root = stand_in_root(tmp_path, {name: (UNITS / name).read_text()})
    result = subprocess.run(
        [
            systemd_analyze(),
            "security",
            "--offline=yes",
            "--threshold=25",
            f"--root={root}",
            f"/etc/systemd/system/{name}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-400:] + result.stderr


@pytest.mark.parametrize("name", [AGENT, NOTIFY])
def test_a_config_error_stops_the_unit_instead_of_restarting_it(name: str) -> None:
    unit = parse_unit(UNITS / name)
    # RestartPreventExitStatus= does not apply to ExecStartPre=: a check there failing would restart for ever.
    assert "ExecStartPre" not in unit["Service"]
    assert one(unit, "Service", "Restart") == "always"
    assert "2" in one(unit, "Service", "RestartPreventExitStatus").split()
    # The belt: a unit failing on every start gives up, and does so within its interval.
    interval = seconds(one(unit, "Unit", "StartLimitIntervalSec"))
    burst = int(one(unit, "Unit", "StartLimitBurst"))
    assert burst * seconds(one(unit, "Service", "RestartSec")) < interval


def test_lgpio_gets_a_writable_working_directory() -> None:
    unit = parse_unit(UNITS / AGENT)
    assert one(unit, "Service", "ProtectSystem") == "strict"  # everything else is read-only
    runtime = f"/run/{one(unit, 'Service', 'RuntimeDirectory')}"
    # lgpio creates its notification FIFO in $LG_WD, else the working directory, at import.
    assert environment(unit)["LG_WD"] == runtime
    assert one(unit, "Service", "WorkingDirectory") == runtime
    # Its own directory: systemd removes a RuntimeDirectory when its unit stops.
    assert one(unit, "Service", "RuntimeDirectory") not in parse_unit(UNITS / NOTIFY)["Service"].get(
        "RuntimeDirectory", []
    )


def test_both_units_keep_their_databases_where_the_carer_tools_look() -> None:
    for name in (AGENT, NOTIFY):
        unit = parse_unit(UNITS / name)
        assert Path("/var/lib", one(unit, "Service", "StateDirectory")) == SERVICE_STATE_DIR
        assert one(unit, "Service", "User") == "sentinel"


BAD_AGENT = """\
home: {{id: mary, name: Mary}}
gpio: {{pin_factory: auto}}
state_dir: {state}
mqtt: {{host: 127.0.0.1, port: {port}}}
sensors:
  - {{name: hall, kind: motion, pin: 17, room: hall, hold_time: 30 parsecs}}
"""
BAD_CIRCLE = """\
ntfy: {{server: "http://127.0.0.1:{port}", ack_topic: sentinel-acks-test-0001}}
members:
  - {{id: ann, name: Ann, topic: mary-ann-topic-0001}}
homes:
  - {{id: mary, name: Mary, tiers: [[ann]], step: 5 parsecs}}
mqtt: {{host: 127.0.0.1, port: {port}}}
state_dir: {state}
"""


@pytest.mark.parametrize(
    ("name", "bad", "error"),
    [(AGENT, BAD_AGENT, ":6: sensors[0].hold_time:"), (NOTIFY, BAD_CIRCLE, ":5: homes[0].step:")],
)
def test_exec_start_exits_2_on_a_bad_config_before_touching_anything(
    tmp_path: Path, name: str, bad: str, error: str
) -> None:
    unit = parse_unit(UNITS / name)
    command = shlex.split(one(unit, "Service", "ExecStart"))
    assert command[0] == BINARY
    with socket.socket() as listener:
        # The broker (and ntfy) the config names: a socket that records any connection in its backlog.
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        config = tmp_path / "bad.yaml"
        config.write_text(bad.format(port=port, state=tmp_path / "state"))
        args = [str(config) if arg.startswith("/etc/sentinel/") else arg for arg in command[1:]]
        env = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
        env["SENTINEL_ACK_SECRET"] = "a-test-secret-of-enough-length"
        result = subprocess.run(sentinel_cmd(*args), capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.returncode in map(int, one(unit, "Service", "RestartPreventExitStatus").split())
        assert f"{config}{error}" in result.stderr
        assert "Traceback" not in result.stderr
        with pytest.raises(BlockingIOError):
            listener.accept()  # the process has exited: a connection it made would be waiting here
    assert not (tmp_path / "state").exists()  # no database opened either
