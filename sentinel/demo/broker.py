"""A pure-Python MQTT 3.1.1 broker (amqtt) on loopback, for the demo only."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

from sentinel.errors import SentinelError

log = logging.getLogger(__name__)


class BrokerUnavailable(SentinelError, RuntimeError):
    """amqtt, the demo's own broker, is not installed (it is the `demo` extra, not needed on the Pi)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedBroker:
    """amqtt running on its own thread and event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="embedded-broker", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until it listens; BrokerUnavailable when amqtt is not installed."""
        try:
            import amqtt.broker  # noqa: F401  (checked here, where a missing extra can be named)
        except ImportError as exc:
            raise BrokerUnavailable(
                "the demo's own MQTT broker needs amqtt, which is not installed. Run the demo with"
                " scripts/demo.sh (it installs it), or install sentinel with its demo extra"
                " (pip install '.[demo]' in the source folder), or give --broker HOST:PORT of a broker you run."
            ) from exc
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(f"the embedded broker did not start: {self._error}")

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await broker.start()
        self._ready.set()
        await self._stop.wait()
        await broker.shutdown()
