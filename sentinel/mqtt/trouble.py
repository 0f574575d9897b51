"""Telling the installer why the broker cannot be reached, or keeps dropping: at once, then every few minutes.

What the link (``link.py``) says when things go wrong, in words an installer can act on, and never once a second.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable

from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger("sentinel.mqtt.link")  # the link's own words, under its name as before

REPEAT_WARNING = 300.0
"""While the broker stays unreachable for the same reason, warn again this often (seconds)."""

SHORT_LIVED, KICKED_IN_A_ROW = 10.0, 3
"""This many connections in a row closed within so many seconds of being accepted are taken over by another client
with the same client id: Mosquitto (2.0.11 at least) closes the old one without a reason, even with MQTT 5."""



def describe(exc: BaseException) -> str:
    """Why a connection attempt failed, in words an installer can act on."""
    if isinstance(exc, socket.gaierror):
        return f"the host name could not be resolved ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running, and on this port?)"
    # reason and verify_message are set by the ssl module's C code, not by every SSLError.
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
        return f"TLS failed: the broker's certificate was not accepted ({detail})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({getattr(exc, 'reason', None) or exc})"
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


class Failures:
    """Warn when the broker cannot be reached: at the first failure, on a new reason, then every few minutes."""

    def __init__(self, where: str, clock: Callable[[], float], repeat: float) -> None:
        self.where = where
        self.clock = clock
        self.repeat = repeat
        self.count = 0
        self._since: float | None = None
        self._reason = ""
        self._warned_at = 0.0

    def failed(self, reason: str) -> None:
        """One attempt failed for ``reason``."""
        now = self.clock()
        self.count += 1
        if self._since is None:
            self._since = now
            log.warning("cannot connect to the broker at %s: %s; retrying", self.where, reason)
        elif reason != self._reason or now - self._warned_at >= self.repeat:
            log.warning(
                "still cannot connect to the broker at %s after %d attempts over %s: %s; retrying",
                self.where,
                self.count,
                _minutes(now - self._since),
                reason,
            )
        else:
            log.debug("cannot connect to the broker at %s: %s", self.where, reason)
            return
        self._reason = reason
        self._warned_at = now

    def connected(self, quiet: bool = False) -> None:
        """The broker answered; say so if it had not before (``quiet``: at debug, as it keeps answering)."""
        if quiet and self._since is None:  # an outage (failed attempts) is always told over
            log.debug("connected to the broker at %s", self.where)
        elif self._since is not None:
            log.info(
                "connected to the broker at %s after %d failed attempts over %s",
                self.where,
                self.count,
                _minutes(self.clock() - self._since),
            )
        else:
            log.info("connected to the broker at %s", self.where)
        self.count = 0
        self._since = None
        self._reason = ""


class Takeovers:
    """Tell, not at every reconnect, that the connection keeps being closed just after the broker accepts it."""

    def __init__(
        self, client_id: str, clock: Callable[[], float], repeat: float = REPEAT_WARNING, notifier: bool = False
    ) -> None:
        self.client_id, self.clock, self.repeat = client_id, clock, repeat
        self.words = (NOTIFIER_TAKEN, NOTIFIER_KICKED) if notifier else (TAKEN, KICKED)
        self.since: float | None = None  # when the broker accepted the connection now up
        self.short = 0  # connections in a row closed soon after they were accepted
        self.told = False  # this episode is told: until a connection lasts, a loss is logged at debug only
        self._told_at = 0.0

    def lost(self, reason: ReasonCode) -> bool:
        """The connection accepted at ``since`` was lost for ``reason``; True once this episode is told."""
        now = self.clock()
        if self.since is not None and now - self.since >= SHORT_LIVED:
            self.short, self.told = 0, False  # it lasted: whatever came before is over
        self.short, self.since = self.short + 1, None
        taken = reason.value == 0x8E  # MQTT 5's "Session taken over" (a newer broker may say why)
        if (taken or self.short >= KICKED_IN_A_ROW) and (not self.told or now - self._told_at >= self.repeat):
            self.told, self._told_at = True, now  # said again every few minutes while it goes on, with the count
            why = f"the broker says: {reason}" if taken else f"closed {self.short} times in a row just after connecting"
            log.error(self.words[0] if taken else self.words[1], self.client_id, why)
        return self.told


TAKEN = (
    "another client with the same client id (%s) took over this connection (%s): is a second sentinel agent running"
    " with this home.id, from a config copied to another Pi or started by hand while the service runs? Stop it, or"
    " give it a home.id of its own; until then the two knock each other off the broker every second or so"
)
KICKED = (
    "the broker keeps closing this connection (client id %s) just after accepting it (%s): another client with the"
    " same client id may be taking it over (a second sentinel agent with this home.id, from a config copied to"
    " another Pi or started by hand while the service runs: stop it, or give it a home.id of its own), or the broker"
    " or the network keeps closing connections"
)

NOTIFIER_TAKEN = (
    "another client with the same client id (%s) took over this connection (%s): is a second notifier running with"
    " it, such as two started from one circle.yaml on one machine? Stop one, or give each an mqtt.client_id of its"
    " own; until then the two knock each other off the broker every second or so, and a monitor gone is told late"
)
NOTIFIER_KICKED = (
    "the broker keeps closing this connection (client id %s) just after accepting it (%s): another client with the"
    " same client id may be taking it over (a second notifier, such as two started from one circle.yaml on one"
    " machine: stop one, or give each an mqtt.client_id of its own), or the broker or the network keeps closing"
    " connections"
)


def _minutes(seconds: float) -> str:
    """'45 s', '2 min 31 s': an outage of 2 min 31 s is not said as 3 min."""
    whole = round(seconds)
    return f"{whole} s" if whole < 120 else f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
