"""A message sent to oneself now and then, so that a broker that has stopped passing messages on is found and left.

Mosquitto 2.0 drops a QoS 1 message too large for a client (the MQTT 5 Maximum Packet Size the client asked for)
without freeing its place among the client's 20 messages in flight. After 20 such messages, which anyone who may
publish on a followed topic can send, nothing at QoS 1 reaches the client again, though the connection stays up
and its keepalive pings pass: a call for help would go unheard. A new connection clears it. So each program
publishes a probe at QoS 1 on a topic it follows, and when one does not come back in time, it drops the
connection, and paho connects again as after any loss. Retained messages that large stall every new connection
again: the drops then come ever more rarely, and the log says how to stop them (the broker's max_packet_size).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

EVERY_S = 30.0  # how often a probe goes out
LATE_S = 30.0  # one not back within this long: the broker no longer passes messages on to us
MOST_S = 900.0  # dropped again and again for late probes: at most this long between drops
FIX = "set max_packet_size 1048576 in mosquitto.conf (docs/install.md)"


class Probe:
    """When the next probe is due, the one on its way, and whether the broker has passed one back.

    Times are monotonic seconds. A probe the broker refuses (MQTT 5 says "not authorized" when its access rules
    forbid the topic) turns the checks off: its absence would say nothing. Otherwise a late probe is always judged,
    also before any came back (a program back into a session already stalled), and never for good.
    """

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.works = False  # a probe has come back: the broker passes the topic on
        self.dropped = False  # the connection was dropped for a late probe, and is not back yet
        self.off = False  # the broker refused the probe: nothing is checked
        self.misses = 0  # connections dropped in a row for a late probe
        self.mid: int | None = None  # the message id of the probe on its way, to know the broker's answer to it
        self._out: tuple[bytes, float] | None = None  # the probe on its way, and when it went
        self._next = 0.0
        self._hold = 0.0  # no drop before this: dropped again and again, each wait twice the last

    def refused(self, mid: int) -> None:
        """The broker refused message ``mid`` (paho's thread): if it is the probe, its access rules forbid it."""
        if mid == self.mid and not self.off:
            self.off = True
            log.warning(
                "the broker refuses the probe on %s (its access rules): a broker that stops passing messages on"
                " will not be noticed; allow the topic (docs/mqtt.md)",
                self.topic,
            )

    def connected(self) -> None:
        """A new connection (paho's thread, before it subscribes): nothing is on its way; a probe goes at once."""
        self._out, self._next, self.dropped = None, 0.0, False

    def heard(self, payload: bytes) -> None:
        """A probe came back (paho's thread); an older one, or another program's, is ignored."""
        out = self._out
        if out is not None and payload == out[0]:
            self._out, self.works, self.misses, self._hold = None, True, 0, 0.0

    def check(self, client: mqtt.Client, now: float) -> None:
        """While connected: publish the probe when due; with one late, drop the connection (once)."""
        if self.dropped or self.off:
            return
        out = self._out
        if out is None:
            if now >= self._next:
                payload = os.urandom(8).hex().encode()
                self._out, self._next = (payload, now), now + EVERY_S
                self.mid = client.publish(self.topic, payload, qos=1).mid
            return
        if now - out[1] <= LATE_S or now < self._hold:
            return
        self.misses += 1
        self._hold = now + min(LATE_S * 2**self.misses, MOST_S)
        # Once, it may be messages too large for us; again and again, retained ones that come at every connection.
        level = logging.WARNING if self.misses == 1 else logging.ERROR
        log.log(
            level,
            "the broker has passed back no probe of ours for %.0f s though connected (Mosquitto stalls a client"
            " sent messages too large for it; or its access rules keep the probe's topic from us, over MQTT 3.1.1;"
            " %d time(s) in a row): connecting again; to stop it, %s, or allow the topic (docs/mqtt.md)",
            LATE_S,
            self.misses,
            FIX,
        )
        self.dropped = True
        drop(client)


def drop(client: mqtt.Client) -> None:
    """Close the connection under paho, which then connects again as after any loss."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
