"""The config schema: frozen dataclasses whose fields document themselves."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sentinel.config.schema import Seconds, _show, setting

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _slug(value: str) -> str | None:
    if not _SLUG.match(value):
        return f"{value!r} must be 1-40 lower-case letters, digits, '-' or '_'"
    return None


def _topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "#+\0") or value.startswith("/") or value.endswith("/"):
        return f"{value!r} is not a usable MQTT topic prefix"
    return None


def _friendly_name(value: str) -> str | None:
    if not value.strip() or any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/"):
        return f"{value!r} is not a zigbee2mqtt friendly name that can be a topic"
    return None


def _between(low: float, high: float, what: str = "") -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        if low <= value <= high:
            return None
        if isinstance(value, Seconds):
            # A duration is shown as one, so '10m' is not answered with '600'.
            return f"{_show(value)} is {what or 'out of range'} ({_show(Seconds(low))}-{_show(Seconds(high))})"
        return f"{value:g} is {what or 'out of range'} ({low:g}-{high:g})"

    return check


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """Who lives here."""

    id: str = setting(doc="Short name used in MQTT topics: lower-case letters, digits, '-', '_'.", check=_slug)
    name: str = setting(doc="How the circle knows the resident, e.g. 'Mary'.")


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """One sensor wired to a GPIO pin."""

    name: str = setting(doc="A stable name, e.g. hall_pir.", check=_slug)
    kind: Literal["motion", "door", "contact", "pressure", "power", "flush", "button"] = setting(
        doc="motion: a PIR; door: a reed switch on an outside door; contact: one on an inside door, a cupboard or"
        " the fridge; pressure: a bed or chair mat; power: an appliance in use (a current switch); flush: the"
        " toilet's; button: the help button. See docs/install.md for what each adds."
    )
    pin: int | None = setting(
        None,
        doc="BCM GPIO number (0-27), not the physical pin number; or give zigbee.",
        check=_between(0, 27, "not a GPIO pin"),
    )
    zigbee: str | None = setting(
        None,
        doc="Instead of a pin: the device's friendly name in zigbee2mqtt, e.g. 'hall motion'.",
        check=_friendly_name,
    )
    room: str | None = setting(None, doc="Where it is, in words the carer uses.")
    pull_up: bool | None = setting(
        None, doc="Use the Pi's internal pull-up. Default: yes for switches and the button, no for motion."
    )
    hold_time: Seconds = setting(
        Seconds(30),
        doc="PIR triggers closer together than this are one motion episode.",
        check=_between(1, 3600),
        only_for=("motion",),
    )
    bounce: Seconds = setting(
        Seconds(0.05),
        doc="Contact chatter shorter than this is ignored.",
        check=_between(0, 1),
        only_for=("door", "contact", "pressure", "power", "flush", "button"),
    )
    normally_open: bool = setting(
        True,
        doc="The reed switch closes when the magnet is near (the door, cupboard or fridge is shut).",
        only_for=("door", "contact"),
    )
    help: Literal["long", "double", "long_or_double"] = setting(
        "long_or_double",
        doc="Which press calls for help; a single short press means 'I'm OK'.",
        only_for=("button",),
    )
    long_press: Seconds = setting(
        Seconds(2),
        doc="Holding the button this long calls for help.",
        check=_between(0.5, 30),
        only_for=("button",),
    )
    double_press: Seconds = setting(
        Seconds(0.6),
        doc="Two presses within this time call for help.",
        check=_between(0.2, 3),
        only_for=("button",),
    )


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS to the broker."""

    ca_file: str | None = setting(None, doc="CA certificate file; none uses the system's CAs.")
    cert_file: str | None = setting(None, doc="Client certificate, for brokers that ask for one.")
    key_file: str | None = setting(None, doc="Key of the client certificate.")


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """How to reach the MQTT broker."""

    host: str = setting("localhost", doc="Broker host name or address.")
    port: int = setting(1883, doc="Broker port (8883 is usual with TLS).", check=_between(1, 65535))
    protocol: Literal["5", "3.1.1"] = setting("5", doc="MQTT protocol version.")
    base_topic: str = setting("sentinel", doc="Topics start with <base_topic>/<home.id>/.", check=_topic_part)
    client_id: str | None = setting(None, doc="Default: sentinel-agent-<home.id>.")
    keepalive: Seconds = setting(
        Seconds(30),
        doc="The broker marks the home offline after about 1.5 times this.",
        check=_between(5, 3600),
    )
    heartbeat: Seconds = setting(Seconds(60), doc="How often the agent says it is alive.", check=_between(5, 3600))
    publish_sensors: bool = setting(
        False,
        doc="Also publish each sensor's state (e.g. for Home Assistant). Off: only status and alerts leave the agent.",
    )
    username: str | None = setting(None, doc="Broker user name.")
    password_env: str | None = setting(None, doc="Environment variable that holds the password.")
    password_file: str | None = setting(None, doc="File that holds the password (e.g. a systemd credential).")
    tls: TlsConfig | None = setting(None, doc="Set to use TLS; {} uses the system's CAs.")


