"""Sensors through zigbee2mqtt: its messages turned into the same edges as GPIO pins, and kit faults.

zigbee2mqtt publishes each device's state as JSON on ``<base>/<friendly name>``,
its availability on ``<base>/<friendly name>/availability`` (``{"state":
"offline"}`` since 2.0, plain ``offline`` before) and the bridge's own on
``<base>/bridge/state``. A dead bridge looks exactly like a motionless resident,
so its faults become notices for the keepers, never activity, never quiet.
With ``cache_state`` (on by default) every message repeats the device's whole
last state: an hourly battery report says again that a door is open, and
zigbee2mqtt's start says it of every device. So only a change of state is
news, and after a restart the agent starts each device from its last stored
state (a motion sensor from idle: zigbee2mqtt clears it a minute after each
movement, ``seed``).
Pure: payloads in, values out (and a log line, once, for a button's gesture it does not know or a value it
cannot use).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentinel.agent import buttons
from sentinel.agent import zigbee_setup as setup
from sentinel.config.model import SensorConfig, ZigbeeConfig
from sentinel.core.sensors import Gesture

log = logging.getLogger(__name__)

MAX_PAYLOAD = 16384  # a device's state is a few hundred bytes
BATTERY_BACK = 5  # percent above the low mark before a battery counts as changed (no notice at every wobble)
POWER_OFF_SHARE = 0.5
"""An appliance counts as in use above ``power_on`` watts and as off again only at this share of it or less: one that
idles near the mark (a standby, a washing machine's pauses) would otherwise switch at every report, every 10 s,
and look like someone busy all day."""

USABLE = {"battery": "a percentage (0 to 100)", "power": "a number of watts"}
"""What each number sentinel reads from a device must be; another value is ignored (and logged once)."""
MAX_UNKNOWN = 20  # actions not understood, told once each, per sensor: a real button has a handful


@dataclass(frozen=True, slots=True)
class Level:
    """A sensor's state: ``quiet`` when it only says how things stood (a retained message at start)."""

    sensor: str
    level: bool
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class Press:
    """The resident pressed a Zigbee button."""

    sensor: str
    gesture: Gesture


@dataclass(frozen=True, slots=True)
class Fault:
    """Something wrong with the kit (``ok``: it is right again); ``key`` names it, for telling it once."""

    key: str
    kind: str  # bridge_offline, device_offline, battery_low
    text: str
    ok: bool = False


Reading = Level | Press | Fault


class Zigbee:
    """The zigbee2mqtt side of one home's sensors."""

    def __init__(self, cfg: ZigbeeConfig, sensors: list[SensorConfig]) -> None:
        self.cfg = cfg
        self.by_name = {s.zigbee: s for s in sensors if s.zigbee}
        self.wired_button = any(s.kind == "button" and s.pin is not None for s in sensors)
        self.base = cfg.base_topic
        self.powered: dict[str, bool] = {}  # each smart plug's last level, for the hysteresis
        self.unknown: set[tuple[str, str]] = set()  # (button, action) pairs already logged as not understood
        self.bad: set[tuple[str, str]] = set()  # (sensor, field) pairs already logged as holding no usable value

    def seed(self, sensor: SensorConfig, last_value: Callable[[str], int | None]) -> bool:
        """A sensor's state at start, as last stored (idle if none): zigbee2mqtt repeats it in every report.

        Not a motion sensor's: zigbee2mqtt clears its occupancy itself a minute after, so the state it repeats
        is idle, and one left "moving" by a stop mid-movement would swallow the next real movement.
        """
        if sensor.kind == "motion":
            return False
        level = bool(last_value(sensor.name))
        if sensor.kind == "power":
            self.powered[sensor.name] = level  # its hysteresis goes on from there, not from off
        return level

    def topics(self) -> list[str]:
        """What to subscribe to."""
        if not self.by_name:
            return []
        names = [f"{self.base}/{name}" for name in self.by_name]
        bridge = [f"{self.base}/bridge/{what}" for what in ("state", "devices", "info")]
        return [*bridge, *names, *(f"{t}/availability" for t in names)]

    def read(self, topic: str, payload: bytes, retained: bool) -> list[Reading]:
        """What one message says; [] for one that is not ours or says nothing usable."""
        if not topic.startswith(self.base + "/"):
            return []
        rest = topic[len(self.base) + 1 :]
        if rest == "bridge/devices":  # every device, a few kB each: as long as the broker lets it be
            return list(setup.unknown_names(_json(payload), self.by_name))
        if rest == "bridge/info":
            return list(setup.output(_json(payload)))
        if len(payload) > MAX_PAYLOAD:
            return []
        if rest == "bridge/state":
            return self._bridge(payload)
        if rest.endswith("/availability") and rest[: -len("/availability")] in self.by_name:
            return self._availability(self.by_name[rest[: -len("/availability")]], payload)
        sensor = self.by_name.get(rest)
        if sensor is None:
            return []
        body = _json(payload)
        if not isinstance(body, dict):
            return []
        return self._state(sensor, body, retained)

    def _state(self, sensor: SensorConfig, body: dict[str, Any], retained: bool) -> list[Reading]:
        # Each field on its own: a value no device sends (a fuzzer's battery of 401 digits) costs that field
        # only, never the press, the movement or the door in the same message.
        out: list[Reading] = []
        if (level := self._level(sensor, body)) is not None:
            out.append(Level(sensor.name, level, quiet=retained))  # retained: how it stood, not news
        if sensor.kind == "button" and not retained:
            out += self._action(sensor, body.get("action"))
        out += self._battery(sensor, body.get("battery"))
        return out

    def _action(self, sensor: SensorConfig, action: object) -> list[Reading]:
        if not isinstance(action, str):
            return []
        if (meant := buttons.gesture(action)) is not None:
            return [Press(sensor.name, meant)]
        if buttons.says_nothing(action):
            return []
        key = (sensor.name, action[:80])
        told = sum(1 for name, _ in self.unknown if name == sensor.name)  # each sensor its own few: junk on one
        if key not in self.unknown and told < MAX_UNKNOWN:  # hides no other's
            # A button whose gestures sentinel does not know would look as if it worked: say so, once (and only
            # for so many: a publisher making up actions must not fill the memory or the log).
            self.unknown.add(key)
            log.warning(
                '%s sent the action %.80r, which sentinel does not know: it is neither help nor "I\'m OK".'
                " Help is a double press or a hold; I'm OK a single press",
                describe(sensor),
                action,
            )
        return []

    def _battery(self, sensor: SensorConfig, value: object) -> list[Reading]:
        battery = self._number(sensor, "battery", value)
        if battery is None:
            return []
        if not 0 <= battery <= 100:
            self._bad(sensor, "battery")
            return []
        low = battery < self.cfg.battery_low
        if not low and battery < self.cfg.battery_low + BATTERY_BACK:
            return []
        where = describe(sensor)
        text = (
            f"The battery of {where} is at {battery:g} %: change it soon; when it is empty the sensor goes silent."
            if low
            else f"The battery of {where} is fine again ({battery:g} %)."
        )
        return [Fault(f"battery:{sensor.name}", "battery_low", text, ok=not low)]

    def _level(self, sensor: SensorConfig, body: dict[str, Any]) -> bool | None:
        kind = sensor.kind
        if kind in ("motion", "pressure") and isinstance(body.get("occupancy"), bool):
            return bool(body["occupancy"])
        if kind in ("motion", "pressure") and isinstance(body.get("presence"), bool):  # mmWave: Aqara FP1, Tuya
            return bool(body["presence"])
        if kind in ("door", "contact", "flush") and isinstance(body.get("contact"), bool):
            return not body["contact"]  # zigbee2mqtt: contact true means closed
        if kind == "power" and (power := self._number(sensor, "power", body.get("power"))) is not None:
            was = self.powered.get(sensor.name, False)
            on = power > self.cfg.power_on * (POWER_OFF_SHARE if was else 1.0)  # power_on 0: on while drawing any
            self.powered[sensor.name] = on
            return on
        return None

    def _number(self, sensor: SensorConfig, field: str, value: object) -> float | None:
        """A field's number; None when absent (null: no report yet) or, logged once, when it is no usable number."""
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)  # OverflowError: an integer of hundreds of digits
            except OverflowError:
                number = math.nan
            if math.isfinite(number):
                return number
        self._bad(sensor, field)
        return None

    def _bad(self, sensor: SensorConfig, field: str) -> None:
        """Say once per sensor and field that a value was ignored: a device that keeps sending it is not news."""
        if (sensor.name, field) not in self.bad:
            self.bad.add((sensor.name, field))
            log.warning(
                "%s sent a %s that is not %s: ignored its %s (and will not say so again)",
                describe(sensor),
                field,
                USABLE[field],
                field,
            )

    def _availability(self, sensor: SensorConfig, payload: bytes) -> list[Reading]:
        state = _state_word(payload)
        if state not in ("online", "offline"):
            return []
        where = describe(sensor)
        text = (
            f"{where[0].upper()}{where[1:]} is offline in zigbee2mqtt: it cannot report. Check it is in range"
            " and its battery; until it is back, sentinel does not count on it."
            if state == "offline"
            else f"{where[0].upper()}{where[1:]} is back online in zigbee2mqtt."
        )
        return [Fault(f"device:{sensor.name}", "device_offline", text, ok=state == "online")]

    def _bridge(self, payload: bytes) -> list[Reading]:
        state = _state_word(payload)
        if state not in ("online", "offline"):
            return []
        buttons = (
            " The help button wired to the Pi still works."
            if self.wired_button
            else " Nor can the Zigbee help button call for help."
            if any(s.kind == "button" for s in self.by_name.values())
            else ""
        )
        text = (
            "The Zigbee bridge (zigbee2mqtt) is offline: the Zigbee sensors cannot report, so their silence says"
            " nothing about the resident: until it is back, an inactivity alert comes only after the longest"
            f" wait set for this home.{buttons} Check the Zigbee stick and the zigbee2mqtt service."
            if state == "offline"
            else "The Zigbee bridge (zigbee2mqtt) is back: the Zigbee sensors report again."
        )
        return [Fault("bridge", "bridge_offline", text, ok=state == "online")]


def describe(sensor: SensorConfig) -> str:
    """'the hall sensor (hall_pir)'; 'the lounge help button (help_button)'."""
    what = "help button" if sensor.kind == "button" else "sensor"
    return f"the {sensor.room} {what} ({sensor.name})" if sensor.room else f"the {what} {sensor.name}"


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _state_word(payload: bytes) -> str | None:
    """'online' or 'offline' from a plain or a JSON availability message."""
    body = _json(payload)
    if isinstance(body, dict):
        body = body.get("state")
    if body is None:
        body = payload[:16].decode("utf-8", "replace").strip()
    return body if isinstance(body, str) else None
