"""Help-button latency: a double press on a mock pin to the alert at a subscriber, against bare paho."""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from _common import Mosquitto, machine, percentile, table, wait_for
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from sentinel.agent.app import Agent
from sentinel.config import parse_config
from sentinel.store import Store

BUTTON_PIN = 22
HOLD = 0.08  # seconds a press is held, and the gap between presses: both above the 50 ms bounce
WARMUP = 5  # trials run before measuring
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


def double_press_latency(agent: Agent, factory: MockFactory, sub: Subscriber) -> tuple[int, bytes]:
    """One double press and its cancelling short press; the nanoseconds from second press to alert."""
    pin = factory.pin(BUTTON_PIN)
    pin.drive_low()
    time.sleep(HOLD)
    pin.drive_high()
    time.sleep(HOLD)
    start = time.perf_counter_ns()
    pin.drive_low()  # the second press: help is raised at this edge
    payload, arrived = sub.next(agent.topics.alert)
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
    parser.add_argument("--presses", type=int, default=1000, help="measured double presses (and bare round trips)")
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
        agent.start()
        loop = threading.Thread(target=agent.loop, args=(stop,), name="agent", daemon=True)
        loop.start()
        wait_for(lambda: agent.link.connected and pub.is_connected(), 10, "the agent and publisher to connect")
        time.sleep(0.5)
        while not sub.arrivals[agent.topics.status].empty():
            sub.next(agent.topics.status)
        print(f"{broker.version} on 127.0.0.1:{broker.port}; {machine()}; detection.enabled: {detection}")
        print(f"{args.presses} double presses, each followed by a bare QoS 1 round trip ({WARMUP} warm-up trials)\n")
        agent_ns: list[int] = []
        bare_ns: list[int] = []
        for trial in range(WARMUP + args.presses):
            try:
                latency, payload = double_press_latency(agent, factory, sub)
            except queue.Empty:
                raise SystemExit(f"no alert or status within 5 s (agent thread alive: {loop.is_alive()})") from None
            bare = bare_round_trip(pub, sub, echo, payload)  # the alert's own bytes
            if trial >= WARMUP:
                agent_ns.append(latency)
                bare_ns.append(bare)
        stop.set()
        loop.join(5)
        agent.close()
        pub.disconnect()
        pub.loop_stop()
        sub.close()
        store.close()

    rows = []
    for name, samples in [("agent: 2nd press -> alert received", agent_ns), ("bare paho QoS 1 round trip", bare_ns)]:
        ms = [s / 1e6 for s in samples]
        rows.append([name, len(ms), *(f"{percentile(ms, p):.2f}" for p in (50, 90, 99)), f"{max(ms):.2f}"])
    print(table(["path (ms)", "n", "p50", "p90", "p99", "max"], rows))
    ratio = percentile(agent_ns, 99) / percentile(bare_ns, 99)
    print(f"\np99 agent / p99 bare = {ratio:.2f}   (targets: agent p99 <= 20 ms, ratio <= 3)")


if __name__ == "__main__":
    main()
