"""Help-button latency: a double press on a mock pin to the alert at a subscriber, against bare paho.

Quiet and with the other core busy (a process spinning on it), in alternating blocks of the same run, and
where the agent's time goes: the stages between the press and paho are stamped by wrapping the agent's
own methods (pin callback, the loop taking the edge, storing the alert, handing it to paho).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from _common import Mosquitto, machine, percentile, table, wait_for
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from sentinel.agent.app import Agent, Edge
from sentinel.config import parse_config
from sentinel.store import Store

BUTTON_PIN = 22
HOLD = 0.08  # seconds a press is held, and the gap between presses: both above the 50 ms bounce
WARMUP = 5  # trials run before measuring
BLOCK = 25  # trials in a row under one condition; quiet and busy blocks alternate
STAGES = (  # (name, from stamp, to stamp); "press" is just before the second drive_low, "arrived" at the subscriber
    ("pin -> the agent's pin callback (gpiozero's thread)", "press", "edge"),
    ("callback -> the loop takes the edge (queue, thread switch)", "edge", "taken"),
    ("the loop: press logic, the alert and its JSON", "taken", "store_in"),
    ("store the alert and its outbox row (SQLite, one transaction)", "store_in", "store_out"),
    ("stored -> handed to paho (outbox)", "store_out", "publish_in"),
    ("paho's publish() (the packet, written to the socket)", "publish_in", "publish_out"),
    ("publish() returned -> at the subscriber (broker, network)", "publish_out", "arrived"),
)
CONFIG = """\
home: {{id: bench, name: Mary}}
gpio: {{pin_factory: mock}}
mqtt: {{host: 127.0.0.1, port: {port}}}
detection: {{enabled: {detection}}}
sensors:
  - {{name: help_button, kind: button, pin: {pin}, room: lounge}}
"""


class Subscriber:
    """A paho client that stamps every message's arrival with perf_counter_ns, one queue per topic."""

    def __init__(self, port: int, topics: list[str]) -> None:
        self.arrivals: dict[str, queue.Queue[tuple[bytes, int]]] = {t: queue.Queue() for t in topics}
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-circle", protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = lambda c, u, m: self.arrivals[m.topic].put((m.payload, time.perf_counter_ns()))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(5):
            raise RuntimeError("subscriber could not subscribe")

    def next(self, topic: str, timeout: float = 5.0) -> tuple[bytes, int]:
        """The next payload on ``topic`` and when it arrived."""
        return self.arrivals[topic].get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Stamps:
    """The first time each stage is reached after ``reset``, in perf_counter_ns (one trial is in flight at a time)."""

    def __init__(self) -> None:
        self.at: dict[str, int] = {}

    def reset(self) -> None:
        self.at = {"press": time.perf_counter_ns()}

    def mark(self, name: str) -> None:
        self.at.setdefault(name, time.perf_counter_ns())

    def wrap(self, owner: Any, method: str, before: str, after: str | None = None, when=lambda *a: True) -> None:
        """Stamp ``before`` (and ``after``) around ``owner.method`` for the calls ``when`` accepts."""
        inner: Callable[..., Any] = getattr(owner, method)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not when(*args):
                return inner(*args, **kwargs)
            self.mark(before)
            try:
                return inner(*args, **kwargs)
            finally:
                if after:
                    self.mark(after)

        setattr(owner, method, wrapped)


def instrument(agent: Agent, stamps: Stamps) -> None:
    """Stamp the help path's stages through the agent's own methods (before ``agent.start()`` wires the pins)."""
    alert = agent.topics.alert
    stamps.wrap(agent, "_edge", "edge", when=lambda sensor, level: sensor == "help_button")
    stamps.wrap(agent, "handle", "taken", when=lambda item: isinstance(item, Edge) and item.sensor == "help_button")
    stamps.wrap(agent.journal, "raise_alert", "store_in", "store_out")
    stamps.wrap(agent.link, "publish", "publish_in", "publish_out", when=lambda topic, *a, **k: topic == alert)


def double_press_latency(agent: Agent, factory: MockFactory, sub: Subscriber, stamps: Stamps) -> tuple[int, bytes]:
    """One double press and its cancelling short press; the nanoseconds from second press to alert."""
    pin = factory.pin(BUTTON_PIN)
    pin.drive_low()
    time.sleep(HOLD)
    pin.drive_high()
    time.sleep(HOLD)
    stamps.reset()
    start = stamps.at["press"]
    pin.drive_low()  # the second press: help is raised at this edge
    payload, arrived = sub.next(agent.topics.alert)
    stamps.at["arrived"] = arrived
    if json.loads(payload)["facts"]["gesture"] != "double press":
        raise RuntimeError(f"unexpected alert {payload!r}")
    time.sleep(HOLD)
    pin.drive_high()
    time.sleep(HOLD)
    pin.drive_low()  # one short press: "I'm OK" once the double-press window has passed
    time.sleep(HOLD)
    pin.drive_high()
    while json.loads(sub.next(agent.topics.status)[0])["open_alerts"]:
        pass
    time.sleep(0.1)  # let the cancellation's acknowledgements settle
    return arrived - start, payload


