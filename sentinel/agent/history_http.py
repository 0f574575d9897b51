"""One write to InfluxDB's v2 API within ``history.timeout`` in all, name lookup included, and what its answer means.

The client (influxdb-client, over urllib3) times out each connect and each read, never the whole request, and
the system's resolver is outside both: a server that trickles a byte a second, or a name server that does not
answer, would hold a write for as long as they like. So each write runs under a ``sentinel.deadline.Deadline``: in a
thread of its own, given up when the time is up, its connection shut then (or as soon as it is made, after a slow
lookup). Every write opens a fresh connection, so the one in use is always known; writes come a few an hour.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sentinel.config.model import HistoryConfig
from sentinel.deadline import Abandoned, Deadline

REFUSED = (400, 413, 422)
"""Answers that say the points themselves are refused (bad, or too many at once): the same request would be again."""

_current = threading.local()  # the Deadline of the write running on this thread


class WriteFailed(Exception):
    """A write that did not go through; ``status`` is the server's answer, if one came."""

    def __init__(self, message: str, status: int | None = None, about_points: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.about_points = about_points
        """The answer is InfluxDB's own error about the points (JSON), not a proxy's or a wrong address's."""


class _Stream:
    """What Deadline.trace expects of a connection (httpcore's stream): its socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


def _opened(sock: socket.socket) -> None:
    """A connection was made on this thread: its write's Deadline shuts it at the deadline (or now, if past)."""
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.trace("connection.connect_tcp.complete", {"return_value": _Stream(sock)})


def _pools() -> dict[str, Any]:
    """urllib3's connection pools, with connections that tell the write's Deadline of their socket."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Plain(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _opened(sock)
            return sock

    class Tls(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()  # before TLS wraps it: shutting this one ends the TLS connection too
            _opened(sock)
            return sock

    plain = type("HistoryPool", (HTTPConnectionPool,), {"ConnectionCls": Plain})
    tls = type("HistoryTlsPool", (HTTPSConnectionPool,), {"ConnectionCls": Tls})
    return {"http": plain, "https": tls}


def writer(config: HistoryConfig) -> Callable[[list[str]], None]:
    """A function that writes lines, or raises WriteFailed; imports the client (only an agent with history pays)."""
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    token = os.environ.get(config.token_env, "") if config.token_env else ""  # "": no Authorization header
    # retries=False: the writer's own backoff retries, from the points kept in SQLite.
    client = InfluxDBClient(
        url=str(config.url), token=token, org=config.org, timeout=int(config.timeout * 1000), retries=False
    )
    pools = client.api_client.rest_client.pool_manager
    pools.pool_classes_by_scheme = _pools()
    api = client.write_api(write_options=SYNCHRONOUS)
    precision: Any = WritePrecision.MS  # a str constant, typed as the class
    host = urlsplit(str(config.url)).hostname
    lookup: list[threading.Thread] = []  # a write given up while the name was being looked up

    def call(lines: list[str], deadline: Deadline) -> None:
        _current.deadline = deadline
        try:
            api.write(bucket=config.bucket, org=config.org, record=lines, write_precision=precision)
        finally:
            _current.deadline = None
            pools.clear()  # the next write opens its own connection, on its own thread, under its own deadline

    def write(lines: list[str]) -> None:
        if lookup and lookup[0].is_alive():  # one thread waiting on the resolver is enough
            raise WriteFailed(f"looking up the address of {host} (DNS) has not finished; check the name server")
        lookup.clear()
        deadline = Deadline(config.timeout, "history-request")
        try:
            with deadline:
                deadline.run(lambda: call(lines, deadline))
        except Abandoned as gone:
            if deadline.connected:
                raise WriteFailed(f"no answer within {config.timeout:g} s (timed out)") from None
            lookup.append(gone.worker)
            raise WriteFailed(
                f"cannot reach {host} within {config.timeout:g} s (timed out): looking up its address (DNS), or"
                " connecting after a slow lookup, did not finish; check the name server"
            ) from None
        except ApiException as exc:
            raise WriteFailed(f"{exc.status} {exc.reason or ''}".strip(), exc.status, _about_points(exc)) from exc
        except Exception as exc:
            if deadline.expired:
                raise WriteFailed(f"no answer in full within {config.timeout:g} s (timed out)") from exc
            raise WriteFailed(f"{type(exc).__name__}: {exc}") from exc

    return write


def _about_points(exc: Any) -> bool:
    """Whether a refusal is InfluxDB's JSON error (2: code and message; 3: error), not a proxy's or a wrong path's."""
    if exc.status not in REFUSED:
        return False
    try:
        answer = json.loads(exc.body or b"")
    except (ValueError, TypeError):
        return False
    return isinstance(answer, dict) and (("code" in answer and "message" in answer) or "error" in answer)
