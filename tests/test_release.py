"""The release: a wheel that installs with pipx, as `pipx install sentinel-wellbeing` would, and runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.mark.long(11)
def test_the_built_wheel_installs_with_pipx_and_runs(tmp_path: Path) -> None:
    wheels = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("sentinel_wellbeing-*.whl")
    pipx = shutil.which("pipx", path=str(Path(sys.executable).parent)) or shutil.which("pipx")
    assert pipx, "pipx is part of the test extra"
    env = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    env.pop("PYTHONPATH", None)  # the installed copy, not this checkout
    installed = subprocess.run(
        [pipx, "install", "--python", sys.executable, str(wheel)], env=env, capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    sentinel = tmp_path / "bin" / "sentinel"
    version = subprocess.run(
        [str(sentinel), "--version"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert version.returncode == 0 and version.stdout.startswith("sentinel "), version.stderr
    # The shipped example and demo configs are inside the wheel: check-config works on a copy from the package.
    example = subprocess.run(
        [
            str(tmp_path / "pipx/venvs/sentinel-wellbeing/bin/python"),
            "-c",
            "from sentinel.config import shipped_config; print(shipped_config('demo.yaml'))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert example.returncode == 0 and "site-packages" in example.stdout, example.stdout + example.stderr
    checked = subprocess.run(
        [str(sentinel), "check-config", example.stdout.strip()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr
    # Every file `sentinel demo` reads is in the wheel too (demo-ann.yaml was not: the installed demo stopped).
    code = "".join(p.read_text() for p in (ROOT / "sentinel").rglob("*.py"))
    names = sorted(set(re.findall(r'shipped_config\("([^"]+)"\)', code)))
    assert "demo-ann.yaml" in names
    for name in names:
        found = subprocess.run(
            [
                str(tmp_path / "pipx/venvs/sentinel-wellbeing/bin/python"),
                "-c",
                f"from sentinel.config import shipped_config; print(shipped_config({name!r}).is_file())",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert found.stdout.strip() == "True", (name, found.stdout + found.stderr)
