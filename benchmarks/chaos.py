"""Chaos: agents, the notifier, Mosquitto and ntfy under kills, cuts, refusals and hostile payloads.

Run from the repository root: ``python benchmarks/chaos.py [--seconds 1800] [--seed 7]``.
Two agents (real processes on mock pins, their help buttons pressed at random),
the notifier (a real process), a Mosquitto with persistence and the local ntfy
stand-in. For the given time it, at random: presses help buttons, kills an agent
or the notifier with SIGKILL and restarts it, restarts Mosquitto, cuts or slows
the network through a loopback TCP proxy, makes ntfy answer 429, 500 or hang,
and publishes fuzzed payloads on every topic the programs read. Then it lets
everything settle and checks:

- every alert an agent accepted (stored in its database) reached the circle;
- each notification step of an alert was pushed at most once;
- no process died unless the harness killed it;
- every agent still gets a help press through to a phone at the end;
- the processes' memory afterwards.

``--fuzz N`` instead publishes N hostile payloads per topic as fast as it can and
checks the same. ``--break outbox`` makes the agents send alerts from memory
only, which a kill can lose: the harness must report it (exit 1).
Mosquitto is restarted with SIGTERM: a broker killed with SIGKILL loses what it
had not saved, which no client can prevent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, free_port, proc_status_kb, table, wait_for

from sentinel.demo.ntfy import LocalNtfy

HOMES = ("ann-home", "bob-home")
SECRET = "chaos-secret-0123456789abcdef"
SETTLE_S = 180.0  # after the chaos: time for every accepted alert to reach the circle


class Proxy:
    """A loopback TCP proxy that can cut every connection for a while, or slow them down."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.delay = 0.0
        self._cut_until = 0.0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, seconds: float) -> None:
        with self._lock:
            self._cut_until = time.monotonic() + seconds
            conns, self._conns = self._conns, []
        for conn in conns:
            _close(conn)

    def mend(self) -> None:
        """End a cut still running: connections are let through again (a reconnecting client gets in)."""
        with self._lock:
            self._cut_until = 0.0

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            if time.monotonic() < self._cut_until:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.delay:
                    time.sleep(self.delay)
                dst.sendall(data)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class Broker:
    """Mosquitto with persistence, so a notifier's queued alerts survive a broker restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {workdir}/",
            "autosave_interval 1",
            "log_dest none",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        binary = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else "mosquitto"
        self.cmd = [binary, "-c", str(conf)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _listening(self.port), 10, "mosquitto")

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class Process:
    """One of the programs as a process that the harness may kill and restart; it notices any other death."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        self.name, self.cmd, self.log, self.env = name, cmd, log, env
        self.proc: subprocess.Popen[str] | None = None
        self.crashes: list[str] = []
        self.crash_logs: list[str] = []  # how each crash ended, for the report
        self.kills = 0
        self.peak_kb = 0

    def start(self) -> None:
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE, stdout=out, stderr=out, text=True, cwd=ROOT, env=self.env
            )

    def alive(self) -> bool:
        """Whether it runs; a death the harness did not cause is recorded as a crash (and it is restarted)."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is None:
            with contextlib.suppress(OSError, KeyError):
                self.peak_kb = max(self.peak_kb, proc_status_kb(self.proc.pid, "VmHWM"))  # its peak so far
            return True
        self.crashes.append(f"{self.name} exited with {code}")
        tail = self.log.read_text(errors="replace").splitlines()[-25:]
        self.crash_logs.append(f"--- {self.name} exited with {code}; its log ended:\n" + "\n".join(tail))
        self.start()
        return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.kills += 1

    def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it has just been killed: the press is lost with the process, as a press on a dead Pi is

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def agent_yaml(home: str, port: int, state: Path) -> str:
    return f"""\
