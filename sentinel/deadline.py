"""A whole HTTP request within its time (to ntfy, to InfluxDB): a client's timeouts are per read, never a total.

A server (or a proxy, or a captive portal) that sends one byte a second never trips a read timeout, and
would hold a publish, and the alerts behind it, for as long as it likes. When the time is up, the
request's connection is shut down: the read or write waiting on it ends at once, with an error.

Name resolution (DNS) comes before the connection, in the system's resolver, and nothing can end it: with
an unanswering name server glibc waits 5 s a try, twice, for each server and each search domain. So the
request runs in a thread of its own, and the caller stops waiting for it when the time is up; a connection
it opens after that is shut as soon as it is made, before a byte of the request is written.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

# Once the time is up a cut connection ends its request at once; this allows for a busy machine's scheduling.
CUT_GRACE_S = 1.0


class Abandoned(Exception):
    """The request had not ended when its time was up: it is left to end on its own (``worker``)."""

    def __init__(self, worker: threading.Thread) -> None:
        super().__init__("the request had not ended in its time")
        self.worker = worker


class Deadline:
    """The time one request may take in all; pass ``trace`` as httpx's ``trace`` extension of that request."""

    def __init__(self, seconds: float, name: str = "request") -> None:
        self.seconds = seconds
        self.name = name  # its thread's, in a list of threads
        self.expired = False
        self.connected = False  # a connection was opened: the request may have reached the server
        self._over = False  # the caller has stopped waiting: whatever the request connects from now on is shut
        self._sockets: list[socket.socket] = []  # duplicates: TLS takes over the original socket object
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keeps a handle on each connection the request opens."""
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if self.expired or self._over:  # connected after the time ran out (a slow lookup): nothing written yet
                _shut(sock)
                return
            self.connected = True
            self._sockets.append(sock.dup())  # shutdown acts on the connection, whichever descriptor it goes through

    def run(self, call: Callable[[], T]) -> T:
        """``call``'s result, in a thread of its own; Abandoned if it has not ended once the time is up."""
        outcome: list[tuple[bool, Any]] = []

        def work() -> None:
            try:
                outcome.append((True, call()))
            except BaseException as exc:  # handed to the caller, whatever it is
                outcome.append((False, exc))

        worker = threading.Thread(target=work, name=self.name, daemon=True)
        worker.start()
        worker.join(self.seconds + CUT_GRACE_S)
        if worker.is_alive():
            raise Abandoned(worker)  # still looking up the name: a connection cut at the deadline ends at once
        done, value = outcome[0]
        if not done:
            raise value
        return value

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for handle in self._sockets:
                _shut(handle)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._timer.cancel()
        with self._lock:
            self._over = True  # a timer running late must not let a request given up connect and send
            for handle in self._sockets:
                handle.close()
            self._sockets.clear()


def _shut(handle: socket.socket) -> None:
    """Shut a connection down both ways: a read or write blocked on it in another thread returns at once."""
    with contextlib.suppress(OSError):
        handle.shutdown(socket.SHUT_RDWR)
