"""Send the agent's outbox through the link and forget messages the broker acknowledged."""

from __future__ import annotations

from sentinel.agent.journal import Journal, Message
from sentinel.mqtt.link import MqttLink


class OutboxSender:
    """Tracks which messages paho holds, so each is handed over once per process."""

    def __init__(self, journal: Journal, link: MqttLink) -> None:
        self.journal = journal
        self.link = link
        self._inflight: dict[int, Message] = {}  # paho message id -> message

    def flush(self) -> None:
        """Hand every unacknowledged message not already with paho to it (paho re-sends after reconnects).

        The messages come from memory: they go out even when the database cannot be written.
        """
        if not self.link.connected:
            return
        held = {id(m) for m in self._inflight.values()}
        for message in list(self.journal.outbox):
            if id(message) in held:
                continue
            mid = self.link.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)
            if mid is not None:
                self._inflight[mid] = message

    def acked(self, mid: int) -> None:
        """The broker acknowledged message ``mid``: it is delivered."""
        message = self._inflight.pop(mid, None)
        if message is not None:
            self.journal.delivered(message)