home: {{id: {home}, name: {home.split("-")[0].title()}}}
gpio: {{pin_factory: mock}}
state_dir: {state}
mqtt: {{host: 127.0.0.1, port: {port}, keepalive: 5s, heartbeat: 5s}}
detection: {{enabled: false}}
sensors:
  - {{name: hall_pir, kind: motion, pin: 17, room: hall}}
  - {{name: help_button, kind: button, pin: 22, room: lounge, long_press: 0.5s}}
"""


def circle_yaml(ntfy_url: str, port: int, state: Path) -> str:
    homes = "".join(
        f"  - {{id: {h}, name: {h.split('-')[0].title()}, tiers: [[carer]], step: 30s, rounds: 1, grace: 60s}}\n"
        for h in HOMES
    )
    return f"""\
ntfy: {{server: {ntfy_url}, ack_topic: chaos-acks-0000000001, timeout: 2s}}
members:
  - {{id: carer, name: Carer, topic: chaos-carer-00000001}}
homes:
{homes}mqtt: {{host: 127.0.0.1, port: {port}, client_id: chaos-notifier}}
state_dir: {state}
"""


def pushes(ntfy: LocalNtfy) -> dict[str, list[dict[str, Any]]]:
    """Alert notifications the circle received, by alert id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for note in ntfy.to("chaos-carer-00000001"):
        for action in note.get("actions", []):
            if action.get("action") == "http":
                found.setdefault(json.loads(action["body"])["alert_id"], []).append(note)
                break
    return found


def accepted(state: Path) -> set[str]:
    """Alert ids an agent stored: those it promised to deliver."""
    import sqlite3

    path = state / "agent.db"
    if not path.exists():
        return set()
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT alert_id FROM alerts")}
    finally:
        db.close()


def hostile(rng: random.Random) -> bytes:
    """One payload a careless or hostile client might send."""
    pick = rng.randrange(9)
    if pick == 0:
        return rng.randbytes(rng.randrange(1, 300))
    if pick == 1:
        return ("[" * 1000 + "]" * 1000).encode()
    if pick == 2:
        return json.dumps({"who": "\ud800", "what": "claim", "note": "\udfff"}, ensure_ascii=True).encode()
    if pick == 3:
        return json.dumps({"alert_id": "a/+/#", "kind": "help", "severity": "critical", "reason": "x"}).encode()
    if pick == 4:
        return json.dumps(
            {
                "alert_id": f"x{rng.random()}",
                "kind": "help",
                "severity": "critical",
                "reason": "r",
                "raised_at": "yesterday",
                "facts": {"n": [1] * 50},
            }
        ).encode()
    if pick == 5:
        return b'{"who": "' + b"A" * rng.randrange(1, 200_000) + b'"}'
    if pick == 6:
        return json.dumps({"member": "carer", "what": "resolve", "expires": 10**12, "token": "forged"}).encode()
    if pick == 7:
        return json.dumps(rng.choice([None, 1, "x", [], {"transaction": rng.random()}])).encode()
    return b""


def fuzz_topics(home: str, rng: random.Random) -> str:
    return rng.choice(
        [
            f"sentinel/{home}/alert",
            f"sentinel/{home}/alert/{rng.choice(['x', 'ann-home-help-1', '%'])}/ack",
            f"sentinel/{home}/cmd/{rng.choice(['away', 'home', 'pause', 'status', 'nonsense'])}",
            f"sentinel/{home}/heartbeat",
            f"sentinel/{home}/availability",
        ]
    )


