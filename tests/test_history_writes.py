"""The history's writes against a wrong address, a proxy's refusal, a trickling server and a name server that hangs."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from http_stub import StubServer
from test_history import T0, Hung

from conftest import VictoriaMetrics, wait_for
from sentinel.agent import history_writer
from sentinel.agent.history import History
from sentinel.agent.lineprotocol import line
from sentinel.clock import ManualClock
from sentinel.config.model import HistoryConfig
from sentinel.config.schema import Seconds
from sentinel.core.status import Flip
from sentinel.deadline import CUT_GRACE_S
from sentinel.store import Store


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Try again within a fraction of a second, not after up to 5 minutes."""
    monkeypatch.setattr(history_writer, "RETRY_FIRST", 0.05)
    monkeypatch.setattr(history_writer, "RETRY_MAX", 0.2)


def make(tmp_path: Path, url: str, timeout: float = 5) -> tuple[History, Store]:
    store = Store(tmp_path / "a.db")
    config = HistoryConfig(enabled=True, url=url, timeout=Seconds(timeout))
    return History(config, store, "hist-w", {"hall_pir": "hall"}, ManualClock(T0), 90), store


def points(n: int) -> list[tuple[str, int]]:
    return [line("sentinel_status", {"home": "hist-w"}, {"code": 0}, T0 + timedelta(minutes=i)) for i in range(n)]


def answering(code: int, kind: str, body: bytes) -> StubServer:
    """A server that answers every write with ``code``, ``kind`` and ``body`` (a proxy, or a database refusing all)."""
    return StubServer(lambda path, sent: (code, kind, body))


def test_a_path_in_the_address_keeps_the_points_and_says_so(
    tmp_path: Path, victoria: VictoriaMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sentinel.agent.history_writer")
    writer, store = make(tmp_path, victoria.url + "/api/v2/write")  # VictoriaMetrics: 400, "unsupported path"
    writer.start(T0)
    try:
        writer.status(Flip("starting", "ok", "the monitor started", T0))
        wait_for(lambda: writer.failures >= 3, 20, "the write to fail, and be tried again")
        assert writer.written == 0 and writer.refused == 0
        assert "400" in str(writer.last_error) and "history.url" in str(writer.last_error)
        assert len(store.waiting_points(10)) == 1  # kept, not dropped
    finally:
        writer.close()
        store.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [errors[0]] and "has a path (/api/v2/write)" in errors[0]  # at start, naming it; nothing dropped
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "did not take the points" in warnings[0]  # once, not at every try


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("text/html", b"<html><body>400 Bad Request</body></html>"),  # a proxy's answer
        ("application/json", b'{"code":"invalid","message":"unable to parse"}'),  # every point refused, none taken
    ],
)
def test_a_server_that_refuses_everything_keeps_the_points(tmp_path: Path, kind: str, body: bytes) -> None:
    server = answering(400, kind, body)
    writer, store = make(tmp_path, server.url)
    store.add_points(points(5))
    writer.start(T0)
    try:
        wait_for(lambda: writer.failures >= 2, 20, "the writes to fail, and be tried again")
        assert writer.refused == 0 and writer.written == 0
        assert len(store.waiting_points(10)) == 5
        assert str(writer.last_error).startswith("400")
    finally:
        writer.close()
        store.close()
        server.close()


class Trickling(Hung):
    """A server that reads the request and answers one byte every 0.2 s, forever: no read ever times out."""

    def __init__(self) -> None:
        self.lasted: list[float] = []  # how long each connection stayed open
        super().__init__()

    def took(self, conn: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        start = time.monotonic()
        try:
            conn.recv(65536)
            for byte in b"HTTP/1.1 204 No Content\r\nX-Slow: " + b"a" * 10_000:
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            self.lasted.append(time.monotonic() - start)
        finally:
            conn.close()


def test_a_trickling_server_is_given_up_on_at_the_timeout(tmp_path: Path) -> None:
    server = Trickling()
    writer, store = make(tmp_path, server.url, timeout=1)
    writer.start(T0)
    try:
        writer.status(Flip("starting", "ok", "the monitor started", T0))
        wait_for(lambda: writer.failures >= 1, 10, "the write to be given up")
        assert "timed out" in str(writer.last_error)
        wait_for(lambda: server.lasted, 5, "the server to see the connection shut")
        assert server.lasted[0] < 1 + CUT_GRACE_S  # the whole request, not each read: shut at 1 s (+ a send)
        assert len(store.waiting_points(10)) == 1
    finally:
        writer.close()
        store.close()
        server.close()


@pytest.fixture
def stalled_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A name server that does not answer for history.invalid (until the test ends); the names asked."""
    real, answer, asked = socket.getaddrinfo, threading.Event(), []

    def lookup(host: object, *args: object, **kwargs: object) -> object:
        if host == "history.invalid":
            asked.append(str(host))
            answer.wait(60)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield asked
    answer.set()


def test_a_name_server_that_hangs_is_given_up_on_at_the_timeout(tmp_path: Path, stalled_dns: list[str]) -> None:
    writer, store = make(tmp_path, "http://history.invalid:8086", timeout=1)
    writer.start(T0)
    try:
        writer.status(Flip("starting", "ok", "the monitor started", T0))
        wait_for(lambda: writer.failures >= 1, 1 + CUT_GRACE_S + 2, "the write to be given up")
        assert "DNS" in str(writer.last_error) and "timed out" in str(writer.last_error)
        wait_for(lambda: writer.failures >= 3, 10, "more tries")
        assert stalled_dns == ["history.invalid"]  # one thread waits on the resolver, not one more at every try
        assert len(store.waiting_points(10)) == 1
    finally:
        writer.close()
        store.close()


def test_points_are_kept_in_the_file_while_a_write_hangs(tmp_path: Path) -> None:
    """A kill -9 while the database does not answer loses none of the points handed over meanwhile."""
    server = Hung()
    writer, store = make(tmp_path, server.url, timeout=60)
    writer.start(T0)
    try:
        writer.status(Flip("starting", "ok", "the monitor started", T0))
        wait_for(lambda: server.accepted and writer.sending, 10, "the write to hang")
        later = Flip("ok", "alert", "help", T0 + timedelta(minutes=5))
        writer.status(later)
        text = line("sentinel_status", {"home": "hist-w"}, {"code": 5}, later.at)[0]
        wait_for(lambda: text in [t for _, t in store.waiting_points(10)], 10, "the new point in the file")
        assert writer.sending and writer.written == 0  # the write still hangs
    finally:
        server.close()
        writer.close()
        store.close()
