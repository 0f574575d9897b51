"""Home Assistant discovery: off by default, exact configs when on, sent again when Home Assistant comes back."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

from test_agent import HELP_PIN, T0, Home

from conftest import Mosquitto, Recorder, agent_yaml, wait_for
from sentinel.agent.app import Agent
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.logs import Throttle

PREFIX = "ha-test"


def home_with(tmp_path: Path, port: int, name: str, extra: str) -> Home:
    h = Home(tmp_path, port, clock=ManualClock(T0), home=name)
    h.config = parse_config(agent_yaml(port, home=name) + extra)
    h.agent = Agent(h.config, h.store, clock=h.clock, pin_factory=h.factory)
    h.topics = h.agent.topics
    return h


def test_discovery_is_off_unless_asked(tmp_path: Path, broker: Mosquitto, recorder) -> None:
    # A prefix of its own: the test that turns discovery on leaves its configs retained under PREFIX.
    prefix = f"{PREFIX}-off"
    rec = recorder([f"{prefix}/#", "homeassistant/#"])
    h = home_with(tmp_path, broker.port, "shy", f"homeassistant: {{discovery_prefix: {prefix}}}\n").start(
        threaded=False
    )
    try:
        barrier = Recorder(broker.port, [h.topics.reply("status")])
        barrier.client.publish(f"{h.topics.root}/cmd/status", b"{}", qos=1)
        h.pump_until(lambda: barrier.on(h.topics.reply("status")), "the reply")  # after anything sent before it
        barrier.close()
        assert rec.messages == []
    finally:
        h.stop()


def test_entities_are_announced_and_announced_again_when_home_assistant_is_back(
    tmp_path: Path, broker: Mosquitto, recorder
) -> None:
    rec = recorder([f"{PREFIX}/#"])
    h = home_with(tmp_path, broker.port, "ha-home", f"homeassistant: {{enabled: true, discovery_prefix: {PREFIX}}}\n")
    h.start(threaded=False)
    try:
        h.pump_until(lambda: len(rec.messages) >= 8, "the discovery configs")
        configs = {m.topic: json.loads(m.payload) for m in rec.messages}
        node = "sentinel_ha_home"
        assert sorted(configs) == sorted(
            f"{PREFIX}/{c}/{node}/{o}/config"
            for c, o in [
                ("binary_sensor", "alert"),
                ("sensor", "status"),
                ("sensor", "last_activity"),
                ("event", "alerts"),
                ("button", "home"),
                ("button", "away"),
                ("button", "pause"),
                ("button", "ok"),
            ]
        )
        problem = configs[f"{PREFIX}/binary_sensor/{node}/alert/config"]
        assert problem["device_class"] == "problem" and problem["state_topic"] == h.topics.status
        assert problem["unique_id"] == f"{node}_alert" and problem["availability_topic"] == h.topics.availability
        assert problem["device"]["identifiers"] == [node] and problem["origin"]["name"] == "sentinel"
        away = configs[f"{PREFIX}/button/{node}/away/config"]
        assert away["command_topic"] == f"{h.topics.root}/cmd/away"
        # Nothing but status, availability, alerts and commands: no sensor topic, no event history.
        read = {v for c in configs.values() for k, v in c.items() if k.endswith("topic")}
        assert read <= {h.topics.status, h.topics.availability, h.topics.alert} | {
            f"{h.topics.root}/cmd/{verb}" for verb in ("home", "away", "pause", "ok")
        }

        first = len(rec.messages)
        h.agent._ha_back = Throttle(most=1, every=3600.0)  # not 10 s: however slow this machine, one answer below
        rec.client.publish(f"{PREFIX}/status", b"online", qos=1)  # Home Assistant restarted
        h.pump_until(lambda: len(rec.messages) >= first + 8, "the configs again")
        # A flood of "online" within seconds is answered once: before, each queued all eight configs again
        # (2,000 of them took the agent from 42 to 73 MB).
        for _ in range(50):
            rec.client.publish(f"{PREFIX}/status", b"online", qos=1)
        h.pump_until(lambda: h.agent._ha_back.skipped == 50, "the flood handled")

        # Its "I'm OK" button closes an open help alert, as the resident's own press would.
        h.pin(HELP_PIN).drive_low()
        h.wait(2.5)
        h.pin(HELP_PIN).drive_high()
        h.wait(0.1)
        assert h.agent.journal.open_alerts()
        rec.client.publish(f"{h.topics.root}/cmd/ok", json.dumps({"who": "Home Assistant"}), qos=1)
        h.pump_until(lambda: not h.agent.journal.open_alerts(), "the alert to close")
    finally:
        h.stop()


def test_the_exact_config_of_the_status_sensor() -> None:
    from sentinel.agent.homeassistant import ALERT_EVENT, discovery
    from sentinel.mqtt.topics import Topics

    config = parse_config(agent_yaml(1883, home="mary") + "homeassistant: {enabled: true}\n")
    found = dict(discovery(config, Topics.for_home("sentinel", "mary")))
    status = json.loads(found["homeassistant/sensor/sentinel_mary/status/config"])
    assert status["options"] == ["starting", "learning", "ok", "checking", "alert", "away", "paused"]
    assert status["value_template"] == "{{ value_json.state }}" and status["device_class"] == "enum"
    # The alerts' event carries each alert's id, and fires once per alert (rendered below, as Home Assistant does).
    alerts = json.loads(found["homeassistant/event/sentinel_mary/alerts/config"])
    assert alerts["value_template"] == ALERT_EVENT


class AlertsEvent:
    """Home Assistant's MQTT event entity for alerts, as its code takes a message (components/mqtt/event.py).

    The value template is rendered in a sandbox with ``value_json`` and ``this``, the entity's own state
    (mqtt/models.py, MqttValueTemplate); an empty rendering is ignored ("Ignoring empty payload"); otherwise the
    JSON's ``event_type`` must be one of ``event_types``, the rest become the event's attributes, and the entity's
    attributes are then the last event's (components/event, EventEntity.state_attributes).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.template = ImmutableSandboxedEnvironment().from_string(config["value_template"])
        self.types = config["event_types"]
        self.attributes: dict[str, Any] = {"event_types": self.types}
        self.fired: list[tuple[str, str]] = []

    def message(self, payload: dict[str, Any]) -> None:
        this = SimpleNamespace(state="unknown", attributes=MappingProxyType(dict(self.attributes)))
        rendered = self.template.render(value_json=payload, value=json.dumps(payload), this=this)
        if not rendered:
            return
        event = json.loads(rendered)
        event_type = str(event.pop("event_type"))
        assert event_type in self.types
        self.attributes = {"event_types": self.types, "event_type": event_type, **event}
        self.fired.append((event_type, event["alert_id"]))


