"""Send the store's outbox through the link and delete rows the broker acknowledged."""

from __future__ import annotations

from sentinel.mqtt.link import MqttLink
from sentinel.store import Store


class OutboxSender:
    """Tracks which outbox rows paho holds, so each is handed over once per process."""

    def __init__(self, store: Store, link: MqttLink) -> None:
        self.store = store
        self.link = link
        self._inflight: dict[int, int] = {}  # paho message id -> outbox row

    def flush(self) -> None:
        """Hand every unacknowledged row not already with paho to it (paho re-sends after reconnects)."""
        if not self.link.connected:
            return
        waiting = set(self._inflight.values())
        for item in self.store.pending():
            if item.id in waiting:
                continue
            mid = self.link.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)
            if mid is not None:
                self._inflight[mid] = item.id

    def acked(self, mid: int) -> None:
        """The broker acknowledged message ``mid``: its row is delivered."""
        row = self._inflight.pop(mid, None)
        if row is not None:
            self.store.delivered(row)