def bare_round_trip(pub: mqtt.Client, sub: Subscriber, topic: str, payload: bytes) -> int:
    """Nanoseconds from a QoS 1 publish to its arrival at the subscriber."""
    start = time.perf_counter_ns()
    info = pub.publish(topic, payload, qos=1)
    _, arrived = sub.next(topic)
    info.wait_for_publish(5)
    return arrived - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=500, help="measured double presses under each condition")
    parser.add_argument("--block", type=int, default=BLOCK, help="trials in a row under one condition")
    parser.add_argument("--no-detection", action="store_true", help="detection.enabled: false (default: on)")
    args = parser.parse_args()
    detection = "false" if args.no_detection else "true"
    # The agent logs each alert at WARNING and more at INFO, as in production; the text goes nowhere.
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))  # noqa: SIM115
    with Mosquitto() as broker, tempfile.TemporaryDirectory(prefix="sentinel-bench-") as state:
        config = parse_config(CONFIG.format(port=broker.port, pin=BUTTON_PIN, detection=detection), "latency.yaml")
        store = Store(Path(state) / "agent.db")
        factory = MockFactory()
        agent = Agent(config, store, pin_factory=factory)
        echo = f"{agent.topics.root}/bench-echo"
        sub = Subscriber(broker.port, [agent.topics.alert, agent.topics.status, echo])
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher", protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        stop = threading.Event()
        stamps = Stamps()
        instrument(agent, stamps)
        agent.start()
        loop = threading.Thread(target=agent.loop, args=(stop,), name="agent", daemon=True)
        loop.start()
        wait_for(lambda: agent.link.connected and pub.is_connected(), 10, "the agent and publisher to connect")
        time.sleep(0.5)
        while not sub.arrivals[agent.topics.status].empty():
            sub.next(agent.topics.status)
        print(f"{broker.version} on 127.0.0.1:{broker.port}; {machine()}; detection.enabled: {detection}")
        print(
            f"{args.presses} double presses quiet and {args.presses} with the other core busy, in alternating blocks"
            f" of {args.block}, each followed by a bare QoS 1 round trip ({WARMUP} warm-up trials); load"
            f" {os.getloadavg()[0]:.2f}\n"
        )
        runs: dict[str, Run] = {"quiet": Run(), "busy": Run()}
        for _ in range(WARMUP):
            double_press_latency(agent, factory, sub, stamps)
        burner: subprocess.Popen | None = None
        for trial in range(2 * args.presses):
            condition = "busy" if (trial // args.block) % 2 else "quiet"
            if condition == "busy" and burner is None:
                burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # keeps one core busy
                time.sleep(0.2)
            elif condition == "quiet" and burner is not None:
                burner.kill()
                burner.wait()
                burner = None
            try:
                latency, payload = double_press_latency(agent, factory, sub, stamps)
            except queue.Empty:
                raise SystemExit(f"no alert or status within 5 s (agent thread alive: {loop.is_alive()})") from None
            stages = dict(stamps.at)
            bare = bare_round_trip(pub, sub, echo, payload)  # the alert's own bytes
            runs[condition].add(latency, bare, stages)
        if burner is not None:
            burner.kill()
            burner.wait()
        stop.set()
        loop.join(5)
        agent.close()
        pub.disconnect()
        pub.loop_stop()
        sub.close()
        store.close()

    rows = []
    for condition, run in runs.items():
        for name, samples in [("agent: 2nd press -> alert received", run.agent), ("bare paho QoS 1", run.bare)]:
            ms = [s / 1e6 for s in samples]
            cells = [f"{percentile(ms, p):.2f}" for p in (50, 90, 99)]
            rows.append([f"{condition}: {name}", len(ms), *cells, f"{max(ms):.2f}"])
    print(table(["path (ms)", "n", "p50", "p90", "p99", "max"], rows))
    for condition, run in runs.items():
        ratios = [percentile(run.agent, p) / percentile(run.bare, p) for p in (50, 99)]
        ratio = f"{condition}: agent / bare p50 {ratios[0]:.2f}, p99 {ratios[1]:.2f}"
        print(f"{ratio}   (targets: agent p99 <= 20 ms, p99 ratio <= 3)")
    print("\nWhere the agent's time goes, per stage (ms): median / p99, quiet and busy\n")
    stage_rows = []
    for name, start, end in STAGES:
        cells: list[object] = [name]
        for run in runs.values():
            ms = [(s[end] - s[start]) / 1e6 for s in run.stages if start in s and end in s]
            cells.append(f"{percentile(ms, 50):.3f} / {percentile(ms, 99):.3f}" if ms else "-")
        stage_rows.append(cells)
    totals: list[object] = ["total, press -> at the subscriber"]
    totals += [f"{percentile(r.agent, 50) / 1e6:.3f} / {percentile(r.agent, 99) / 1e6:.3f}" for r in runs.values()]
    print(table(["stage", "quiet", "busy"], [*stage_rows, totals]))


class Run:
    """The trials under one condition: latencies, bare round trips and stage stamps."""

    def __init__(self) -> None:
        self.agent: list[int] = []
        self.bare: list[int] = []
        self.stages: list[dict[str, int]] = []

    def add(self, agent: int, bare: int, stages: dict[str, int]) -> None:
        self.agent.append(agent)
        self.bare.append(bare)
        self.stages.append(stages)


if __name__ == "__main__":
    main()
