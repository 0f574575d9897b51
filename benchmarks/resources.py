"""Agent resources: start-up to online, idle CPU, and memory after a simulated day, each in its own process."""

from __future__ import annotations

import argparse
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from _common import ROOT, SENSORS, Mosquitto, cpu_seconds, machine, proc_status_kb, table, with_bytecode
from paho.mqtt.enums import CallbackAPIVersion

STARTS = 10
IDLE_SECONDS = 60.0
DAY, DAY_SECONDS, QUICK_DAY_SECONDS = 86400.0, 600.0, 60.0
BARE_IMPORTS = "import paho.mqtt.client, gpiozero, yaml"
REPORT_MEMORY = "from pathlib import Path; print(Path('/proc/self/status').read_text())"
CONFIG = """\
home: {{id: {home}, name: Mary}}
gpio: {{pin_factory: mock}}
state_dir: {state}
mqtt: {{host: 127.0.0.1, port: {port}}}
detection: {{enabled: {detection}}}
"""


class Watcher:
    """A subscriber that stamps each message's arrival with perf_counter_ns."""

    def __init__(self, port: int) -> None:
        self.arrivals: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-watcher", protocol=mqtt.MQTTv5)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = lambda c, u, m: self.arrivals.put((m.topic, m.payload, time.perf_counter_ns()))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's acknowledgement (retained messages may follow)."""
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        if not self._subscribed.wait(5):
            raise RuntimeError(f"could not subscribe to {topic}")

    def wait(self, topic: str, payload: bytes, timeout: float = 30.0) -> int:
        """When ``payload`` arrived on ``topic`` (skipping anything else)."""
        deadline = time.monotonic() + timeout
        while True:
            got_topic, got, arrived = self.arrivals.get(timeout=max(0.0, deadline - time.monotonic()))
            if got_topic == topic and got == payload:
                return arrived

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass(frozen=True)
class Bench:
    """Where the agents run: a work directory, the broker's port, and whether detection is on."""

    workdir: Path
    port: int
    detection: bool
    env: dict[str, str]  # the code runs from compiled bytecode, as on a kit

    def config(self, home: str) -> Path:
        """A config on mock pins with its own state directory; its path."""
        state = self.workdir / home
        state.mkdir(parents=True)
        path = self.workdir / f"{home}.yaml"
        path.write_text(
            CONFIG.format(home=home, state=state, port=self.port, detection=str(self.detection).lower()) + SENSORS
        )
        return path


