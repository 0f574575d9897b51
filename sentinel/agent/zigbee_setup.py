"""Whether zigbee2mqtt is set up so that sentinel hears its sensors: a friendly name it knows, state as JSON.

Read from zigbee2mqtt's retained ``bridge/devices`` (every device, with its friendly name) and ``bridge/info``
(its settings). Pure: the parsed message in, faults for the keepers out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentinel.agent.zigbee import Fault
    from sentinel.config.model import SensorConfig

# zigbee.py reads these messages with this module; what it makes (Fault) and says (describe) are imported when used.


def unknown_names(body: Any, by_name: dict[str, SensorConfig]) -> list[Fault]:
    """Each sensor whose friendly name zigbee2mqtt does not know (misspelt, renamed): it would never be heard."""
    from sentinel.agent.zigbee import Fault, describe

    if not isinstance(body, list):
        return []
    known = {d["friendly_name"] for d in body if isinstance(d, dict) and isinstance(d.get("friendly_name"), str)}
    out: list[Fault] = []
    for name, sensor in by_name.items():
        where, missing = describe(sensor), name not in known
        text = (
            f"zigbee2mqtt has no device named {name!r}, so sentinel hears nothing from {where}. In agent.yaml,"
            " give it the device's friendly name exactly as zigbee2mqtt shows it, and restart the agent."
            if missing
            else f"zigbee2mqtt knows {where} ({name!r}) again."
        )
        out.append(Fault(f"name:{sensor.name}", "zigbee_setup", text, ok=not missing))
    return out


def output(body: Any) -> list[Fault]:
    """Whether zigbee2mqtt sends each device's state as one JSON message, the only way sentinel reads it."""
    from sentinel.agent.zigbee import Fault

    config = body.get("config") if isinstance(body, dict) else None
    advanced = config.get("advanced") if isinstance(config, dict) else None
    mode = advanced.get("output", "json") if isinstance(advanced, dict) else None
    if mode not in ("json", "attribute", "attribute_and_json"):
        return []
    text = (
        "zigbee2mqtt sends each value on a topic of its own (advanced: output: attribute), so sentinel hears"
        " none of the Zigbee sensors, nor the Zigbee help button. In zigbee2mqtt's configuration.yaml set"
        " output: json (or attribute_and_json)."
        if mode == "attribute"
        else "zigbee2mqtt sends each device's state as JSON again: sentinel hears the Zigbee sensors."
    )
    return [Fault("output", "zigbee_setup", text, ok=mode != "attribute")]