class Harness:
    """Everything running, and the record of what was done to it."""

    def __init__(self, tmp: Path, seed: int, broken: str) -> None:
        self.rng = random.Random(seed)
        self.tmp = tmp
        self.broker = Broker(tmp)
        self.broker.start()
        self.agent_proxy = Proxy(self.broker.port)
        self.notifier_proxy = Proxy(self.broker.port)
        self.ntfy = LocalNtfy(request_burst=1_000_000)  # as visitor-request-limit-exempt-hosts for the notifier
        env = {**os.environ, "SENTINEL_ACK_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
        if broken:
            env["CHAOS_BREAK"] = broken
        self.agents: dict[str, Process] = {}
        for home in HOMES:
            state = tmp / home
            state.mkdir()
            config = tmp / f"{home}.yaml"
            config.write_text(agent_yaml(home, self.agent_proxy.port, state))
            cmd = [sys.executable, str(ROOT / "benchmarks" / "_chaos_agent.py"), str(config)]
            self.agents[home] = Process(home, cmd, tmp / f"{home}.log", env)
        circle = tmp / "circle.yaml"
        circle.write_text(circle_yaml(self.ntfy.url, self.notifier_proxy.port, tmp / "notifier"))
        cmd = [sys.executable, "-m", "sentinel", "notify", "-c", str(circle)]
        self.notifier = Process("notifier", cmd, tmp / "notifier.log", env)
        self.fuzzer = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="chaos-fuzzer")
        self.fuzzer.connect("127.0.0.1", self.broker.port)
        self.fuzzer.reconnect_delay_set(0.1, 1)
        self.fuzzer.loop_start()
        self.counts: dict[str, int] = {}
        self.retained: set[str] = set()
        for process in [*self.agents.values(), self.notifier]:
            process.start()

    def processes(self) -> list[Process]:
        return [*self.agents.values(), self.notifier]

    def act(self) -> None:
        """One random thing happens."""
        rng = self.rng
        what = rng.choices(
            ["press", "kill-agent", "kill-notifier", "broker", "cut", "slow", "ntfy", "fuzz"],
            [8, 2, 2, 1, 2, 1, 2, 6],
        )[0]
        self.counts[what] = self.counts.get(what, 0) + 1
        if what == "press":
            self.agents[rng.choice(HOMES)].send("help")
        elif what == "kill-agent":
            agent = self.agents[rng.choice(HOMES)]
            agent.kill()
            time.sleep(rng.uniform(0, 3))
            agent.start()
        elif what == "kill-notifier":
            self.notifier.kill()
            time.sleep(rng.uniform(0, 3))
            self.notifier.start()
        elif what == "broker":
            self.broker.restart()
        elif what == "cut":
            rng.choice([self.agent_proxy, self.notifier_proxy]).cut(rng.uniform(1, 15))
        elif what == "slow":
            proxy = rng.choice([self.agent_proxy, self.notifier_proxy])
            proxy.delay = rng.choice([0.0, 0.05, 0.3])
        elif what == "ntfy":
            self.ntfy.failures.extend(rng.choice([[429], [500, 500], [-3.0], [503]]))
        else:
            home = rng.choice(HOMES)
            for _ in range(rng.randrange(1, 20)):
                self.publish(fuzz_topics(home, rng), hostile(rng), retain=rng.random() < 0.05)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        if retain:
            self.retained.add(topic)
        with contextlib.suppress(ValueError):  # paho refuses some payloads itself (over 256 MB): not a case here
            self.fuzzer.publish(topic, payload, qos=rng_qos(self.rng), retain=retain)

    def calm(self) -> None:
        """Stop the chaos: network whole, ntfy answering, retained junk cleared."""
        for proxy in (self.agent_proxy, self.notifier_proxy):
            proxy.delay = 0.0
            proxy.mend()  # a cut of up to 15 s begun just before would otherwise outlast the chaos
        self.ntfy.failures.clear()
        for topic in self.retained:
            self.fuzzer.publish(topic, b"", qos=1, retain=True)

    def close(self) -> None:
        for process in self.processes():
            process.stop()
        self.fuzzer.loop_stop()
        self.broker.stop()
        self.ntfy.close()


def rng_qos(rng: random.Random) -> int:
    return rng.choice([0, 1, 1])


