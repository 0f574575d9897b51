"""A short run of the chaos harness (benchmarks/chaos.py): kills, cuts, ntfy refusals and hostile payloads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, mosquitto_binary


@pytest.mark.long(70)
def test_a_minute_of_chaos_loses_nothing_sends_nothing_twice_and_kills_nothing() -> None:
    mosquitto_binary()  # fails, never skips, without a broker
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "chaos.py"), "--seconds", "60", "--seed", "11"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "chaos OK" in result.stdout, out
    summary = dict(item.split("=") for item in next(x for x in out.splitlines() if x.startswith("chaos: "))[7:].split())
    assert int(summary["accepted"]) >= 10 and int(summary["kills"]) >= 2, out  # it did press, and it did kill
    assert summary["lost"] == summary["duplicated"] == summary["crashes"] == summary["deaf"] == "0", out
