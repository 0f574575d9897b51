"""MQTT in and out: commands and acks from outside, the status, heartbeats and sensor values the agent publishes."""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sentinel import __version__
from sentinel.agent.base import AgentBase, iso
from sentinel.agent.home import HERE
from sentinel.config import SensorConfig
from sentinel.core import protocol
from sentinel.logs import Throttle

if TYPE_CHECKING:
    from sentinel.agent.day import DayShare

log = logging.getLogger(__name__)


class Messages(AgentBase):
    """What the agent reads from its subscriptions and publishes about the home."""

    @functools.cached_property
    def _ha_back(self) -> Throttle:
        """How often Home Assistant's "online" is answered with the discovery configs."""
        return Throttle(most=1, every=10.0)

    @functools.cached_property
    def _junk(self) -> Throttle:
        """How often messages that are ignored are logged: a flood of them must not bury the log."""
        return Throttle()

    def _on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        from sentinel.agent import inbox  # at the first message, not on the way to going online

        try:
            message = inbox.parse(self.topics, topic, payload)
        except inbox.Malformed as exc:
            if (more := self._junk.allow()) is not None:
                log.warning("ignored a malformed message on %s: %s%s", topic, exc, more)
            return
        if message is not None and (retained or not payload):
            self._stale(topic, retained)
            return
        if message is None:
            ha = self.config.homeassistant
            if ha.enabled and topic == f"{ha.discovery_prefix}/status":
                # Home Assistant restarted: it wants the configs again (once in 10 s: they are retained anyway, and
                # a flood of "online" would otherwise queue thousands of them)
                if payload.strip() == b"online" and self._ha_back.allow() is not None:
                    self._announce_to_home_assistant()
                return
            for reading in self.zigbee.read(topic, payload, retained):
                self._zigbee(reading)
        elif isinstance(message, inbox.Answer):
            self._on_ack(message.alert_id, message.body)
        elif isinstance(message, inbox.Command):
            self._on_command(message.verb, message.body)

    def _stale(self, topic: str, retained: bool) -> None:
        """A command or an acknowledgement the broker kept, or the empty message that removes one: not obeyed.

        Neither is ever published retained; one left retained (``mosquitto_pub -r`` while testing) would be
        handed over again at every reconnect, and close an alert or set the mode each time. The empty message
        that clears it is not a command either.
        """
        if (more := self._junk.allow()) is None:
            return
        if retained:
            log.warning(
                "ignored a retained message on %s: commands and acknowledgements are never retained; remove it"
                " with: mosquitto_pub -r -n -t '%s'%s",
                topic,
                topic,
                more,
            )
        else:
            log.info(
                "ignored an empty message on %s (it removes a retained one; a command is a JSON object)%s", topic, more
            )

    def _on_ack(self, alert_id: str, body: dict[str, Any]) -> None:
        from sentinel.agent import inbox

        what, who = body.get("what"), inbox.text(body, "who", inbox.MAX_NAME)
        if body.get("source") == "notifier":  # any word of the notifier's on it: it has it (``receipts.py``)
            self.receipts.heard(alert_id, self.journal)
        if what == "claim" and who and self.journal.claim(alert_id, who):
            log.warning("alert %s: %s is going", alert_id, who)
            self._update_status(f"{who} is going")  # an alert closed here on movement meanwhile is open again
        elif what in ("resolve", "cancel") and who and who not in HERE:
            note = inbox.text(body, "note", inbox.MAX_NOTE) or f"{what}d by {who}"
            self.close_alert(alert_id, who, str(what), note, self.clock.now())

    def _on_command(self, verb: str, body: dict[str, Any]) -> None:
        from sentinel.agent import inbox

        decision, error = inbox.decide(verb, body)
        if isinstance(decision, inbox.SetMode):
            self.set_mode(decision.mode, decision.reason)
        elif isinstance(decision, inbox.SayStatus):
            self._publish_status()
        elif isinstance(decision, inbox.ResidentOk):
            self.resident_ok(decision.how, self.clock.now())
        elif (more := self._junk.allow()) is not None:
            log.warning("ignored a command: %s%s", error, more)
        reply = protocol.Reply("error" if error else "ok", _echoed(body.get("transaction")), error)
        # The transaction is echoed as sent, but a lone surrogate in it (JSON "\ud800") cannot be sent as UTF-8:
        # dropped, as ``text.clean`` drops it from a name. Cleaning it whole would also change a valid one's spaces.
        self.link.publish(self.topics.reply(verb), reply.to_json().encode("utf-8", "ignore"), qos=1)

    def _ha_topics(self) -> list[str]:
        ha = self.config.homeassistant
        return [f"{ha.discovery_prefix}/status"] if ha.enabled else []

    def _announce_to_home_assistant(self) -> None:
        """Home Assistant's discovery configs (retained): on connecting, and whenever it says it is back."""
        from sentinel.agent.homeassistant import discovery

        for topic, payload in discovery(self.config, self.topics):
            self.link.publish(topic, payload, qos=1, retain=True)

    def _on_connected(self) -> None:
        self.connections += 1
        self._next_heartbeat = self.clock.monotonic()  # tell watchers at once that we are back
        if self.config.homeassistant.enabled:
            self._announce_to_home_assistant()
        self._publish_status()
        if self.config.mqtt.publish_sensors:
            for name, logic in self.logic.items():
                self._publish_sensor(self.config.sensor(name), logic.value, None)
        self.outbox.flush()

    def status_payload(self) -> dict[str, Any]:
        """The retained status a neighbour's app shows."""
        checkin = self.journal.get_setting("last_checkin")
        return protocol.Status(
            state=self.status,
            since=iso(self.status_since),
            reason=self.status_reason,
            mode=self.mode,
            last_activity=iso(self.journal.last_activity),
            last_checkin=iso(datetime.fromisoformat(checkin)) if checkin else None,
            open_alerts=[a.alert_id for a in self.journal.open_alerts()],
            home=self.config.home.id,
            name=self.config.home.name,
            version=__version__,
            storage=self.journal.storage,
            up=self.day.up() if self.day is not None else None,
            out=self.day.out() if self.day is not None else None,
        ).body()

    def _new_day(self) -> DayShare | None:
        """Today's "up" and outings, rebuilt from the stored events; None unless the resident shares them."""
        if not self.config.home.share_day:
            return None
        from sentinel.agent.day import DayShare  # only a home that shares its day runs it

        return DayShare(self.store, self.clock.now())

    def _day_tick(self, wall: datetime) -> None:
        """Time passing for the day the circle is told of (with ``share_day``: a new day begins at 04:00), and for
        what the keepers are told once it has lasted (a monitor left away or paused, a Zigbee outage)."""
        if self.day is not None and self.day.tick(wall):
            self._publish_status()
        self._remind(wall)

    def _publish_status(self) -> None:
        payload = self.status_payload()  # reads the store: what storage says is known once it is read
        self.link.publish(self.topics.status, json.dumps(payload), qos=1, retain=True)
        self._storage_told = payload["storage"]  # told only once published: a failure here is told again

    def _publish_sensor(self, sensor: SensorConfig, value: int, at: datetime | None) -> None:
        body = protocol.SensorValue(value, sensor.kind, sensor.room, iso(at))
        self.link.publish(self.topics.sensor(sensor.name), body.to_json(), qos=0, retain=True)

    def _health(self) -> dict[str, int]:
        """The kit's health as the heartbeat tells it, in numbers (for the history)."""
        return {
            "uptime_s": round(self.clock.monotonic() - self._started),
            "storage_ok": int(self.journal.failing is None),
            "outbox": len(self.journal.outbox),
            "heartbeat_seq": self._heartbeat_seq,
            "sensors_silent": len(self.kit.told_silent),  # how many, never which: the keepers' notices name them
            "kit_faults": len(self.kit.faults),
        }

    def _heartbeat(self, now: float, wall: datetime) -> None:
        if not self.link.connected or not self.connections:
            # The first goes out when the loop takes the connection in (``_on_connected``): from the link's
            # flag alone, a second would follow at once and the minute's rhythm would depend on timing.
            return
        self._heartbeat_seq += 1
        body = protocol.Heartbeat(
            seq=self._heartbeat_seq,
            at=iso(wall),
            uptime_s=round(now - self._started),
            interval_s=self.config.mqtt.heartbeat,
            outbox=len(self.journal.outbox),
            storage=self.journal.storage,
        )
        self.link.publish(self.topics.heartbeat, body.to_json(), qos=0)


def _echoed(transaction: Any) -> Any:
    """A command's transaction as it can be sent back: as sent, but JSON has no NaN or Infinity (Python reads them)."""
    try:
        json.dumps(transaction, allow_nan=False)
    except ValueError:
        return str(transaction)
    return transaction