def run(seconds: float, seed: int, fuzz: int, broken: str) -> int:
    with tempfile.TemporaryDirectory(prefix="sentinel-chaos-") as tmp_name:
        tmp = Path(tmp_name)
        h = Harness(tmp, seed, broken)
        started = time.monotonic()
        try:
            time.sleep(3)
            if fuzz:
                for home in HOMES:
                    for topic in {fuzz_topics(home, random.Random(i)) for i in range(50)}:
                        for _ in range(fuzz):
                            h.publish(topic, hostile(h.rng))
                        h.counts[topic] = fuzz
            else:
                while time.monotonic() - started < seconds:
                    h.act()
                    for process in h.processes():
                        process.alive()
                    time.sleep(h.rng.uniform(0.1, 1.5))
            h.calm()
            wait_for(lambda: all(p.alive() for p in h.processes()), 30, "every process")
            # A last press at each home: every agent must still get help through.
            before = {home: accepted(tmp / home) for home in HOMES}
            for agent in h.agents.values():
                agent.send("help")
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: all(accepted(tmp / home) - before[home] for home in HOMES), 60, "the last presses")
            deaf = [home for home in HOMES if not accepted(tmp / home) - before[home]]
            promised = set().union(*(accepted(tmp / home) for home in HOMES))
            deadline = time.monotonic() + SETTLE_S
            while time.monotonic() < deadline and not promised <= set(pushes(h.ntfy)):
                for process in h.processes():
                    process.alive()
                time.sleep(1)
            for process in h.processes():
                process.alive()
            got = pushes(h.ntfy)
            lost = sorted(promised - set(got))
            twice = {
                alert_id: len(notes) - len({n["title"].startswith("URGENT") for n in notes})
                for alert_id, notes in got.items()
            }
            duplicated = sum(n for n in twice.values() if n > 0)
            crashes = [c for p in h.processes() for c in p.crashes]
            if deaf or crashes or lost:
                for process in h.processes():
                    tail = "".join(process.log.read_text(errors="replace").splitlines(True)[-12:])
                    print(f"--- {process.name}: the end of its log\n{tail}")
        finally:
            h.close()
        rows: list[list[object]] = [
            ["chaos time", f"{seconds:.0f} s" if not fuzz else f"fuzz: {fuzz} payloads per topic"],
            ["actions", ", ".join(f"{k} {v}" for k, v in sorted(h.counts.items()) if "/" not in k) or "-"],
            ["alerts accepted by the agents", len(promised)],
            ["lost (accepted, never pushed)", len(lost)],
            ["pushes of one step more than once", duplicated],
            ["crashes (deaths the harness did not cause)", len(crashes)],
            ["agents whose last help press did not get through", len(deaf)],
            ["SIGKILLs: agents / notifier", f"{sum(a.kills for a in h.agents.values())} / {h.notifier.kills}"],
            [
                "peak RSS agent / notifier",
                f"{max(a.peak_kb for a in h.agents.values()) / 1024:.1f} / {h.notifier.peak_kb / 1024:.1f} MB",
            ],
        ]
        print(table(["measure", "value"], rows))
        for line, times in Counter(crashes).items():
            print(f"crash: {line}" + (f" ({times} times)" if times > 1 else ""))
        for process in h.processes():
            for text in process.crash_logs[:3]:
                print(text)
        if lost:
            print(f"lost: {', '.join(lost[:10])}")
        ok = not lost and not crashes and not duplicated and not deaf
        print(
            f"chaos: accepted={len(promised)} lost={len(lost)} duplicated={duplicated} crashes={len(crashes)}"
            f" deaf={len(deaf)} kills={sum(a.kills for a in h.agents.values()) + h.notifier.kills}"
        )
        print("chaos OK" if ok else "chaos FAILED")
        return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1800.0, help="how long the chaos lasts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fuzz", type=int, default=0, help="publish this many hostile payloads per topic instead")
    parser.add_argument("--break", dest="broken", choices=["outbox"], default="", help="switch a safeguard off")
    args = parser.parse_args()
    sys.exit(run(args.seconds, args.seed, args.fuzz, args.broken))


if __name__ == "__main__":
    main()
