"""Shared fixtures: a real Mosquitto on a free loopback port, MQTT recorders, configs."""

from __future__ import annotations

import ast
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long(seconds): takes about this long, mostly waiting; started first")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every worker's share of the tests begins with some of the long ones, so none waits behind another.

    ``--dist worksteal`` hands each of the n workers one run of consecutive tests, of near-equal sizes, and
    idle workers later take tests from the end of a busy one's run. The long tests are dealt out, longest
    first, to the run with the least long work so far, and each run starts with its own.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    seconds = {item: float(mark.args[0]) for item in items if (mark := item.get_closest_marker("long"))}
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for item in sorted(seconds, key=seconds.__getitem__, reverse=True):
        k = load.index(min(load))
        heads[k].append(item)
        load[k] += seconds[item]
    rest = iter(item for item in items if item not in seconds)  # otherwise as collected
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for k, head in enumerate(heads):
        size = remaining // (workers - k)  # as xdist's WorkStealingScheduling splits the collection
        remaining -= size
        ordered += head + list(itertools.islice(rest, max(0, size - len(head))))
    items[:] = ordered + list(rest)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if not found:
        # Never a skip: without a broker these tests would prove nothing.
        pytest.fail("mosquitto is not installed; run the tests with `bash scripts/test.sh`", pytrace=False)
    return found


class Mosquitto:
    """A real Mosquitto process on 127.0.0.1, started and stopped by the tests."""

    def __init__(self, workdir: Path, persistence: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.binary = mosquitto_binary()
        self.workdir = workdir
        self.port = free_port()
        self.persistence = persistence
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {workdir}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        lines.extend(extra)
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to 'mosquitto', who cannot write here
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=log, stderr=log)

        def listening() -> bool:
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_for(listening, 10, "mosquitto to listen")

    def stop(self) -> None:
        """A clean stop (SIGTERM): Mosquitto saves its persistence file."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One Mosquitto for the whole session."""
    server = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def flat(tmp_path: Path, broker: Mosquitto) -> Iterator[Callable[..., Any]]:
    """Makes a test_watch.Flat (a home on mock pins); it and each restart of it are closed when the test ends."""
    from test_watch import Flat  # here, not above: test_watch imports this module

    made: list[Flat] = []

    def make(checkin: bool = False, extra: str = "") -> Flat:
        return Flat(tmp_path, broker.port, checkin, extra, made=made)

    yield make
    for f in made:
        f.close()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto of the test's own, with persistence, that the test may stop and start."""
    server = Mosquitto(tmp_path / "broker", persistence=True)
    server.start()
    yield server
    server.stop()


class Recorder:
    """An MQTT client that records every message it receives."""

    def __init__(self, port: int, topics: list[str], client_id: str = "", clean: bool = True) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311
        )
        self.client.reconnect_delay_set(0.1, 0.5)
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.subscribed.wait(5), "recorder could not subscribe"

    def _message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append(message)

    def on(self, topic: str) -> list[Any]:
        """Payloads received on ``topic`` (JSON decoded where possible)."""
        with self._lock:
            found = [m.payload for m in self.messages if m.topic == topic]
        out = []
        for payload in found:
            try:
                out.append(json.loads(payload))
            except ValueError:
                out.append(payload.decode())
        return out

    def wait(self, topic: str, predicate: Callable[[Any], bool] = lambda _: True, timeout: float = 10.0) -> Any:
        """The first payload on ``topic`` matching ``predicate``."""
        return wait_for(
            lambda: next((p for p in self.on(topic) if predicate(p)), None), timeout, f"a message on {topic}"
        )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def recorder(broker: Mosquitto) -> Iterator[Callable[..., Recorder]]:
    made: list[Recorder] = []

    def make(topics: list[str], **kwargs: Any) -> Recorder:
        rec = Recorder(broker.port, topics, **kwargs)
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.close()


def agent_yaml(
    port: int,
    home: str = "testhome",
    extra_mqtt: str = "",
    state_dir: Path | None = None,
    protocol: str = "5",
    keepalive: str = "10s",
    heartbeat: str = "60s",
) -> str:
    """A small agent config on mock pins, for tests."""
    state = f"state_dir: {state_dir}\n" if state_dir else ""
    return f"""\
home:
  id: {home}
  name: Mary
gpio:
  pin_factory: mock
{state}mqtt:
  host: 127.0.0.1
  port: {port}
  protocol: "{protocol}"
  keepalive: {keepalive}
  heartbeat: {heartbeat}
{extra_mqtt}sensors:
  - name: hall_pir
    kind: motion
    pin: 17
    room: hall
    hold_time: 30s
  - name: front_door
    kind: door
    pin: 27
    room: hall
  - name: help_button
    kind: button
    pin: 22
    room: lounge
    long_press: 0.5s
    double_press: 0.3s
"""


