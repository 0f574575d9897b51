"""A message sent to oneself now and then, so that a broker that has stopped passing messages on is found and left.

Mosquitto 2.0 drops a QoS 1 message too large for a client (the MQTT 5 Maximum Packet Size the client asked for)
without freeing its place among the client's 20 messages in flight. After 20 such messages, which anyone who may
publish on a followed topic can send, nothing at QoS 1 reaches the client again, though the connection stays up
and its keepalive pings pass: a call for help would go unheard. A new connection clears it. So each program
publishes a probe at QoS 1 on a topic it follows, and when one does not come back in time (while one has before),
it drops the connection, and paho connects again as after any loss.
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


class Probe:
    """When the next probe is due, the one on its way, and whether the broker has ever passed one back.

    Times are monotonic seconds. Until one probe has come back (a broker whose access rules forbid the topic never
    passes it on), none not coming back is taken for a fault.
    """

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.works = False  # a probe has come back: the broker passes the topic on
        self.dropped = False  # the connection was dropped for a late probe, and is not back yet
        self._out: tuple[bytes, float] | None = None  # the probe on its way, and when it went
        self._next = 0.0

    def connected(self) -> None:
        """A new connection (paho's thread): nothing is on its way, and the first probe goes at once."""
        self._out, self._next, self.dropped = None, 0.0, False

    def heard(self, payload: bytes) -> None:
        """A probe came back (paho's thread); an older one, or another program's, is ignored."""
        if self._out is not None and payload == self._out[0]:
            self._out, self.works = None, True

    def check(self, client: mqtt.Client, now: float) -> None:
        """While connected: publish the probe when due; with one late, drop the connection (once)."""
        if self.dropped:
            return
        if self.deaf(now):
            log.warning(
                "the broker has passed on nothing of ours for %.0f s though connected (Mosquitto stalls a client"
                " sent too large messages): connecting again",
                LATE_S,
            )
            self.dropped = True
            drop(client)
        elif (payload := self.due(now)) is not None:
            client.publish(self.topic, payload, qos=1)

    def due(self, now: float) -> bytes | None:
        """The payload of a probe to publish now, or None."""
        if self._out is not None or now < self._next:
            return None
        payload = os.urandom(8).hex().encode()
        self._out, self._next = (payload, now), now + EVERY_S
        return payload

    def deaf(self, now: float) -> bool:
        """Whether the probe on its way is late, while probes have come back before."""
        return self.works and self._out is not None and now - self._out[1] > LATE_S


def drop(client: mqtt.Client) -> None:
    """Close the connection under paho, which then connects again as after any loss."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