def test_home_assistant_fires_once_for_an_alert_sent_again(flat, recorder) -> None:
    # Before: without a notifier the agent sends an open alert again every 15 minutes (no one says it has it),
    # and the "Alerts" event fired each time: an automation that rings a phone on it rang every 15 minutes.
    from test_receipts import _call_for_help

    from sentinel.agent.homeassistant import discovery

    rec = recorder(["sentinel/mary/alert"])
    home = flat()
    found = dict(discovery(home.agent.config, home.agent.topics))
    ha = AlertsEvent(json.loads(found["homeassistant/event/sentinel_mary/alerts/config"]))
    _call_for_help(home.agent, home.clock)
    home.agent.pump()
    first = rec.wait("sentinel/mary/alert")
    home.advance(60)
    wait_for(lambda: len(rec.on("sentinel/mary/alert")) == 2, 5, "the alert sent again")
    home.advance(120)
    wait_for(lambda: len(rec.on("sentinel/mary/alert")) == 3, 5, "the alert sent a third time")
    for payload in rec.on("sentinel/mary/alert"):
        ha.message(payload)
    assert ha.fired == [("help", first["alert_id"])]
    # Another alert fires, and so does the first sent again after it: only the event before is known.
    ha.message({**first, "kind": "inactivity", "alert_id": "mary-inactivity-2"})
    ha.message(first)
    assert ha.fired == [("help", first["alert_id"]), ("inactivity", "mary-inactivity-2"), ("help", first["alert_id"])]
