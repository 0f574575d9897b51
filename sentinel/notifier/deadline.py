"""A whole request to ntfy within its time: httpx's timeouts are per read and per write, never a total.

A server (or a proxy, or a captive portal) that sends one byte a second never trips a read timeout, and
would hold a publish, and the alerts behind it, for as long as it likes. When the time is up, the
request's connection is shut down: the read or write waiting on it ends at once, with an error.

Name resolution (DNS) comes before the connection, in the system's resolver: nothing here can end it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any


class Deadline:
    """The time one request may take in all; pass ``trace`` as httpx's ``trace`` extension of that request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.connected = False  # a connection was opened: the request may have reached the server
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
        handle = sock.dup()  # shutdown acts on the connection, whichever descriptor it goes through
        with self._lock:
            self.connected = True
            self._sockets.append(handle)
            if self.expired:  # connected just as the time ran out
                _shut(handle)

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
            for handle in self._sockets:
                handle.close()
            self._sockets.clear()


def _shut(handle: socket.socket) -> None:
    """Shut a connection down both ways: a read or write blocked on it in another thread returns at once."""
    with contextlib.suppress(OSError):
        handle.shutdown(socket.SHUT_RDWR)
