"""The config schema: frozen dataclasses whose fields document themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sentinel.config.detection import DetectionConfig
from sentinel.config.schema import Seconds, setting
from sentinel.config.values import _absolute, _between, _friendly_name, _host, _http_url, _room, _slug, _topic_part


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """Who lives here."""

    id: str = setting(doc="Short name used in MQTT topics: lower-case letters, digits, '-', '_'.", check=_slug)
    # Every alert and note starts with it: "Mary pressed the help button".
    name: str = setting(
        doc="How the circle knows the resident, e.g. 'Mary'.",
        empty="give the resident's name, as the circle says it (e.g. 'Mary')",
    )
    share_day: bool = setting(
        False,
        doc="Off by default. On: the status the circle reads also says when the resident got up today and when"
        " they went out and came back (times only, never which rooms), for the members' daily note."
        " Turn it on only with the resident's agreement (docs/resident.md).",
    )


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
        doc="Instead of a pin: the device's friendly name in zigbee2mqtt, e.g. 'hall motion'; one sensor per device.",
        check=_friendly_name,
    )
    room: str | None = setting(None, doc="Where it is, in words the carer uses.", check=_room)
    pull_up: bool | None = setting(
        None,
        doc="Use the Pi's internal pull-up (wired sensors only). Default: yes for switches and the button, no for"
        " motion.",
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
        doc="The reed switch closes when the magnet is near (the door, cupboard or fridge is shut). Wired sensors"
        " only.",
        only_for=("door", "contact"),
    )
    help: Literal["long", "double", "long_or_double"] = setting(
        "long_or_double",
        doc="Which press calls for help; a single short press means 'I'm OK'. Wired buttons only: a Zigbee button"
        " calls for help on a double press or a hold.",
        only_for=("button",),
    )
    long_press: Seconds = setting(
        Seconds(2),
        doc="Holding the button this long calls for help (wired buttons only).",
        check=_between(0.5, 30),
        only_for=("button",),
    )
    double_press: Seconds = setting(
        Seconds(0.6),
        doc="Two presses within this time call for help (wired buttons only).",
        check=_between(0.2, 3),
        only_for=("button",),
    )


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS to the broker."""

    # Given empty, each was handed to the TLS library as a path, which stopped the program at start.
    ca_file: str | None = setting(
        None,
        doc="CA certificate file; none uses the system's CAs.",
        empty="give the CA certificate's file, or remove the line for the system's CAs",
    )
    cert_file: str | None = setting(
        None,
        doc="Client certificate, for brokers that ask for one.",
        empty="give the client certificate's file, or remove the line",
    )
    key_file: str | None = setting(
        None, doc="Key of the client certificate.", empty="give the file of the certificate's key, or remove the line"
    )


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """How to reach the MQTT broker."""

    host: str = setting(
        "localhost",
        doc="Broker host name or address.",
        check=_host,
        empty="give the broker's host name or address (e.g. localhost), or remove the line for localhost",
    )
    port: int = setting(1883, doc="Broker port (8883 is usual with TLS).", check=_between(1, 65535))
    protocol: Literal["5", "3.1.1"] = setting("5", doc="MQTT protocol version.")
    base_topic: str = setting("sentinel", doc="Topics start with <base_topic>/<home.id>/.", check=_topic_part)
    client_id: str | None = setting(
        None, doc="Default: sentinel-agent-<home.id> for the agent, sentinel-notifier-<host name> for the notifier."
    )
    keepalive: Seconds = setting(
        Seconds(30),
        doc="How often an idle client pings the broker; for an agent, the broker marks the home offline after about"
        " 1.5 times this.",
        check=_between(5, 3600),
    )
    heartbeat: Seconds = setting(
        Seconds(60),
        doc="How often the agent says it is alive (the notifier has no use for it).",
        check=_between(5, 3600),
    )
    publish_sensors: bool = setting(
        False,
        doc="Also publish each sensor's state (e.g. for Home Assistant). Off: only status and alerts leave the agent."
        " The agent's alone: the notifier has no use for it.",
    )
    username: str | None = setting(None, doc="Broker user name.")
    password_env: str | None = setting(None, doc="Environment variable that holds the password.")
    password_file: str | None = setting(None, doc="File that holds the password (e.g. a systemd credential).")
    tls: TlsConfig | None = setting(
        None,
        doc="Set to use TLS: `tls: {}` uses the system's CAs; leave it out for no TLS.",
        empty="write `tls: {}` to use TLS with the system's CAs, or remove the line for no TLS",
    )


@dataclass(frozen=True, slots=True)
class ZigbeeConfig:
    """Sensors through zigbee2mqtt, on the same broker as the agent."""

    base_topic: str = setting("zigbee2mqtt", doc="zigbee2mqtt's base topic.", check=_topic_part)
    battery_low: int = setting(
        20, doc="Tell the keepers when a device's battery falls below this (percent).", check=_between(1, 99)
    )
    power_on: float = setting(
        5.0,
        doc="A smart plug drawing more than this (watts) means its appliance is in use; it counts as off again only"
        " at half of this or less (0: any draw is use), so an appliance idling near the mark is not taken for use.",
        check=_between(0, 3000),
    )


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    """Home Assistant's MQTT discovery: status, alerts and modes as entities."""

    enabled: bool = setting(
        False, doc="Off by default: the home's status then shows in Home Assistant (on the same broker)."
    )
    discovery_prefix: str = setting("homeassistant", doc="Home Assistant's discovery prefix.", check=_topic_part)


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
        empty="give the database's address, e.g. http://nas.local:8086",
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
        None,
        doc="Where the database lives (a full path). Default: $STATE_DIRECTORY, else ~/.local/state/sentinel. The"
        " agent makes it if it is missing; it will not start unless it can write there. The systemd service can"
        " write only /var/lib/sentinel (its default).",
        check=_absolute,
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
