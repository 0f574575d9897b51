"""What a documented install brings, and what the commands say when an extra is missing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, without versions."""
    return {r.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}


def without(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`sentinel ARGV` in a process where ``module`` cannot be imported, as when its extra is not installed."""
    code = f"import sys; sys.modules[{module!r}] = None; from sentinel.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_pi_gets_neither_the_demo_broker_nor_matplotlib() -> None:
    core = names(PYPROJECT["project"]["dependencies"])
    extras = {name: names(reqs) for name, reqs in PYPROJECT["project"]["optional-dependencies"].items()}
    assert not core & {"amqtt", "matplotlib"}
    assert "amqtt" in extras["demo"]
    assert "matplotlib" in extras["plot"]
    assert {"amqtt", "matplotlib"} <= extras["test"]  # the tests run the demo and draw a routine
    assert "bootstrap.sh demo" in (ROOT / "scripts" / "demo.sh").read_text()


def test_the_demo_without_amqtt_says_what_to_install() -> None:
    result = without("amqtt", "demo")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sentinel: the demo's own MQTT broker needs amqtt, which is not installed" in result.stderr
    assert "scripts/demo.sh" in result.stderr and "--broker HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_agent_and_the_tools_load_without_amqtt() -> None:
    modules = "sentinel.agent.app, sentinel.demo.story, sentinel.notifier.service"
    code = f"import sys; sys.modules['amqtt'] = None; import {modules}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_routine_plot_without_matplotlib_says_what_to_install(tmp_path: Path) -> None:
    events = tmp_path / "home.csv"
    events.write_text(
        "timestamp,sensor,kind,value,room\n2026-01-05T08:00:00,hall,motion,1,hall\n2026-01-05T09:00:00,hall,motion,1,hall\n"
    )
    picture = tmp_path / "routine.png"
    result = without("matplotlib", "routine", str(events), "--plot", str(picture))
    assert result.returncode == 1, result.stderr
    assert "sentinel: drawing the routine needs matplotlib, which is not installed" in result.stderr
    assert "plot extra" in result.stderr and "-m pip install matplotlib" in result.stderr
    assert "Traceback" not in result.stderr
    assert not picture.exists()