def sentinel_cmd(*args: str) -> list[str]:
    """Run the CLI of this checkout with this interpreter."""
    return [sys.executable, "-m", "sentinel", *args]


def modules_loaded(script: str, *argv: str, stdin: str | None = None, timeout: float = 60) -> list[str]:
    """Run ``script`` (which prints a list of module names) in a fresh interpreter on this checkout; that list."""
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip())


@pytest.fixture
def circle(tmp_path: Path, broker: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Make notifiers pumped by hand (tests/circle_driver.py), closed at the end of the test."""
    from circle_driver import SECRET, Circle

    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    made: list[Circle] = []

    def make(**kwargs: Any) -> Circle:
        made.append(Circle(tmp_path / f"c{len(made)}", broker.port, **kwargs))
        return made[-1]

    yield make
    for c in reversed(made):
        c.close()


def victoria_binary() -> str:
    found = shutil.which("victoria-metrics") or (
        "/usr/bin/victoria-metrics" if os.path.exists("/usr/bin/victoria-metrics") else None
    )
    if not found:
        # Never a skip: without a real database the history tests would prove nothing.
        pytest.fail(
            "victoria-metrics is not installed; run the tests with `bash scripts/test.sh`"
            " (or: sudo apt-get install victoria-metrics)",
            pytrace=False,
        )
    return found


class VictoriaMetrics:
    """A real VictoriaMetrics on 127.0.0.1: it takes InfluxDB's line protocol at /api/v2/write (history tests).

    A point ``m,tag=v field=1i`` becomes the series ``m_field{tag="v"}``; org and bucket are ignored.
    """

    def __init__(self, workdir: Path, extra: tuple[str, ...] = ()) -> None:
        self.binary = victoria_binary()
        self.workdir = workdir
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "victoria-metrics.log"
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            "-retentionPeriod=100y",  # the tests' clocks are set to fixed dates, which must not be "too old"
            "-search.disableCache",  # a query sees what was written just before it
            "-search.latencyOffset=0s",
            *self.extra,
        ]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)

        def ready() -> bool:
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"victoria-metrics exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 20, "victoria-metrics to answer")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        self.proc = None

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every stored sample of the series ``match`` selects: [{"metric": labels, "values", "timestamps"}]."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10).raise_for_status()
        reply = httpx.post(f"{self.url}/api/v1/export", data={"match[]": match}, timeout=10)
        reply.raise_for_status()
        return [json.loads(row) for row in reply.text.splitlines() if row.strip()]

    def query_range(self, expr: str, start: float, end: float, step: str) -> list[dict[str, Any]]:
        """A PromQL/MetricsQL query as Grafana sends it: the result's series."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10).raise_for_status()
        reply = httpx.post(
            f"{self.url}/api/v1/query_range",
            data={"query": expr, "start": str(start), "end": str(end), "step": step},
            timeout=10,
        )
        assert reply.status_code == 200, f"{expr}: {reply.text}"
        return reply.json()["data"]["result"]


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics for the whole session (tests keep apart by home id)."""
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_victoria(tmp_path: Path) -> Iterator[Callable[..., VictoriaMetrics]]:
    """Make VictoriaMetrics of the test's own (not yet started), that it may stop and start (same port, same data)."""
    made: list[VictoriaMetrics] = []

    def make(*extra: str) -> VictoriaMetrics:
        made.append(VictoriaMetrics(tmp_path / f"victoria{len(made)}", extra))
        return made[-1]

    yield make
    for server in made:
        server.stop()


GATED_LEARNING = """\
import pathlib, runpy, sys, time
gate = pathlib.Path(sys.argv.pop(1))
while not gate.exists():  # held back, as a year of history on a Pi Zero holds it back for tens of seconds
    time.sleep(0.01)
runpy.run_module("sentinel.agent.learn_process", run_name="__main__", alter_sys=True)
"""


def gated_learning(gate: Path) -> list[str]:
    """The agent's learning process, held back until the file ``gate`` exists (its ``Learner.argv``)."""
    return [sys.executable, "-c", GATED_LEARNING, str(gate)]


ANSWER_GATED_LEARNING = """\
import contextlib, io, pathlib, runpy, sys, time
learned, gate = pathlib.Path(sys.argv.pop(1)), pathlib.Path(sys.argv.pop(1))
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    runpy.run_module("sentinel.agent.learn_process", run_name="__main__", alter_sys=True)
learned.touch()  # the stored history is read and learned from
while not gate.exists():  # the answer held back, as a slow Pi's would be
    time.sleep(0.01)
sys.stdout.write(out.getvalue())
"""


def answer_gated_learning(learned: Path, gate: Path) -> list[str]:
    """The learning process: it reads the store, says so (``learned``), and answers once ``gate`` exists."""
    return [sys.executable, "-c", ANSWER_GATED_LEARNING, str(learned), str(gate)]


@pytest.fixture
def london(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine's clock read in Europe/London, summer time and winter: the nights the clocks change."""
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
