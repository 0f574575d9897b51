"""The agent as a Pi Zero 2 W would run it: a home's history in the store, learning, refits, and help presses.

For each home (60 days and a year of a busy kit's events, seeded with ``sentinel import``): the agent
(``benchmarks/_pi_driver.py``, its own process, mock pins, system clock) from spawn to ``online``, its
loop's longest stall while it starts and learns and while it refits again and again, help press -> alert at a
subscriber while it learns, its steady and peak memory, the learning processes' CPU and peak memory; with a
bare paho round trip after every press and a bare ``python + imports`` process between the homes. Then a
Zero projection: CPU seconds here x 10, beside the targets. The agent runs from compiled bytecode, as on a kit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from _common import ROOT, SENSORS, Mosquitto, machine, percentile, table, with_bytecode
from paho.mqtt.enums import CallbackAPIVersion
from resources import BARE_IMPORTS, Watcher, bare_memory

ZERO = 10.0  # a Pi Zero 2 W core is roughly 8-10 times slower than one of this machine's
CONFIG = """\
home: {{id: {home}, name: Mary}}
gpio: {{pin_factory: mock}}
state_dir: {state}
keep_days: {keep}
mqtt: {{host: 127.0.0.1, port: {port}}}
"""
ROOMS = {  # as benchmarks/_day_driver.py: weight by part of the day (night, morning, afternoon, evening)
    "bedroom_pir": (6, 2, 1, 2),
    "hall_pir": (3, 2, 2, 2),
    "kitchen_pir": (1, 4, 3, 4),
    "lounge_pir": (0, 2, 4, 5),
}
ROOM = {"bedroom_pir": "bedroom", "hall_pir": "hall", "kitchen_pir": "kitchen", "lounge_pir": "lounge"}


def history_csv(path: Path, days: int, seed: int = 1) -> int:
    """A busy kit's days as an event CSV (the day driver's resident: about 2,600 events a day); rows written."""
    rng = random.Random(seed)
    end = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[tuple[datetime, str, str, int, str]] = []
    for day in range(days, 0, -1):
        midnight = end - timedelta(days=day)
        away = [(10 * 3600 + rng.uniform(-1800, 1800), 11.5 * 3600), (15 * 3600, 15.5 * 3600 + rng.uniform(0, 1800))]
        for a, b in away:
            for t in (a, b):
                at = midnight + timedelta(seconds=t)
                rows += [
                    (at, "front_door", "door", 1, "hall"),
                    (at + timedelta(seconds=8), "front_door", "door", 0, "hall"),
                ]
        for minute in range(24 * 60):
            t = minute * 60.0
            if any(a <= t < b for a, b in away):
                continue
            if not (7 * 3600 <= t < 23 * 3600) and rng.random() > 0.01:
                continue
            part = min(3, int(t // (6 * 3600)))
            rooms = [r for r, w in ROOMS.items() for _ in range(w[part])]
            for _ in range(rng.randint(1, 3)):
                sensor = rng.choice(rooms)
                at = midnight + timedelta(seconds=t + rng.uniform(0, 50))
                rows += [
                    (at, sensor, "motion", 1, ROOM[sensor]),
                    (at + timedelta(seconds=5), sensor, "motion", 0, ROOM[sensor]),
                ]
    rows.sort()
    with open(path, "w") as out:
        out.write("timestamp,sensor,kind,value,room\n")
        for at, sensor, kind, value, room in rows:
            out.write(f"{at.isoformat(timespec='seconds')},{sensor},{kind},{value},{room}\n")
    return len(rows)


def build_home(workdir: Path, port: int, name: str, days: int) -> tuple[Path, int, float]:
    """A config and a store seeded with ``sentinel import``: the config, rows, seconds the import took."""
    state = workdir / name
    state.mkdir()
    config = workdir / f"{name}.yaml"
    config.write_text(CONFIG.format(home=name, state=state, port=port, keep=max(90, days + 30)) + SENSORS)
    csv = workdir / f"{name}.csv"
    rows = history_csv(csv, days)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sentinel", "import", str(csv), "-c", str(config)], check=True, cwd=ROOT)
    return config, rows, time.perf_counter() - began


def run_home(config: Path, port: int, name: str, learn_seconds: float, env: dict[str, str]) -> dict[str, object]:
    """The driver over one home; its result, with start-up to online and the latencies it saw."""
    watcher = Watcher(port)
    watcher.subscribe(f"sentinel/{name}/availability")
    watcher.subscribe(f"sentinel/{name}/alert")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    echo = f"sentinel/{name}/bench-echo"
    watcher.subscribe(echo)
    log = open(config.with_suffix(".log"), "wb")  # noqa: SIM115
    start = time.perf_counter_ns()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "_pi_driver.py"), str(config), str(learn_seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdin and proc.stdout
    online_s = (watcher.wait(f"sentinel/{name}/availability", b"online") - start) / 1e9
    phase, latency, bare = "start-up", {"start-up": [], "refits": []}, []
    result: dict[str, object] = {}
    for line in proc.stdout:
        word, _, rest = line.decode().strip().partition(" ")
        if word == "press":
            while True:  # the alert this press raised (retained or earlier ones are skipped)
                topic, payload, arrived = watcher.arrivals.get(timeout=30)
                if topic.endswith("/alert") and b"double press" in payload:
                    break
            latency[phase].append((arrived - int(rest)) / 1e6)
            began = time.perf_counter_ns()
            pub.publish(echo, payload, qos=1)
            bare.append((watcher.wait(echo, payload) - began) / 1e6)
            proc.stdin.write(b"next\n")
            proc.stdin.flush()
        elif word == "ready":
            phase = "refits"
        elif word == "result":
            result = json.loads(rest)
    proc.wait(30)
    log.close()
    watcher.close()
    pub.loop_stop()
    pub.disconnect()
    if not result:
        raise SystemExit(f"the driver failed: {config.with_suffix('.log').read_text()[-2000:]}")
    return {**result, "online_s": online_s, "latency": latency, "bare": bare}


def summary_of(config: Path) -> dict[str, float]:
    """What the last learning process cost, as the agent stored it (none before learning ran apart)."""
    import sqlite3

    db = sqlite3.connect(Path(config.read_text().split("state_dir: ")[1].split("\n")[0]) / "agent.db")
    row = db.execute("SELECT value FROM settings WHERE key = 'routine'").fetchone()
    db.close()
    return json.loads(row[0])["cost"] if row else {}


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p):.1f} ms" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learn-seconds", type=float, default=60.0, help="refit after refit for this long")
    parser.add_argument("--days", type=int, nargs="*", default=[60, 365], help="homes' history lengths")
    args = parser.parse_args()
    rows: list[list[object]] = []
    zero: list[list[object]] = []
    with Mosquitto() as broker, tempfile.TemporaryDirectory(prefix="sentinel-bench-pi-") as tmp:
        print(f"{broker.version} on 127.0.0.1:{broker.port}; {machine()}; load {os.getloadavg()[0]:.2f}")
        env = with_bytecode()
        for days in args.days:
            name = f"pi{days}"
            config, count, import_s = build_home(Path(tmp), broker.port, name, days)
            rows.append(bare_memory(BARE_IMPORTS))
            r = run_home(config, broker.port, name, args.learn_seconds, env)
            cost = summary_of(config)
            lat: dict[str, list[float]] = r["latency"]  # type: ignore[assignment]
            stalls: dict[str, float] = r["stalls"]  # type: ignore[assignment]
            learning = lat["start-up"] + lat["refits"]
            rows += [
                [f"{days} days of history: {count:,} events (`sentinel import`: {import_s:.1f} s)", "", "", ""],
                ["  spawn -> retained online", f"{r['online_s']:.3f} s", f"CPU {r['online_cpu_s']:.2f} s", "<= 2 s"],
                [
                    "  start-up CPU: interpreter + imports / config, store, agent / start() / to online",
                    " / ".join(f"{x:.3f}" for x in r["cpu_split_s"]) + " s",  # type: ignore[attr-defined]
                    "",
                    "",
                ],
                ["  online -> routine learned (in its own process)", f"{r['ready_s']:.2f} s", "", ""],
                [
                    "  longest loop stall: start-up and first learning",
                    f"{1000 * stalls['start-up']:.1f} ms",
                    "",
                    "<= 100 ms",
                ],
                [
                    f"  longest loop stall: {r['refits']} refits back to back",
                    f"{1000 * stalls.get('refits', 0):.1f} ms",
                    "",
                    "<= 100 ms",
                ],
                [
                    f"  help press -> alert while learning (n={len(learning)}), p50 / p99",
                    ms(learning, 50),
                    ms(learning, 99),
                    "p99 <= 20 ms",
                ],
                ["  baseline: bare paho QoS 1 round trip, p50 / p99", ms(r["bare"], 50), ms(r["bare"], 99), ""],  # type: ignore[arg-type]
                [
                    "  agent RSS after learning / at the end / peak",
                    f"{r['rss_ready_mb']:.1f} MB",
                    f"{r['rss_mb']:.1f} / {r['hwm_mb']:.1f} MB",
                    "<= 40 MB",
                ],
                ["  numpy in the agent process", str(r["numpy"]), "", "False"],
                [
                    "  a learning process: CPU / peak RSS (last one)",
                    f"{cost.get('cpu_s', 0):.2f} s",
                    f"{cost.get('peak_mb', 0):.1f} MB",
                    "",
                ],
                [
                    "  all learning processes: CPU / largest peak",
                    f"{r['children_cpu_s']:.1f} s",
                    f"{r['children_peak_mb']:.1f} MB",
                    "",
                ],
            ]
            zero += [
                [
                    f"{days} d: start-up CPU to online",
                    f"{r['online_cpu_s']:.2f} s",
                    f"{ZERO * r['online_cpu_s']:.1f} s",
                    "<= 2 s",
                ],
                [
                    f"{days} d: longest loop stall (start-up / refits)",
                    f"{1000 * max(stalls.values()):.0f} ms",
                    f"{ZERO * 1000 * max(stalls.values()):.0f} ms",
                    "<= 100 ms",
                ],
                [
                    f"{days} d: one learning process (off the loop)",
                    f"{cost.get('cpu_s', 0):.2f} s",
                    f"{ZERO * cost.get('cpu_s', 0):.0f} s",
                    "(a press never waits)",
                ],
            ]
        rows.append(bare_memory(BARE_IMPORTS))
    print(table(["measure", "value", "p99 / peak / more", "target"], rows))
    print("\nA Pi Zero 2 W, projected: CPU seconds here x 10 (a stall is CPU on the loop's thread)\n")
    print(table(["measure", "here", "Zero (x10)", "target on the Zero"], zero))
    print(f"\nload at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
