"""Whether the listening neighbour has heard all that was said on the topics it follows, before the story goes on.

The homes' monitors and the notifier publish from their own network threads, and the
neighbour prints what it hears from its own: without waiting for it, a line from the
broker could come before or after a phone's line of the same second, depending on the
machine's load. The story counts what goes out on those topics (at each publishing
client, which is only watched, never changed) and waits until the neighbour has
heard it all before a phone is told anything or the clock moves on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt

from sentinel.errors import SentinelError

WAIT_S = 30.0  # real seconds a message may take to reach the neighbour


class Unheard(SentinelError, RuntimeError):
    """A message on a followed topic never reached the neighbour."""


class Overheard:
    """Messages published on the followed topics that the neighbour has not heard yet."""

    def __init__(self, follows: list[str]) -> None:
        self.follows = follows
        self._owed: Counter[tuple[str, bytes]] = Counter()
        self._lock = threading.Lock()

    def watch(self, client: mqtt.Client) -> None:
        """Count what ``client`` publishes on the followed topics (then publish it as it would)."""
        publish = client.publish

        def counted(topic: str, payload=None, qos: int = 0, retain: bool = False, properties=None):
            if any(mqtt.topic_matches_sub(sub, topic) for sub in self.follows):
                self._owe((topic, _bytes(payload)), 1)
            return publish(topic, payload, qos=qos, retain=retain, properties=properties)

        client.publish = counted  # type: ignore[method-assign]

    def heard(self, topic: str, payload: bytes) -> None:
        """The neighbour has taken in this message (a retained one from before the story is owed nothing)."""
        self._owe((topic, payload), -1)

    def _owe(self, key: tuple[str, bytes], count: int) -> None:
        with self._lock:
            self._owed[key] += count
            if self._owed[key] == 0:
                del self._owed[key]

    def caught_up(self) -> bool:
        with self._lock:
            return not any(n > 0 for n in self._owed.values())

    def wait(self) -> None:
        """Until the neighbour has heard everything published so far; Unheard if it never does."""
        deadline = time.monotonic() + WAIT_S
        while not self.caught_up():
            if time.monotonic() > deadline:
                raise Unheard(f"waited {WAIT_S:g} s for the neighbour to hear the broker")
            time.sleep(0.0005)


def _bytes(payload: str | bytes | bytearray | None) -> bytes:
    if payload is None:
        return b""
    return payload.encode() if isinstance(payload, str) else bytes(payload)
