"""History for Grafana, against a real VictoriaMetrics: what arrives, outages, a hung server, and no import when off."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from http_stub import StubServer
from test_agent import PIR_PIN, Home

from conftest import ROOT, Mosquitto, VictoriaMetrics, agent_yaml, wait_for
from sentinel.agent import history_writer
from sentinel.agent.app import Agent
from sentinel.agent.history import KIT, MEASUREMENTS, STATES, History
from sentinel.agent.lineprotocol import epoch_ms, line
from sentinel.clock import ManualClock
from sentinel.config import ConfigError, parse_config
from sentinel.config.model import HistoryConfig
from sentinel.config.schema import Seconds
from sentinel.core.alerts import Alert
from sentinel.core.events import Event
from sentinel.core.status import Flip
from sentinel.store import Store

T0 = datetime(2026, 3, 2, 9, 10, tzinfo=UTC)
DOOR_PIN = 27
SERIES = {f"{measurement}_{field}" for measurement, fields in MEASUREMENTS.items() for field in fields}
"""VictoriaMetrics names a point ``m,tags f=1i`` the series ``m_f``."""


def history_yaml(port: int, name: str, url: str, timeout: str = "5s") -> str:
    """The tests' agent, with the button in a room whose name needs escaping, and history on."""
    base = agent_yaml(port, home=name).replace("room: lounge", "room: living room")
    return base + f"history: {{enabled: true, url: '{url}', timeout: {timeout}}}\n"


