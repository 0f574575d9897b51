"""What the history extra costs the agent: RSS with history off and on, runs interleaved, each in its own process.

Needs Mosquitto and Debian's victoria-metrics (the history database). Each run starts a real agent on mock
pins with detection on, waits until it is online (and, with history on, until a point has been written),
and reads its resident memory.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import ROOT, Mosquitto, free_port, machine, table, wait_for

AGENT = """\
import sys, time
from pathlib import Path
from gpiozero.pins.mock import MockFactory
from sentinel.agent.app import Agent
from sentinel.config import load_config
from sentinel.store import Store

config = load_config(sys.argv[1])
agent = Agent(config, Store(Path(sys.argv[2])), pin_factory=MockFactory())
agent.start()
deadline = time.monotonic() + 30
def ready():
    if not (agent.link.connected and agent.routine_ready):
        return False
    return agent.history is None or agent.history.written > 0
while not ready() and time.monotonic() < deadline:
    agent.pump()
    time.sleep(0.02)
for _ in range(50):  # a few seconds of its loop
    agent.pump()
    time.sleep(0.02)
rss = next(int(x.split()[1]) for x in Path('/proc/self/status').read_text().splitlines() if x.startswith('VmRSS:'))
print(rss, ready())
agent.close()
"""
CONFIG = """\
home: {{id: {home}, name: Mary}}
gpio: {{pin_factory: mock}}
mqtt: {{host: 127.0.0.1, port: {port}, heartbeat: 5s}}
sensors:
  - {{name: hall_pir, kind: motion, pin: 17, room: hall}}
  - {{name: kitchen_pir, kind: motion, pin: 27, room: kitchen}}
  - {{name: front_door, kind: door, pin: 22, room: hall}}
  - {{name: help_button, kind: button, pin: 23, room: lounge}}
{history}"""


def victoria(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A VictoriaMetrics on a free loopback port, ready to take writes."""
    port = free_port()
    proc = subprocess.Popen(
        ["victoria-metrics", f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={workdir / 'vm'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    wait_for(healthy, 30, "VictoriaMetrics")
    return proc, url


def run(workdir: Path, name: str, port: int, history: str) -> int:
    """One agent process: its RSS in kB once online (and once a point is written, with history on)."""
    config = workdir / f"{name}.yaml"
    config.write_text(CONFIG.format(home=name, port=port, history=history) + f"state_dir: {workdir / name}\n")
    (workdir / name).mkdir(exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", AGENT, str(config), str(workdir / name / "agent.db")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    rss, ready = out.stdout.split()
    if ready != "True":
        raise SystemExit(f"the agent with {name} did not get ready: {out.stderr[-2000:]}")
    return int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Mosquitto() as broker:
        workdir = Path(tmp)
        vm, url = victoria(workdir)
        try:
            off, on = [], []
            for i in range(args.runs):  # interleaved: a drift of the machine touches both alike
                off.append(run(workdir, f"off{i}", broker.port, ""))
                on.append(run(workdir, f"on{i}", broker.port, f"history: {{enabled: true, url: '{url}'}}\n"))
                time.sleep(0.2)
        finally:
            vm.terminate()
            vm.wait(10)
    med_off, med_on = statistics.median(off) / 1024, statistics.median(on) / 1024
    print(f"# agent RSS with the history extra off and on ({args.runs} runs each, interleaved); {machine()}")
    print(
        table(
            ["agent", "median RSS", "runs (MB)"],
            [
                ["history off (baseline)", f"{med_off:.1f} MB", ", ".join(f"{x / 1024:.1f}" for x in off)],
                ["history on", f"{med_on:.1f} MB", ", ".join(f"{x / 1024:.1f}" for x in on)],
                ["cost of history", f"{med_on - med_off:+.1f} MB", ""],
            ],
        )
    )


if __name__ == "__main__":
    main()
