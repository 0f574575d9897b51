"""The pins as gpiozero opens them: what the installer reads when it cannot."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gpiozero import Device

from conftest import sentinel_cmd
from sentinel.agent.gpio import GpioError, Signal

AUTO = """\
home: {{id: nopins, name: Mary}}
gpio: {{pin_factory: auto}}
state_dir: {state}
mqtt: {{host: 127.0.0.1, port: 1}}
sensors:
  - {{name: hall_pir, kind: motion, pin: 17, room: hall}}
"""

STEPS = (
    "On a Raspberry Pi the pins are read through python3-lgpio, which sentinel's venv must see (docs/install.md,"
    " steps 1 and 3): sudo apt-get install python3-lgpio, then sudo python3 -m venv --system-site-packages "
)


def not_a_pi() -> None:
    """These tests need a machine where gpiozero finds no pins (as the tests' own machines are)."""
    model = Path("/proc/device-tree/model")
    assert not model.exists() or "Raspberry" not in model.read_text(errors="replace"), "this machine is a Pi"


def test_the_agent_without_a_pin_library_says_what_to_install_and_exits_1(tmp_path: Path) -> None:
    not_a_pi()
    config = tmp_path / "agent.yaml"
    config.write_text(AUTO.format(state=tmp_path / "state"))
    env = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    done = subprocess.run(sentinel_cmd("run", "-c", str(config)), capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1, done.stderr
    said = done.stderr.strip().splitlines()[-1]
    assert said.startswith(
        "sentinel: sensor hall_pir: cannot open GPIO17: no pin library could be loaded"
        " (Unable to load any default pin factory!). " + STEPS
    )
    assert said.endswith(
        "(what is installed in it stays). Off a Pi, set gpio.pin_factory: mock to try sentinel on simulated pins"
    )
    assert "Traceback" not in done.stderr


@pytest.mark.filterwarnings("ignore::gpiozero.PinFactoryFallback")  # one for each library tried: expected here
def test_a_check_in_buzzer_without_a_pin_library_says_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_pi()
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)  # as at start: gpiozero loads its default at the first device
    with pytest.raises(GpioError) as refused:
        Signal(5, None, None)
    assert str(refused.value).startswith("cannot open the check-in buzzer or LED: no pin library could be loaded")
    assert STEPS in str(refused.value)
    # A factory named in GPIOZERO_PIN_FACTORY that is not there is told as gpiozero tells it.
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "nosuchfactory")
    with pytest.raises(GpioError, match=r"^cannot open the check-in buzzer or LED: Unable to find pin factory"):
        Signal(5, None, None)