def start_agent(bench: Bench, watcher: Watcher, home: str) -> tuple[subprocess.Popen[bytes], float, float]:
    """Spawn ``python -m sentinel run`` and wait for its retained ``online``: the process, seconds and its CPU."""
    config = bench.config(home)
    topic = f"sentinel/{home}/availability"
    watcher.subscribe(topic)
    with open(bench.workdir / f"{home}.log", "wb") as log:
        start = time.perf_counter_ns()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sentinel", "run", "-c", str(config)], stderr=log, cwd=ROOT, env=bench.env
        )
    arrived = watcher.wait(topic, b"online")
    return proc, (arrived - start) / 1e9, cpu_seconds(proc.pid)  # CPU a moment after online: an upper bound


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def spawn_seconds(code: str, env: dict[str, str]) -> float:
    """Wall time of ``python -c code``, from spawn to exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)
    return time.perf_counter() - start


def bare_memory(imports: str) -> list[object]:
    """A table row: RSS and peak of a process that only imports ``imports``."""
    out = subprocess.run([sys.executable, "-c", f"{imports}; {REPORT_MEMORY}"], capture_output=True, text=True)
    fields = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    rss, hwm = (int(fields[f].split()[0]) / 1024 for f in ("VmRSS", "VmHWM"))
    return [f"  baseline: python -c '{imports}'", f"{rss:.1f} MB", f"{hwm:.1f} MB", ""]


def startup(bench: Bench, watcher: Watcher) -> list[list[object]]:
    """Spawn to retained ``online``, ``STARTS`` times, against the bare import."""
    times, cpu = [], []
    for run in range(STARTS):
        proc, seconds, used = start_agent(bench, watcher, f"bench-start-{run}")
        stop(proc)
        times.append(seconds)
        cpu.append(used)
    imports = [spawn_seconds("import sentinel.agent.app", bench.env) for _ in range(STARTS)]
    bare = [spawn_seconds("pass", bench.env) for _ in range(STARTS)]

    def row(name: str, values: list[float], target: str) -> list[object]:
        return [name, f"{statistics.median(values):.3f} s", f"{max(values):.3f} s", target]

    return [
        row(f"start-up: spawn -> retained online ({STARTS} runs)", times, "<= 2 s"),
        row("  its CPU by then (clock ticks, 10 ms)", cpu, "<= 0.2 s (2 s on a Zero)"),
        row("  baseline: python -c 'import sentinel.agent.app'", imports, ""),
        row("  baseline: python -c pass", bare, ""),
    ]


def idle(bench: Bench, watcher: Watcher) -> list[list[object]]:
    """CPU share of an online agent with no pin changes, and its memory after that."""
    proc, _, _ = start_agent(bench, watcher, "bench-idle")
    time.sleep(2.0)  # past start-up
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(IDLE_SECONDS)
    cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
    rss, hwm = proc_status_kb(proc.pid, "VmRSS") / 1024, proc_status_kb(proc.pid, "VmHWM") / 1024
    stop(proc)
    share = 100 * (cpu1 - cpu0) / (t1 - t0)
    return [
        [f"idle CPU over {t1 - t0:.0f} s (% of one core)", f"{share:.3f} %", f"{cpu1 - cpu0:.2f} s CPU", "<= 1 %"],
        ["  RSS / peak of that idle agent", f"{rss:.1f} MB", f"{hwm:.1f} MB", ""],
    ]


def day(bench: Bench, seconds: float) -> list[list[object]]:
    """Memory of the agent process after a simulated day lived in ``seconds`` real seconds."""
    config = bench.config("bench-day")
    driver = [sys.executable, str(ROOT / "benchmarks" / "_day_driver.py"), str(config), str(seconds)]
    with open(bench.workdir / "bench-day.log", "wb") as log:
        proc = subprocess.Popen(
            driver, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env=bench.env
        )
    assert proc.stdout and proc.stdin
    if proc.stdout.readline().strip() != b"ready":
        raise RuntimeError(f"the day driver failed: {(bench.workdir / 'bench-day.log').read_text()}")
    start_rss = proc_status_kb(proc.pid, "VmRSS") / 1024
    done = proc.stdout.readline().split()
    if not done:
        proc.wait(10)
        last = " / ".join((bench.workdir / "bench-day.log").read_text().strip().splitlines()[-2:])
        return [["agent RSS after a simulated day: FAILED", "-", "-", "<= 40 MB"], [f"  {last}", "", "", ""]]
    edges = int(done[1])
    rss, hwm = proc_status_kb(proc.pid, "VmRSS") / 1024, proc_status_kb(proc.pid, "VmHWM") / 1024
    proc.stdin.close()
    _, events, pending = proc.stdout.readline().decode().split()
    proc.wait(10)
    alerts = (bench.workdir / "bench-day.log").read_text().count(" ALERT ")
    rows = [
        [f"agent RSS / peak after a 24 h day at {DAY / seconds:.0f}x", f"{rss:.1f} MB", f"{hwm:.1f} MB", "<= 40 MB"],
        ["  same agent just after start-up (RSS)", f"{start_rss:.1f} MB", "", ""],
        [f"  the day: {edges} pin edges -> {events} stored events, {alerts} alerts, {pending} unsent", "", "", ""],
        bare_memory(BARE_IMPORTS),
    ]
    if bench.detection:
        rows.append(bare_memory(BARE_IMPORTS + ", numpy"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"live the day in {QUICK_DAY_SECONDS:.0f} s, not 10 min")
    parser.add_argument("--no-detection", action="store_true", help="detection.enabled: false (default: on)")
    args = parser.parse_args()
    seconds = QUICK_DAY_SECONDS if args.quick else DAY_SECONDS
    with Mosquitto() as broker, tempfile.TemporaryDirectory(prefix="sentinel-bench-") as tmp:
        bench = Bench(Path(tmp), broker.port, not args.no_detection, with_bytecode())
        print(f"{broker.version} on 127.0.0.1:{broker.port}; {machine()}")
        print(f"detection.enabled: {str(bench.detection).lower()}; agents: `python -m sentinel run` on mock pins,")
        print(f"the day: benchmarks/_day_driver.py, 24 simulated hours in {seconds:.0f} s\n")
        watcher = Watcher(broker.port)
        rows = startup(bench, watcher)
        rows += idle(bench, watcher)
        watcher.close()
        rows += day(bench, seconds)
    print(table(["measure", "value", "max / peak / total", "target"], rows))


if __name__ == "__main__":
    main()
