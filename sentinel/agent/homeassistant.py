"""Home Assistant MQTT discovery: the home's status, alerts and modes as entities. Off unless asked for.

Pure: the config and the topics in, retained discovery messages out. Every entity
reads what the agent already publishes (status, availability, alerts) or writes a
command it already takes: nothing more private than the status leaves the agent.
"""

from __future__ import annotations

import json
from typing import Any

from sentinel import __version__
from sentinel.config.model import Config
from sentinel.mqtt.topics import Topics

STATES = ("starting", "learning", "ok", "checking", "alert", "away", "paused")  # core.status.derive's, and before
ALERT_KINDS = ("help", "inactivity", "not_up", "not_back", "door_open")
BUTTONS = (("home", "Home"), ("away", "Away"), ("pause", "Pause"), ("ok", "I'm OK"))
# The alert's kind is the event's type, and its id rides along. Without a notifier an open alert is sent again every
# 15 minutes (until one says it has it): the same id as the event before renders nothing, and Home Assistant ignores
# an empty event (components/mqtt/event.py, "Ignoring empty payload"), so an automation on it runs once per alert.
# `this` is the event entity's own state, whose attributes are the last event's.
ALERT_EVENT = (
    "{% if this is defined and this.attributes.get('alert_id') == value_json.alert_id %}{% else %}"
    "{{ {'event_type': value_json.kind, 'alert_id': value_json.alert_id} | tojson }}{% endif %}"
)


def discovery(config: Config, topics: Topics) -> list[tuple[str, str]]:
    """(topic, retained JSON payload) for every entity of this home."""
    prefix = config.homeassistant.discovery_prefix
    node = f"sentinel_{config.home.id.replace('-', '_')}"
    common: dict[str, Any] = {
        "device": {
            "identifiers": [node],
            "name": f"sentinel ({config.home.name})",
            "manufacturer": "sentinel",
            "model": "home-wellbeing monitor",
            "sw_version": __version__,
        },
        "origin": {"name": "sentinel", "sw_version": __version__},
        "availability_topic": topics.availability,
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    entities: list[tuple[str, str, dict[str, Any]]] = [
        (
            "binary_sensor",
            "alert",
            {
                "name": "Alert",
                "device_class": "problem",
                "state_topic": topics.status,
                "value_template": "{{ 'ON' if value_json.open_alerts else 'OFF' }}",
            },
        ),
        (
            "sensor",
            "status",
            {
                "name": "Status",
                "device_class": "enum",
                "options": list(STATES),
                "state_topic": topics.status,
                "value_template": "{{ value_json.state }}",
                "json_attributes_topic": topics.status,
                "json_attributes_template": "{{ {'reason': value_json.reason, 'since': value_json.since} | tojson }}",
            },
        ),
        (
            "sensor",
            "last_activity",
            {
                "name": "Last activity",
                "device_class": "timestamp",
                "state_topic": topics.status,
                "value_template": "{{ value_json.last_activity }}",
            },
        ),
        (
            "event",
            "alerts",
            {
                "name": "Alerts",
                "event_types": list(ALERT_KINDS),
                "state_topic": topics.alert,
                "value_template": ALERT_EVENT,
            },
        ),
    ]
    for verb, name in BUTTONS:
        entities.append(
            (
                "button",
                verb,
                {
                    "name": name,
                    "command_topic": f"{topics.root}/cmd/{verb}",
                    "payload_press": json.dumps({"who": "Home Assistant"}),
                },
            )
        )
    return [
        (
            f"{prefix}/{component}/{node}/{object_id}/config",
            json.dumps({**common, **fields, "unique_id": f"{node}_{object_id}", "object_id": f"{node}_{object_id}"}),
        )
        for component, object_id, fields in entities
    ]
