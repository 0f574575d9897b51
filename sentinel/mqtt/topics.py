"""The topic tree under ``<base_topic>/<home>/`` (see docs/mqtt.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic one home uses."""

    root: str

    @classmethod
    def for_home(cls, base_topic: str, home: str) -> Topics:
        return cls(f"{base_topic}/{home}")

    @property
    def availability(self) -> str:
        return f"{self.root}/availability"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def heartbeat(self) -> str:
        return f"{self.root}/heartbeat"

    @property
    def alert(self) -> str:
        return f"{self.root}/alert"

    @property
    def notice(self) -> str:
        """Kit faults for the keepers (a sensor gone silent): not alerts, nobody is woken."""
        return f"{self.root}/notice"

    def sensor(self, name: str) -> str:
        return f"{self.root}/sensor/{name}"

    def ack(self, alert_id: str) -> str:
        return f"{self.root}/alert/{alert_id}/ack"

    @property
    def acks(self) -> str:
        return f"{self.root}/alert/+/ack"

    @property
    def commands(self) -> str:
        return f"{self.root}/cmd/+"

    def reply(self, verb: str) -> str:
        return f"{self.root}/cmd/{verb}/reply"

    def _parts(self, topic: str) -> list[str]:
        """The levels below this home's root; empty for another home's topic."""
        prefix = self.root + "/"
        return topic[len(prefix) :].split("/") if topic.startswith(prefix) else []

    def parse_ack(self, topic: str) -> str | None:
        """The alert id of an ack topic, or None."""
        parts = self._parts(topic)
        if len(parts) == 3 and parts[0] == "alert" and parts[2] == "ack" and parts[1]:
            return parts[1]
        return None

    def parse_command(self, topic: str) -> str | None:
        """The verb of a command topic, or None."""
        parts = self._parts(topic)
        if len(parts) == 2 and parts[0] == "cmd" and parts[1]:
            return parts[1]
        return None