@dataclass(frozen=True, slots=True)
class CheckinConfig:
    """Ask the resident before the circle is told of unusual quiet."""

    enabled: bool = setting(
        False, doc="Ask first: sound the buzzer and/or light the LED (or ask on the phone), then wait."
        " Needs buzzer_pin, led_pin or phone."
    )
    wait: Seconds = setting(
        Seconds(600),
        doc="How long to wait for a button press or any movement before telling the circle.",
        check=_between(30, 3600),
    )
    buzzer_pin: int | None = setting(
        None, doc="GPIO of a buzzer to sound while asking.", check=_between(0, 27, "not a GPIO pin")
    )
    led_pin: int | None = setting(
        None, doc="GPIO of an LED to light while asking.", check=_between(0, 27, "not a GPIO pin")
    )
    phone: bool = setting(
        False,
        doc="The circle's notifier also asks on the resident's phone (its circle.yaml names the resident's topic);"
        " then no buzzer or LED is needed.",
    )


_CLOCK = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: str) -> str | None:
    return None if _CLOCK.match(value) else f"{value!r} is not a time of day like '07:30'"


def _days(value: list[str]) -> str | None:
    wrong = [d for d in value if d not in DAYS]
    return f"{', '.join(map(repr, wrong))}: days are {', '.join(DAYS)}" if wrong else None


@dataclass(frozen=True, slots=True)
class Window:
    """A daily window of time, on some days of the week."""

    start: str = setting(doc="From this time of day (HH:MM).", check=_clock)
    end: str = setting(doc="Until this time of day (HH:MM); past midnight is fine.", check=_clock)
    days: list[str] = setting(list(DAYS), doc="On these days (mon ... sun); default every day.", check=_days)


@dataclass(frozen=True, slots=True)
class RoomRule:
    """Limits for quiet spells that begin in one room, whatever was learned."""

    room: str = setting(doc="The room, as the sensors' room: says it.")
    floor: Seconds | None = setting(
        None, doc="Never alert sooner than this after a sign of life here.", check=_between(60, 24 * 3600)
    )
    ceiling: Seconds | None = setting(
        None, doc="Always alert after this much quiet that began here.", check=_between(60, 48 * 3600)
    )


@dataclass(frozen=True, slots=True)
class DoorAtNightConfig:
    """Opt-in: the outside door left open during the usual night."""

    enabled: bool = setting(False, doc="Alert when the front door stays open at night.")
    after: Seconds = setting(Seconds(900), doc="How long open counts as left open.", check=_between(60, 6 * 3600))
    start: str = setting("23:00", doc="Night starts (HH:MM).", check=_clock)
    end: str = setting("06:00", doc="Night ends (HH:MM).", check=_clock)


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Learned unusual-inactivity detection."""

    enabled: bool = setting(True, doc="Learn the routine and alert on unusual quiet.")
    false_alerts_per_month: float = setting(
        1.0,
        doc="The main knob: how many unnecessary alerts a month the circle accepts. Lower waits longer.",
        check=_between(0.1, 30),
    )
    floor: Seconds = setting(
        Seconds(1800), doc="Never alert sooner than this after the last sign of life.", check=_between(300, 6 * 3600)
    )
    ceiling: Seconds = setting(
        Seconds(16 * 3600),
        doc="Always alert after this long (after the front door, within 24 h: longer stays are what away mode is for).",
        check=_between(3600, 48 * 3600),
    )
    learn_days: float = setting(7.0, doc="Days of history before the learned routine is used.", check=_between(1, 60))
    warmup_day: Seconds = setting(
        Seconds(6 * 3600), doc="Alert after this much quiet by day while learning.", check=_between(1800, 24 * 3600)
    )
    warmup_night: Seconds = setting(
        Seconds(12 * 3600), doc="The same at night (20:00-08:00) while learning.", check=_between(1800, 24 * 3600)
    )
    window_days: float = setting(
        56.0, doc="How many days of history the routine is learned from.", check=_between(7, 365)
    )
    resolve_on_activity: bool = setting(
        True, doc="Close an inactivity alert (and tell the circle) when movement resumes."
    )
    not_back: bool = setting(
        False, doc="Opt-in: alert when an outing lasts far longer than the resident's outings at that time."
    )
    door_open_at_night: DoorAtNightConfig = setting(DoorAtNightConfig(), doc="Opt-in door alert.")
    quiet_windows: list[Window] = setting([], doc="Times with no inactivity alerts (postponed to the end).")
    rooms: list[RoomRule] = setting([], doc="Per-room floors and ceilings.")
    checkin: CheckinConfig = setting(CheckinConfig(), doc="Ask the resident first.")


@dataclass(frozen=True, slots=True)
class ZigbeeConfig:
    """Sensors through zigbee2mqtt, on the same broker as the agent."""

    base_topic: str = setting("zigbee2mqtt", doc="zigbee2mqtt's base topic.", check=_topic_part)
    battery_low: int = setting(
        20, doc="Tell the keepers when a device's battery falls below this (percent).", check=_between(1, 99)
    )
    power_on: float = setting(
        5.0, doc="A smart plug drawing more than this (watts) means its appliance is in use.", check=_between(0, 3000)
    )


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    """Home Assistant's MQTT discovery: status, alerts and modes as entities."""

    enabled: bool = setting(
        False, doc="Off by default: the home's status then shows in Home Assistant (on the same broker)."
    )
    discovery_prefix: str = setting("homeassistant", doc="Home Assistant's discovery prefix.", check=_topic_part)


