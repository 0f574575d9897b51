"""Notifier benchmarks: heartbeats from 10,000 homes, the most it keeps up with, and alert-to-ntfy latency.

Run from the repository root: ``python benchmarks/notifier.py [--quick] [--startup]``. Starts its own
Mosquitto and a local ntfy stand-in; prints tables. ``--startup``: only the start-up CPU (1,000 and 10,000 homes).
The notifier runs from compiled bytecode, as on a kit.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Mosquitto, cpu_seconds, machine, percentile, table, wait_for, with_bytecode

from sentinel.config import parse_circle_config
from sentinel.demo.ntfy import LocalNtfy
from sentinel.notifier.ntfy import Ntfy
from sentinel.notifier.service import Notifier
from sentinel.notifier.store import NotifierStore

SECRET = "benchmark-secret-0123456789"


def circle_yaml(port: int, ntfy_url: str, homes: int, state: Path, log_level: str = "warning") -> str:
    lines = [
        f"ntfy: {{server: '{ntfy_url}', ack_topic: bench-acks-00000001}}",
        "members:",
        "  - {id: ann, name: Ann, topic: bench-ann-000000001}",
        "homes:",
        *(f"  - {{id: h{i}, name: Home {i}, tiers: [[ann]], grace: 1h}}" for i in range(homes)),
        f"mqtt: {{host: 127.0.0.1, port: {port}, client_id: bench-notifier-{os.getpid()}}}",
        f"state_dir: {state}",
        f"log_level: {log_level}",
    ]
    return "\n".join(lines).replace("'", '"') + "\n"


def settle(pid: int) -> float:
    """Wait until a process has finished starting (it stops using CPU); its CPU seconds so far."""
    time.sleep(1)
    while True:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        after = cpu_seconds(pid)
        if after - before < 0.02:
            return after


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def start_notifier(
    broker: Mosquitto, tmp: Path, homes: int, env: dict[str, str], fresh: bool = True
) -> tuple[subprocess.Popen, float]:
    """``sentinel notify`` following ``homes`` homes, once it has settled; its CPU so far.

    ``fresh``: a new state directory (its first start), else the one the last run left (a restart).
    """
    config = tmp / "street.yaml"
    state = tmp / "street"
    log = tmp / "street.log"
    if fresh:
        shutil.rmtree(state, ignore_errors=True)
    config.write_text(circle_yaml(broker.port, "http://127.0.0.1:9", homes, state, "info"))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sentinel", "notify", "-c", str(config)],
            env={**env, "SENTINEL_ACK_SECRET": SECRET},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    # Subscribed: the config is read, the store open and the broker follows it; then its loop's first rounds.
    wait_for(lambda: "subscribed: following" in log.read_text(), 60, "the notifier to subscribe")
    return proc, settle(proc.pid)


def startup_cpu(broker: Mosquitto, tmp: Path, homes: int, env: dict[str, str], runs: int) -> list[object]:
    """The CPU ``sentinel notify`` takes to start with ``homes`` homes, its first start and a restart after it.

    Medians and ranges of ``runs`` each.
    """
    used: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(runs):
        for fresh in (True, False):
            proc, cpu = start_notifier(broker, tmp, homes, env, fresh)
            used[fresh].append(cpu)
            proc.terminate()
            proc.wait(15)
    cells: list[object] = [f"{homes:,} homes"]
    for values in (sorted(used[True]), sorted(used[False])):
        cells += [f"{values[len(values) // 2]:.2f} s", f"{values[0]:.2f}-{values[-1]:.2f} s"]
    return [*cells, runs]


def heartbeat_cpu(broker: Mosquitto, tmp: Path, homes: int, seconds: float, env: dict[str, str]) -> list[object]:
    """A notifier process following ``homes`` homes, each sending a heartbeat a minute."""
    proc, startup = start_notifier(broker, tmp, homes, env)
    pub = publisher(broker.port)
    rate = homes / 60.0
    before = cpu_seconds(proc.pid)
    t0 = time.perf_counter()
    sent = 0
    while time.perf_counter() - t0 < seconds:
        pub.publish(f"sentinel/h{sent % homes}/heartbeat", json.dumps({"seq": sent}), qos=0)
        sent += 1
        time.sleep(max(0.0, t0 + sent / rate - time.perf_counter()))
    used = cpu_seconds(proc.pid) - before
    took = time.perf_counter() - t0
    proc.terminate()
    proc.wait(15)
    pub.loop_stop()
    return [
        f"{homes} homes, 1 heartbeat/min each",
        f"{rate:.0f}/s",
        f"{100 * used / took:.1f} %",
        f"{startup:.2f} s CPU",
    ]


def max_heartbeats(broker: Mosquitto, tmp: Path, count: int) -> tuple[float, float]:
    """The notifier in this process; a flood of heartbeats from another; how fast it takes them in."""
    cfg = parse_circle_config(circle_yaml(broker.port, "http://127.0.0.1:9", 1000, tmp / "flood"))
    store = NotifierStore(tmp / "flood.db")
    notifier = Notifier(cfg, store, Ntfy(cfg.ntfy))
    received = [0]
    original = notifier.silence.heartbeat

    def counting(home: str, at: object) -> None:
        received[0] += 1
        original(home, at)  # type: ignore[arg-type]

    notifier.silence.heartbeat = counting  # type: ignore[method-assign]
    notifier.start(threaded=False)
    wait_for(notifier.client.is_connected, 10, "the notifier to connect")
    time.sleep(0.5)
    script = (
        "import sys, json, paho.mqtt.client as m\n"
        "from paho.mqtt.enums import CallbackAPIVersion as V\n"
        "c = m.Client(V.VERSION2); c.max_queued_messages_set(0)\n"
        "c.connect('127.0.0.1', int(sys.argv[1])); c.loop_start()\n"
        "n = int(sys.argv[2])\n"
        "infos = [c.publish(f'sentinel/h{i % 1000}/heartbeat', json.dumps({'seq': i}), qos=1) for i in range(n)]\n"
        "infos[-1].wait_for_publish(120)\n"
    )
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    subprocess.run([sys.executable, "-c", script, str(broker.port), str(count)], check=True)
    # Not threaded: the heartbeats wait in the notifier's queue until its main loop (here) takes them.
    wait_for(lambda: (notifier.step(), received[0] >= count)[1], 120, "every heartbeat")
    took = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    notifier.close()
    store.close()
    return count / took, 100 * cpu / took


def alert_latency(broker: Mosquitto, tmp: Path, count: int) -> list[list[object]]:
    """Alert published to the ntfy request arriving, beside a bare MQTT round trip."""
    arrived: dict[str, float] = {}
    # The notifier's own latency: ntfy's request limit (a bucket of 60, one back every 5 s) would pace this
    # run of 100 alerts after the 60th. A self-hosted server lifts it for the notifier's address with
    # visitor-request-limit-exempt-hosts; so does this stand-in (docs/circle.md, docs/performance.md).
    local = LocalNtfy(
        on_publish=lambda body: arrived.setdefault(
            json.loads(body["actions"][0]["body"])["alert_id"], time.perf_counter()
        ),
        request_burst=1_000_000,
    )
    cfg = parse_circle_config(circle_yaml(broker.port, local.url, 10, tmp / "latency"))
    store = NotifierStore(tmp / "latency.db")
    notifier = Notifier(cfg, store, Ntfy(cfg.ntfy))
    runner = threading.Thread(target=notifier.run, daemon=True)
    runner.start()
    wait_for(notifier.client.is_connected, 10, "the notifier to connect")
    time.sleep(0.5)
    pub = publisher(broker.port)
    delays = []
    for i in range(count):
        alert_id = f"h0-inactivity-{i}"
        body = {"alert_id": alert_id, "home": "h0", "kind": "inactivity", "severity": "high", "reason": "quiet"}
        t0 = time.perf_counter()
        pub.publish("sentinel/h0/alert", json.dumps(body), qos=1)
        wait_for(lambda a=alert_id: a in arrived, 10, "the notification")
        delays.append((arrived[alert_id] - t0) * 1000)
    notifier._stop.set()
    runner.join(10)
    store.close()
    local.close()

    got = threading.Event()
    bare = mqtt.Client(CallbackAPIVersion.VERSION2)
    bare.on_message = lambda c, u, m: got.set()
    bare.connect("127.0.0.1", broker.port)
    bare.loop_start()
    bare.subscribe("bench/rtt", qos=1)
    time.sleep(0.3)
    rtts = []
    for _ in range(count):
        got.clear()
        t0 = time.perf_counter()
        pub.publish("bench/rtt", b"x", qos=1)
        got.wait(5)
        rtts.append((time.perf_counter() - t0) * 1000)
    bare.loop_stop()
    pub.loop_stop()

    def row(name: str, values: list[float]) -> list[object]:
        return [
            name,
            len(values),
            f"{percentile(values, 50):.2f}",
            f"{percentile(values, 90):.2f}",
            f"{percentile(values, 99):.2f}",
            f"{max(values):.2f}",
        ]

    return [row("alert published -> ntfy request arrives", delays), row("baseline: bare MQTT QoS 1 round trip", rtts)]


def main() -> None:
    logging.disable(logging.WARNING)  # one "ALERT" line per measured alert would drown the tables
    quick = "--quick" in sys.argv
    os.environ.setdefault("SENTINEL_ACK_SECRET", SECRET)
    print(f"machine: {machine()}; load {os.getloadavg()[0]:.2f}")
    env = with_bytecode()  # as on a kit: the code was compiled when it was installed
    with Mosquitto() as broker, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"broker: {broker.version}\n")
        starts = [startup_cpu(broker, tmp, homes, env, 3 if quick else 5) for homes in (1_000, 10_000)]
        head = ["`sentinel notify` start-up CPU", "first start", "range", "a restart", "range", "runs"]
        print(table(head, starts), "\n")
        if "--startup" in sys.argv:
            return
        rows = [heartbeat_cpu(broker, tmp, homes, 10 if quick else 60, env) for homes in (1_000, 10_000)]
        print(table(["load", "heartbeats", "notifier CPU (one core)", "CPU to start"], rows))
        rate, cpu = max_heartbeats(broker, tmp, 20_000 if quick else 50_000)
        print(f"\nmost heartbeats taken in: {rate:,.0f} per second (the notifier's process at {cpu:.0f} % CPU)\n")
        print(table(["ms", "n", "p50", "p90", "p99", "max"], alert_latency(broker, tmp, 100 if quick else 1000)))


if __name__ == "__main__":
    main()