def history_home(tmp_path: Path, port: int, name: str, url: str, timeout: str = "5s") -> Home:
    h = Home(tmp_path, port, clock=ManualClock(T0), home=name)
    h.agent.close()  # made with the default config; replaced by one with history
    h.config = parse_config(history_yaml(port, name, url, timeout))
    h.agent = Agent(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    return h


def series(server: VictoriaMetrics, home: str) -> dict[tuple[str, frozenset[tuple[str, str]]], list[tuple[int, float]]]:
    """Every sample of one home: (name, labels) -> [(ms, value)] in time order."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], list[tuple[int, float]]] = {}
    for row in server.export(f'{{home="{home}"}}'):
        labels = dict(row["metric"])
        name = labels.pop("__name__")
        found[(name, frozenset(labels.items()))] = sorted(zip(row["timestamps"], row["values"], strict=True))
    return found


def one(found: dict, name: str, **labels: str) -> list[tuple[int, float]]:
    """The samples of the one series called ``name`` whose labels include ``labels``."""
    matches = [v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls]
    assert len(matches) == 1, f"{name} {labels}: {len(matches)} series in {sorted(found)}"
    return matches[0]


def alert_rows(store_path: Path) -> list[tuple[str, str, str, str, str | None]]:
    with sqlite3.connect(store_path) as db:
        return db.execute(
            "SELECT alert_id, kind, severity, raised_at, closed_at FROM alerts ORDER BY raised_at"
        ).fetchall()


def ms(text: str) -> int:
    return epoch_ms(datetime.fromisoformat(text))


def written(h: Home) -> None:
    """Pump the agent until its history has sent everything (the writer works on its own thread)."""
    assert h.agent.history is not None
    h.pump_until(lambda: h.agent.history.pending() == 0 and not h.agent.history.sending, "the points to be written")


class Hung:
    """A server that accepts connections and never answers them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.took(conn)

    def took(self, conn: socket.socket) -> None:
        """What is done with a connection once accepted: nothing (a server may answer on its own thread)."""

    @property
    def accepted(self) -> int:
        return len(self.conns)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def hung() -> Iterator[Hung]:
    server = Hung()
    yield server
    server.close()


def refusing(upstream: str, most: int) -> StubServer:
    """In front of the real database: refuses a batch with a poisoned point (400) or more than ``most`` points (413).

    What it lets through goes on to VictoriaMetrics and its answer comes back, as from an InfluxDB that refuses.
    """

    def answer(path: str, body: bytes) -> tuple[int, str, bytes]:
        if b"poison" in body:
            return 400, "application/json", b'{"code":"invalid","message":"unable to parse the point"}'
        if len(body.splitlines()) > most:
            return 413, "application/json", b'{"code":"request too large","message":"too many points"}'
        sent = httpx.post(upstream + path, content=body, headers={"Content-Type": "text/plain"}, timeout=10)
        return sent.status_code, "application/json", sent.content

    return StubServer(answer)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Try again within a fraction of a second, not after up to 5 minutes."""
    monkeypatch.setattr(history_writer, "RETRY_FIRST", 0.05)
    monkeypatch.setattr(history_writer, "RETRY_MAX", 0.2)


def test_points_arrive_with_their_names_tags_values_and_times(
    tmp_path: Path, broker: Mosquitto, victoria: VictoriaMetrics
) -> None:
    h = history_home(tmp_path, broker.port, "hist-arrive", victoria.url)
    h.start(threaded=False)
    try:
        h.pin(PIR_PIN).drive_high()  # the hall PIR: one sign of life (its end is not one)
        h.wait(1)
        h.pin(PIR_PIN).drive_low()
        h.wait(31)
        h.pin(DOOR_PIN).drive_low()  # the front door (hall) opened and shut: two
        h.wait(1)
        h.pin(DOOR_PIN).drive_high()
        h.wait(1)
        h.press(0.6)  # help (living room: pressed and released, twice)
        h.wait(5)
        h.press(0.1)  # "I'm OK" closes it
        h.wait(5)
        h.pump_until(lambda: h.store.pending() == [], "the broker to take the alert and its close")
        activity = Counter(e.room for e in h.stored() if e.is_activity)
        assert activity == {"hall": 3, "living room": 4}

        h.clock.advance_to(T0.replace(minute=0) + timedelta(hours=1, seconds=30))  # 10:00:30: the hour is over
        h.agent.pump()
        written(h)
        found = series(victoria, "hist-arrive")
    finally:
        h.stop()

    assert {name for name, _ in found} == SERIES
    # Nothing but these labels: no sensor, no reason, no name.
    assert set().union(*(dict(labels) for _, labels in found)) <= {"home", "room", "alert", "kind", "severity"}

    hour9, hour10 = epoch_ms(T0.replace(minute=0)), epoch_ms(T0.replace(minute=0) + timedelta(hours=1))
    flips = [(epoch_ms(at), float(STATES[new])) for at, new in Store(tmp_path / "agent.db", read_only=True).flips()]
    assert [new for _, new in flips] == [STATES[s] for s in ("learning", "alert", "learning")]
    assert one(found, "sentinel_status_code") == [*flips, (hour10, float(STATES["learning"]))]

    ((alert_id, kind, severity, raised_at, closed_at),) = alert_rows(tmp_path / "agent.db")
    assert closed_at is not None
    tags = {"alert": alert_id, "kind": "help", "severity": "critical"}
    assert (kind, severity) == ("help", "critical")
    assert one(found, "sentinel_alert_raised", **tags) == [(ms(raised_at), 1.0)]
    assert one(found, "sentinel_alert_closed", **tags) == [(ms(closed_at), 1.0)]
    open_s = (datetime.fromisoformat(closed_at) - datetime.fromisoformat(raised_at)).total_seconds()
    assert one(found, "sentinel_alert_open_s", **tags) == [(ms(closed_at), pytest.approx(open_s))]

    assert one(found, "sentinel_activity_count", room="hall") == [(hour9, 3.0)]
    assert one(found, "sentinel_activity_count", room="living room") == [(hour9, 4.0)]

    assert one(found, "sentinel_kit_uptime_s") == [(hour10, 50 * 60 + 30.0)]  # started at 09:10, measured at 10:00:30
    assert one(found, "sentinel_kit_storage_ok") == [(hour10, 1.0)]
    assert one(found, "sentinel_kit_outbox") == [(hour10, 0.0)]
    assert one(found, "sentinel_kit_heartbeat_seq") == [(hour10, float(h.agent.heartbeats))]
    assert one(found, "sentinel_kit_sensors_silent") == [(hour10, 0.0)]
    assert one(found, "sentinel_kit_kit_faults") == [(hour10, 0.0)]
    assert set(h.agent._health()) == set(KIT)  # every number the agent gives is written, and nothing else
    assert h.agent.heartbeats >= 2


def test_points_wait_in_sqlite_while_the_database_is_down_and_arrive_once(
    tmp_path: Path, broker: Mosquitto, own_victoria, quick_retries: None
) -> None:
    server: VictoriaMetrics = own_victoria()
    server.start()
    h = history_home(tmp_path, broker.port, "hist-outage", server.url)
    h.start(threaded=False)
    assert h.agent.history is not None
    try:
        written(h)  # the first status is in
        server.stop()
        h.press(0.6)
        h.wait(5)
        h.press(0.1)
        h.wait(5)
        h.pump_until(lambda: h.agent.history.failures >= 2, "writes to fail, and be tried again")
        assert "Connection refused" in str(h.agent.history.last_error)
        assert len(h.store.waiting_points(100)) >= 4  # raised, closed, and the status twice: all kept in the file

        server.start()
        written(h)
        assert h.store.waiting_points(100) == []

        server.stop()  # down again, and the agent stops before it is back: the points wait for the next agent
        h.wait(1)
        h.agent.set_mode("away", "set to away by a test")
        h.pump_until(lambda: h.agent.history.failures >= 1, "a write to fail")
    finally:
        h.stop()
    assert len(Store(tmp_path / "agent.db").waiting_points(100)) >= 3  # away, and the hour's activity so far

    server.start()
    again = Home(tmp_path, broker.port, clock=ManualClock(T0 + timedelta(minutes=5)), home="hist-outage")
    again.agent.close()
    again.config = parse_config(history_yaml(broker.port, "hist-outage", server.url))
    again.agent = Agent(again.config, again.store, clock=again.clock, pin_factory=again.factory)
    again.start(threaded=False)
    try:
        written(again)
        found = series(server, "hist-outage")
        flips = [(epoch_ms(at), float(STATES[new])) for at, new in again.store.flips()]
    finally:
        again.stop()

    assert one(found, "sentinel_status_code") == flips  # every change, each once
    assert [new for _, new in flips][-1] == STATES["away"]
    for (name, labels), samples in found.items():
        times = [t for t, _ in samples]
        assert len(times) == len(set(times)), f"{name} {dict(labels)} arrived twice: {samples}"
    assert one(found, "sentinel_alert_raised") and one(found, "sentinel_alert_closed")
    assert one(found, "sentinel_activity_count", room="living room") == [(epoch_ms(T0.replace(minute=0)), 4.0)]


def test_a_hung_database_never_blocks_the_agent(tmp_path: Path, broker: Mosquitto, recorder, hung: Hung) -> None:
    h = history_home(tmp_path, broker.port, "hist-hung", hung.url, timeout="60s")
    h.start(threaded=False)
    assert h.agent.history is not None
    rec = recorder([h.topics.alert])
    try:
        wait_for(lambda: hung.accepted and h.agent.history.sending, 10, "the writer to wait on the hung server")
        beats, next_beat = h.agent.heartbeats, h.agent._next_heartbeat

        h.press(0.6)  # help, while the writer waits for an answer that never comes
        alert = rec.wait(h.topics.alert)
        assert alert["kind"] == "help" and h.agent.status == "alert"
        h.clock.advance(3600)  # an hour: a heartbeat, the hour's points
        h.agent.pump()

        assert h.agent.heartbeats > beats and h.agent._next_heartbeat > next_beat
        waiting = h.agent.history.pending()
        assert waiting >= 5  # status (x2), alert, the hour's activity (2 rooms), kit: kept, not sent
        assert h.agent.history.sending and h.agent.history.written == 0  # the request was hung all along
    finally:
        hung.close()  # the writer's request fails now, and the agent stops at once
        h.stop()
    assert len(Store(tmp_path / "agent.db").waiting_points(100)) >= waiting


def test_a_request_that_hangs_times_out_and_is_tried_again(tmp_path: Path, hung: Hung) -> None:
    store = Store(tmp_path / "a.db")
    config = HistoryConfig(enabled=True, url=hung.url, timeout=Seconds(1))
    writer = History(config, store, "hist-timeout", {"hall_pir": "hall"}, ManualClock(T0), 90)
    writer.start(T0)
    try:
        writer.status(Flip("starting", "ok", "the monitor started", T0))
        wait_for(lambda: hung.accepted >= 2, 20, "a second try after the first timed out")
        assert "timed out" in str(writer.last_error) and writer.failures >= 1
        assert [text for _, text in store.waiting_points(10)] == [
            f"sentinel_status,home=hist-timeout code=0i {epoch_ms(T0)}"
        ]
    finally:
        hung.close()
        writer.close()
        store.close()


def test_a_replay_overwrites_itself(tmp_path: Path, own_victoria) -> None:
    """Sent twice (as after a kill between the write and its record), a point is there once.

    VictoriaMetrics needs -dedup.minScrapeInterval=1ms for that (docs/grafana/README.md); InfluxDB always does it.
    """
    server: VictoriaMetrics = own_victoria("-dedup.minScrapeInterval=1ms")
    server.start()
    store = Store(tmp_path / "a.db")
    config = HistoryConfig(enabled=True, url=server.url)
    writer = History(config, store, "hist-replay", {"hall_pir": "hall"}, ManualClock(T0), 90)
    writer.start(T0)
    try:
        change = Flip("starting", "ok", "the monitor started", T0)
        writer.status(change)
        wait_for(lambda: writer.written == 1, 10, "the first write")
        store.add_points([line("sentinel_status", {"home": "hist-replay"}, {"code": 0}, T0)])  # waits again
        writer.status(change)  # and is handed over again
        # Twice or three times: the stored copy and the one handed over may each be sent, if the writer takes the
        # first before the second is stored (a unique line is only kept once while it waits). Either way, once.
        wait_for(lambda: writer.written >= 2 and writer.pending() == 0, 10, "the replay")
        found = series(server, "hist-replay")
    finally:
        writer.close()
        store.close()
    assert found == {("sentinel_status_code", frozenset({("home", "hist-replay")})): [(epoch_ms(T0), 0.0)]}


def test_a_refused_point_is_dropped_alone_and_a_large_batch_split(tmp_path: Path, victoria: VictoriaMetrics) -> None:
    proxy = refusing(victoria.url, most=4)
    store = Store(tmp_path / "a.db")
    tags = {"home": "hist-refused"}
    good = [line("sentinel_status", tags, {"code": 0}, T0 + timedelta(minutes=i)) for i in range(10)]
    poison = line("sentinel_status", {"home": "hist-refused", "poison": "1"}, {"code": 0}, T0)
    store.add_points([*good[:7], poison, *good[7:]])  # left by an earlier run, the poisoned one among them
    writer = History(HistoryConfig(enabled=True, url=proxy.url), store, "hist-refused", {}, ManualClock(T0), 90)
    writer.start(T0)
    try:
        wait_for(lambda: writer.pending() == 0 and writer.refused == 1, 20, "the good points written, the bad dropped")
        assert writer.written == 10 and writer.failures == 0
        assert 413 in proxy.answers and 400 in proxy.answers and writer._batch <= 4  # the server's size is kept

        writer.status(Flip("ok", "away", "set to away", T0 + timedelta(hours=1)))  # the queue still moves
        wait_for(lambda: writer.written == 11 and writer.pending() == 0, 20, "a later point")
        found = series(victoria, "hist-refused")
    finally:
        writer.close()
        store.close()
        proxy.close()
    assert found == {
        ("sentinel_status_code", frozenset({("home", "hist-refused")})): [
            *[(epoch_ms(T0 + timedelta(minutes=i)), 0.0) for i in range(10)],
            (epoch_ms(T0 + timedelta(hours=1)), float(STATES["away"])),
        ]
    }


def test_a_point_waits_once_and_is_escaped() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    text, stamp = line("sentinel_activity", {"room": "living room, back=1", "home": "h"}, {"count": 4}, at)
    assert text == r"sentinel_activity,home=h,room=living\ room\,\ back\=1 count=4i 1772442000000"
    assert stamp == 1772442000000


def test_an_agent_without_history_never_imports_the_client(
    tmp_path: Path, broker: Mosquitto, victoria: VictoriaMetrics
) -> None:
    script = """\
import sys
from pathlib import Path
from gpiozero.pins.mock import MockFactory
from sentinel.agent.app import Agent
from sentinel.config import parse_config
from sentinel.store import Store
from conftest import wait_for

agent = Agent(parse_config(Path(sys.argv[1]).read_text()), Store(Path(sys.argv[2])), pin_factory=MockFactory())
agent.start()
wait_for(lambda: (agent.pump(), agent.link.connected and agent.routine_ready)[1], 20, "the agent")
if agent.history is not None:
    wait_for(lambda: (agent.pump(), agent.history.written)[1], 20, "a point written")
agent.close()
heavy = ("influxdb_client", "reactivex")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m == "sentinel.agent.history"))
"""
    loaded = {}
    for name, text in [
        ("off", agent_yaml(broker.port, home="hist-off")),
        ("on", history_yaml(broker.port, "hist-on", victoria.url)),
    ]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        out = subprocess.run(
            [sys.executable, "-c", script, str(path), str(tmp_path / f"{name}.db")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT / "tests",
            check=True,
        )
        loaded[name] = eval(out.stdout.strip().splitlines()[-1])
    assert loaded["off"] == []
    assert "influxdb_client" in loaded["on"] and "sentinel.agent.history" in loaded["on"]  # the check can see it


def test_check_config_wants_an_address_and_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    base = agent_yaml(1883)
    monkeypatch.delenv("SENTINEL_TEST_HISTORY_TOKEN", raising=False)
    with pytest.raises(ConfigError) as caught:
        parse_config(base + "history:\n  enabled: true\n  token_env: SENTINEL_TEST_HISTORY_TOKEN\n", "a.yaml")
    lines = len(base.splitlines())
    assert caught.value.issues == [
        f"a.yaml:{lines + 2}: history.url: history is on: give the database's address",
        f"a.yaml:{lines + 3}: history.token_env: environment variable SENTINEL_TEST_HISTORY_TOKEN is not set",
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(base + "history:\n  url: nas.local:8086\n", "a.yaml")
    assert "history.url: 'nas.local:8086' is not an http:// or https:// address" in caught.value.issues[0]

    # The write API's own path (the client adds it), a token pasted where its variable's name goes, an empty one.
    monkeypatch.setenv("SENTINEL_TEST_HISTORY_TOKEN", "")
    monkeypatch.setenv("X", "a-token")
    for history, said in [
        ("{enabled: true, url: 'http://vm:8428/api/v2/write/', token_env: X}", "history.url: give the database's"),
        ("{enabled: true, url: 'http://vm:8428', token_env: 'Xy9-abc:def=='}", "history.token_env: give the name of"),
        ("{enabled: true, url: 'http://vm:8428', token_env: SENTINEL_TEST_HISTORY_TOKEN}", "TOKEN is empty"),
    ]:
        with pytest.raises(ConfigError) as caught:
            parse_config(base + f"history: {history}\n", "a.yaml")
        assert any(said in issue for issue in caught.value.issues), caught.value.issues
        assert not any("Xy9-abc" in issue for issue in caught.value.issues)  # a secret is never said back
    config = parse_config(base + "history: {enabled: true, url: 'https://host/influx/', token_env: X}\n")
    assert config.history.url is not None  # a path a proxy serves InfluxDB under is the carer's to give

    monkeypatch.setenv("SENTINEL_TEST_HISTORY_TOKEN", "secret")
    config = parse_config(
        base + "history: {enabled: true, url: 'http://nas.local:8086', token_env: SENTINEL_TEST_HISTORY_TOKEN}\n"
    )
    assert config.history.enabled and config.history.bucket == "sentinel"
    assert parse_config(base).history.enabled is False  # off unless asked


def test_check_config_says_to_install_the_extra(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(agent_yaml(1883) + "history: {enabled: true, url: 'http://nas.local:8086'}\n")
    code = (
        "import sys; sys.modules['influxdb_client'] = None; from sentinel.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "check-config", str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 2, result.stdout + result.stderr
    line = len(agent_yaml(1883).splitlines()) + 1
    assert (
        f"{path}:{line}: history.enabled: needs the history extra: sudo /opt/sentinel/bin/pip install"
        ' "$HOME/sentinel[history]"'
        in result.stdout + result.stderr
    )


DASHBOARDS = ROOT / "docs" / "grafana"
TAGS = {"home", "room", "alert", "kind", "severity"}
"""Every tag history.py writes."""


def dashboard(name: str) -> dict:
    board = json.loads((DASHBOARDS / name).read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["home"]["type"] == "query"
    titles = " ".join(p["title"].lower() for p in board["panels"])
    for subject in ("status", "alerts", "activity per room, per hour", "kit health"):
        assert subject in titles, f"{name}: no panel for {subject}"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", f"{name}: {panel['title']} has a fixed datasource"
    return board


def test_the_influxdb_dashboard_reads_only_what_history_writes() -> None:
    board = dashboard("sentinel.json")
    assert board["templating"]["list"][0]["query"] == "influxdb"
    queries = [t["query"] for p in board["panels"] for t in p["targets"]]
    queries.append(board["templating"]["list"][1]["query"])
    for query in queries:
        names = re.findall(r'FROM "([^"]+)"', query)
        assert len(names) == 1 and names[0] in MEASUREMENTS, query
        quoted = set(re.findall(r'"([^"]+)"', query)) - {names[0]}
        aliases = set(re.findall(r'AS "([^"]+)"', query))
        unknown = quoted - aliases - set(MEASUREMENTS[names[0]]) - TAGS
        assert not unknown, f"{query}: reads {unknown}, which history.py does not write"


def test_the_victoriametrics_dashboard_shows_what_history_wrote(tmp_path: Path, victoria: VictoriaMetrics) -> None:
    board = dashboard("sentinel-victoriametrics.json")
    assert board["templating"]["list"][0]["query"] == "prometheus"
    exprs = {p["title"]: [t["expr"] for t in p["targets"]] for p in board["panels"]}
    for expr in [e for es in exprs.values() for e in es]:
        assert set(re.findall(r"\b(sentinel_\w+)", expr)) <= SERIES, expr

    store = Store(tmp_path / "a.db")
    rooms = {"hall_pir": "hall", "kitchen_pir": "kitchen"}
    writer = History(HistoryConfig(enabled=True, url=victoria.url), store, "hist-board", rooms, ManualClock(T0), 90)
    writer.start(T0)
    try:
        writer.status(Flip("starting", "ok", "the monitor started", T0))
        for minute in (1, 2, 3):
            writer.activity(Event("hall_pir", "motion", 1, "hall", T0 + timedelta(minutes=minute), 0.0))
        writer.activity(Event("kitchen_pir", "motion", 1, "kitchen", T0 + timedelta(minutes=4), 0.0))
        alert = Alert("a1", "hist-board", "inactivity", "warning", T0 + timedelta(minutes=20), "quiet in the hall")
        writer.raised(alert)
        writer.status(Flip("ok", "alert", "quiet in the hall", alert.raised_at))
        writer.closed(alert, alert.raised_at + timedelta(minutes=12))
        writer.status(Flip("alert", "ok", "all OK", alert.raised_at + timedelta(minutes=12)))
        health = {"uptime_s": 3000, "storage_ok": 1, "outbox": 0, "heartbeat_seq": 50, "sensors_silent": 1}
        health["kit_faults"] = 0
        writer.tick(T0 + timedelta(hours=1), "ok", lambda: health)
        # 3 changes of status, raised, closed; at 10:00 the hour's activity in 2 rooms, the status and the kit
        wait_for(lambda: writer.written == 9 and writer.pending() == 0, 20, "the points to be written")
    finally:
        writer.close()
        store.close()

    hour10 = T0.replace(minute=0) + timedelta(hours=1)

    def query(expr: str, at: datetime = hour10) -> dict[str, float]:
        """What Grafana would draw at ``at`` (a bar of the activity: the hour that starts there): legend -> value."""
        expr = expr.replace("$home", "hist-board").replace("$__range", "1d")
        found = {}
        for r in victoria.query_range(expr, at.timestamp(), at.timestamp(), "1h"):
            legend = ",".join(f"{k}={v}" for k, v in sorted(r["metric"].items()) if k != "__name__")
            found[legend] = float(r["values"][-1][1])
        return found

    assert query(exprs["Status now"][0]) == {"home=hist-board": STATES["ok"]}
    hour9 = T0.replace(minute=0)
    assert query(exprs["Activity per room, per hour"][0], hour9) == {"room=hall": 3.0, "room=kitchen": 1.0}
    assert query(exprs["Status"][0], alert.raised_at + timedelta(minutes=5)) == {"home=hist-board": STATES["alert"]}
    assert query(exprs["Alerts per day"][0]) == {"kind=inactivity,severity=warning": 1.0}
    assert query(exprs["How long alerts stayed open"][0]) == {"kind=inactivity,severity=warning": 12.0}
    kit = [query(e) for e in exprs["Kit health"]]
    assert [next(iter(k.values())) for k in kit] == [1.0, 0.0, 1.0, 0.0]
    assert list(query(exprs["Hours since the monitor started"][0]).values()) == [pytest.approx(50 / 60)]