def _http_url(value: str) -> str | None:
    if not re.match(r"^https?://[^/\s]+", value):
        return f"{value!r} is not an http:// or https:// address, e.g. http://nas.local:8086"
    return None


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """Opt-in history for Grafana: status, alerts, hourly activity per room and kit health, sent to a database."""

    enabled: bool = setting(
        False,
        doc="Off by default. On: the status, the alerts (kind and severity, never the reason), the activity"
        " counted per room and per hour (never the events) and the kit's health go to the database below."
        " Needs the history extra. Turn it on only with the resident's agreement (docs/grafana/README.md).",
    )
    url: str | None = setting(
        None,
        doc="The database's address: InfluxDB 2 or 3, or VictoriaMetrics, e.g. http://nas.local:8086.",
        check=_http_url,
    )
    org: str = setting("sentinel", doc="The InfluxDB organization (VictoriaMetrics ignores it).")
    bucket: str = setting("sentinel", doc="The InfluxDB bucket, or InfluxDB 3 database (VictoriaMetrics ignores it).")
    token_env: str | None = setting(
        None, doc="Environment variable that holds the database's API token; none for a database without login."
    )
    timeout: Seconds = setting(
        Seconds(10),
        doc="Give up on one write after this long and try again later (meanwhile the points wait on the Pi).",
        check=_between(1, 120),
    )


@dataclass(frozen=True, slots=True)
class GpioConfig:
    """How pins are read."""

    pin_factory: Literal["auto", "mock"] = setting(
        "auto", doc="auto: the Pi's pins (or GPIOZERO_PIN_FACTORY); mock: simulated pins for trying things out."
    )


@dataclass(frozen=True, slots=True)
class Config:
    """A whole agent configuration file."""

    home: HomeConfig = setting(doc="The resident.")
    sensors: list[SensorConfig] = setting(doc="The sensors wired to the Pi.")
    mqtt: MqttConfig = setting(MqttConfig(), doc="The broker.")
    gpio: GpioConfig = setting(GpioConfig(), doc="Pin access.")
    zigbee: ZigbeeConfig = setting(ZigbeeConfig(), doc="Sensors through zigbee2mqtt (those with `zigbee:`).")
    homeassistant: HomeAssistantConfig = setting(HomeAssistantConfig(), doc="Home Assistant discovery.")
    history: HistoryConfig = setting(HistoryConfig(), doc="History for Grafana (InfluxDB or VictoriaMetrics).")
    detection: DetectionConfig = setting(DetectionConfig(), doc="Unusual-inactivity alerts.")
    state_dir: str | None = setting(
        None, doc="Where the database lives. Default: $STATE_DIRECTORY, else ~/.local/state/sentinel."
    )
    keep_days: int = setting(
        90,
        doc="Days of sensor events kept in the database; older ones are deleted once a day."
        " At least detection.window_days: the routine is learned from them.",
        check=_between(7, 3650),
    )
    log_level: Literal["debug", "info", "warning", "error"] = setting("info", doc="How much to log.")

    def sensor(self, name: str) -> SensorConfig:
        """The sensor called ``name``."""
        return next(s for s in self.sensors if s.name == name)
