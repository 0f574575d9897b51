"""The real agent in its own process on mock pins, over a store with history, for ``benchmarks/pi.py``.

Usage: ``python benchmarks/_pi_driver.py CONFIG LEARN_SECONDS``. The agent runs on the system clock with its
loop on a thread. A probe thread puts a no-op message on the agent's queue every 10 ms; how late the loop takes
it is the loop's stall. The driver double-presses the help button (printing ``press NS``, then waiting for a
line on standard input before cancelling it) while the agent starts and learns, then for LEARN_SECONDS asks for
one refit after another (the daily refit, back to back), then idles. Prints ``online``, ``ready``, and at the
end ``result JSON``.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from sentinel import logs
from sentinel.agent.app import Agent, Edge
from sentinel.config import load_config
from sentinel.store import Store

IMPORTED = time.process_time()  # the interpreter and the imports (the agent's and this driver's few)
PROBE_S = 0.01
HOLD = 0.08
BUTTON = "help_button"
PROBE = "__probe__"  # no sensor has this name: the loop takes the message and does nothing with it


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Driver:
    def __init__(self, config_path: str) -> None:
        self.config = load_config(config_path)
        logs.setup("warning")  # as quiet as a kit's journal at INFO costs little; keep the benchmark's own output
        self.store = Store(Path(self.config.state_dir or ".") / "agent.db")
        self.factory = MockFactory()
        self.agent = Agent(self.config, self.store, pin_factory=self.factory)
        self.made = time.process_time()  # config, store and agent
        self.phase = "start-up"
        self.stalls: dict[str, list[float]] = {}
        self.presses: dict[str, int] = {}
        self.refit_now = False
        handle = self.agent.handle

        def timed(item):  # on the agent's thread
            if isinstance(item, Edge) and item.sensor == PROBE:
                self.stalls.setdefault(self.phase, []).append(time.perf_counter() - item.mono)
                if self.refit_now and self.agent.watch is not None:
                    self.refit_now = False
                    self.agent.watch.detector.refit(self.agent.clock.now())  # as the day's first movement does
                return
            handle(item)

        self.agent.handle = timed  # type: ignore[method-assign]

    def probe(self, stop: threading.Event) -> None:
        while not stop.wait(PROBE_S):
            self.agent.queue.put(Edge(PROBE, True, time.perf_counter(), datetime.now()))

    def press(self) -> None:
        """A double press (help at the second press's edge); after the parent saw the alert, an "I'm OK"."""
        pin = self.factory.pin(self.config.sensor(BUTTON).pin)
        pin.drive_low()
        time.sleep(HOLD)
        pin.drive_high()
        time.sleep(HOLD)
        print("press", time.perf_counter_ns(), flush=True)
        pin.drive_low()
        if sys.stdin.readline().strip() != "next":
            raise SystemExit("the benchmark stopped")
        self.presses[self.phase] = self.presses.get(self.phase, 0) + 1
        time.sleep(HOLD)
        pin.drive_high()
        time.sleep(0.7)  # past the double-press window
        pin.drive_low()
        time.sleep(HOLD)
        pin.drive_high()
        deadline = time.monotonic() + 10
        while self.agent.journal.open_alerts() and time.monotonic() < deadline:
            time.sleep(0.02)

    def learning(self) -> bool:
        learner = getattr(self.agent, "learner", None)
        return bool(learner is not None and learner.running) or self.refit_now

    def run(self, learn_seconds: float) -> dict[str, object]:
        stop = threading.Event()
        self.agent.start()
        started = time.process_time()
        loop = threading.Thread(target=self.agent.loop, args=(stop,), name="agent")
        loop.start()
        threading.Thread(target=self.probe, args=(stop,), name="probe", daemon=True).start()
        while not self.agent.link.connected:
            time.sleep(0.001)
        online_cpu = time.process_time()  # since the process began: imports, config, store, start
        print("online", flush=True)
        began = time.perf_counter()
        while not self.agent.routine_ready:
            self.press()
        ready_s = time.perf_counter() - began
        rss_ready = status_kb("VmRSS")
        print("ready", flush=True)
        self.phase = "refits"
        refits = 0
        end = time.monotonic() + learn_seconds
        while time.monotonic() < end:
            if not self.learning():
                self.refit_now = True
                refits += 1
            self.press()
        while self.learning():
            time.sleep(0.05)
        self.phase = "idle"
        time.sleep(3.0)
        result = {
            "online_cpu_s": online_cpu,
            "cpu_split_s": [IMPORTED, self.made - IMPORTED, started - self.made, online_cpu - started],
            "ready_s": ready_s,
            "rss_ready_mb": rss_ready / 1024,
            "rss_mb": status_kb("VmRSS") / 1024,
            "hwm_mb": status_kb("VmHWM") / 1024,
            "cpu_s": time.process_time(),
            "children_cpu_s": sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
            "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "refits": refits,
            "presses": self.presses,
            "stalls": {phase: max(values) for phase, values in self.stalls.items()},
            "numpy": "numpy" in sys.modules,
        }
        stop.set()
        loop.join(10)
        self.agent.close()
        self.store.close()
        return result


def main() -> None:
    driver = Driver(sys.argv[1])
    result = driver.run(float(sys.argv[2]))
    print("result", json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
