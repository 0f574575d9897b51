"""Shared helpers for the benchmarks: a private Mosquitto, percentiles, tables and /proc readers."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")


SENSORS = """\
sensors:
  - {name: bedroom_pir, kind: motion, pin: 17, room: bedroom}
  - {name: hall_pir, kind: motion, pin: 18, room: hall}
  - {name: kitchen_pir, kind: motion, pin: 27, room: kitchen}
  - {name: lounge_pir, kind: motion, pin: 24, room: lounge}
  - {name: front_door, kind: door, pin: 22, room: hall}
  - {name: help_button, kind: button, pin: 23, room: lounge}
"""
"""The kit the agent benchmarks run with: four rooms' PIRs, the front door and the help button (mock pins)."""


def with_bytecode() -> dict[str, str]:
    """An environment in which the project runs from compiled bytecode, as on a kit (``pip install`` compiles it).

    Without it (PYTHONDONTWRITEBYTECODE, set in some shells and CI) every start compiles the project's modules
    again. The bytecode goes where Python keeps it by default (``__pycache__`` beside each module, ignored by git).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "sentinel")], check=True, env=env)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.01)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


class Mosquitto:
    """A Mosquitto of the benchmark's own on a free loopback port; use it as a context manager."""

    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(binary):
            raise SystemExit("mosquitto is not installed")
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="sentinel-bench-mosquitto-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false", "log_dest none"]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        self.cmd = [binary, "-c", str(conf)]
        self.version = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Mosquitto:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._listening, 10, "mosquitto to listen")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self._dir.cleanup()

    def _listening(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError("mosquitto exited")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned columns after the first."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])])


def proc_status_kb(pid: int, field: str) -> int:
    """A ``kB`` field (VmRSS, VmHWM, ...) of /proc/<pid>/status."""
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if text.startswith(field + ":"):
            return int(text.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15 of stat


def machine() -> str:
    """One line about where the figures were measured."""
    model = next(
        (x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in x), "?"
    )
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"
