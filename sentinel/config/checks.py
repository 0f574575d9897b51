"""Config rules that span several keys, each problem named by its line: the agent's file and the notifier's."""

from __future__ import annotations

import importlib.util
import os
import re
from datetime import date
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from sentinel.config.detection import check_windows
from sentinel.config.model import Config, MqttConfig
from sentinel.config.schema import Seconds, _show
from sentinel.config.yamllines import LineDict

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def write_path(url: str) -> str | None:
    """The path of a history address that names the write API itself (the client adds it); None if it does not."""
    path = urlsplit(url).path.rstrip("/")
    return path if path.endswith(("/api/v2/write", "/api/v2", "/write")) else None


def env_problem(name: str) -> str | None:
    """Why the environment variable ``name`` gives no secret; never says back a name that may be the secret."""
    if not _ENV_NAME.fullmatch(name):
        return "give the name of an environment variable (like INFLUX_TOKEN) that holds the secret, not the secret"
    if name not in os.environ:
        return f"environment variable {name} is not set"
    if not os.environ[name]:
        return f"environment variable {name} is empty"
    return None


if TYPE_CHECKING:  # imported by ``check_circle``: the agent reads its config without the notifier's
    from sentinel.config.circle import CircleConfig


# Settings of a sensor wired to a pin that a Zigbee device has no use for, and why.
WIRED_ONLY = {
    "pull_up": "is for a sensor wired to a pin: remove it for a Zigbee device",
    "normally_open": "is for a reed switch wired to a pin: zigbee2mqtt already says whether a Zigbee contact is"
    " shut; remove it",
    "help": "is for a button wired to a pin: a Zigbee button calls for help on a double press or a hold, as the"
    " device sends them; remove it",
    "long_press": "is for a button wired to a pin: the device itself tells a hold from a press; remove it",
    "double_press": "is for a button wired to a pin: the device itself tells a double press; remove it",
}


def check_agent(config: Config, raw: LineDict, errors: Any, state: Literal["run", "check"] | None = None) -> None:
    """Rules that span several keys of an agent config; ``state``: also whether state_dir can be written."""
    sensor_lines = getattr(raw["sensors"], "lines", [1] * len(config.sensors))
    if not config.sensors:
        errors.add(raw.lines.get("sensors", 1), "sensors", "needs at least one sensor")
    seen_names: dict[str, int] = {}
    seen_pins: dict[int, int] = {}
    seen_zigbee: dict[str, int] = {}
    for i, sensor in enumerate(config.sensors):
        line = raw["sensors"][i].lines.get("name", sensor_lines[i])
        _used_once(seen_names, sensor.name, repr(sensor.name), i, line, "name", errors)
        pin_line = raw["sensors"][i].lines.get("pin", sensor_lines[i])
        if (sensor.pin is None) == (sensor.zigbee is None):
            errors.add(
                pin_line if sensor.pin is not None else line,
                f"sensors[{i}]",
                "give a pin (wired to the Pi) or zigbee (a zigbee2mqtt device), one of the two",
            )
        _used_once(seen_pins, sensor.pin, f"GPIO{sensor.pin}", i, pin_line, "pin", errors)
        # One device's messages feed one sensor only: the other would never hear anything.
        zigbee_line = raw["sensors"][i].lines.get("zigbee", sensor_lines[i])
        _used_once(seen_zigbee, sensor.zigbee, repr(sensor.zigbee), i, zigbee_line, "zigbee", errors)
        if sensor.zigbee is not None:
            for key, why in WIRED_ONLY.items():
                if key in raw["sensors"][i]:  # accepted, then never read: a carer's setting silently ignored
                    errors.add(raw["sensors"][i].lines.get(key, line), f"sensors[{i}].{key}", why)
    rooms = {s.room for s in config.sensors if s.room}
    detection_raw = raw.get("detection") or {}
    check_waits(config, detection_raw, errors)
    check_windows(config.detection.quiet_windows, detection_raw.get("quiet_windows"), "detection.quiet_windows", errors)
    ruled: dict[str, int] = {}
    for i, rule in enumerate(config.detection.rooms):
        line = detection_raw["rooms"][i].lines.get("room", 1)
        if rule.room not in rooms:
            known = ", ".join(sorted(rooms)) or "none"
            errors.add(line, f"detection.rooms[{i}].room", f"no sensor is in room {rule.room!r} (rooms: {known})")
        elif (first := ruled.setdefault(rule.room, i)) != i:  # only one is read: a stricter one silently dropped
            errors.add(line, f"detection.rooms[{i}].room", f"{rule.room!r} has its limits in rooms[{first}]")
    checkin = config.detection.checkin
    checkin_lines = getattr((raw.get("detection") or {}).get("checkin"), "lines", {})
    for key in ("buzzer_pin", "led_pin"):
        pin = getattr(checkin, key)
        if pin is not None and pin in seen_pins:
            errors.add(
                checkin_lines.get(key, 1),
                f"detection.checkin.{key}",
                f"GPIO{pin} is already used by sensors[{seen_pins[pin]}]",
            )
    if checkin.enabled and checkin.buzzer_pin is None and checkin.led_pin is None and not checkin.phone:
        # Without any, nobody is asked and every alert would only be delayed by checkin.wait.
        errors.add(
            checkin_lines.get("enabled", 1),
            "detection.checkin.enabled",
            "the resident can only be asked with a buzzer or an LED: add buzzer_pin and/or led_pin "
            "(the GPIO it is wired to), phone: true if the circle's notifier asks on their phone, "
            "or set enabled: false",
        )
    if checkin.buzzer_pin is not None and checkin.buzzer_pin == checkin.led_pin:
        errors.add(checkin_lines.get("led_pin", 1), "detection.checkin.led_pin", "the buzzer already uses this pin")
    if config.detection.enabled and config.keep_days < config.detection.window_days:
        errors.add(
            raw.lines.get("keep_days", 1),
            "keep_days",
            f"keeps {config.keep_days} days of events, but the routine is learned from"
            f" detection.window_days: {config.detection.window_days:g}; keep at least that many",
        )
    check_mqtt(config.mqtt, raw, errors)
    check_history(config, raw, errors)
    if state is not None:  # last: the agent's directory is made only for a config with no other mistake
        from sentinel.config.statecheck import check_state_dir

        check_state_dir(config.state_dir, raw, errors, run=state == "run")


def _used_once(seen: dict[Any, int], value: object, shown: str, i: int, line: int, key: str, errors: Any) -> None:
    """What two sensors cannot share (a name, a pin, a Zigbee device): the second to use it is a mistake."""
    if value is None:
        return
    if value in seen:
        errors.add(line, f"sensors[{i}].{key}", f"{shown} is already used by sensors[{seen[value]}]")
    seen.setdefault(value, i)


def check_waits(config: Config, detection_raw: Any, errors: Any) -> None:
    """A ceiling (always alert after this much quiet) is no shorter than the floor (never alert sooner)."""
    detection = config.detection
    pairs: list[tuple[str, Seconds | None, Seconds | None, Any]] = [
        ("detection", detection.floor, detection.ceiling, getattr(detection_raw, "lines", {}))
    ]
    for i, rule in enumerate(detection.rooms):
        pairs.append((f"detection.rooms[{i}]", rule.floor, rule.ceiling, detection_raw["rooms"][i].lines))
    for key, floor, ceiling, lines in pairs:
        if floor is not None and ceiling is not None and ceiling < floor:
            errors.add(
                lines.get("ceiling", 1),
                f"{key}.ceiling",
                f"{_show(Seconds(ceiling))} is shorter than {key}.floor, {_show(Seconds(floor))}: the longest wait"
                " before an alert cannot be shorter than the shortest",
            )


def check_history(config: Config, raw: dict, errors: Any) -> None:
    """History that is on needs an address, its token in the environment and the history extra installed."""
    history = config.history
    if not history.enabled:
        return
    lines = getattr(raw.get("history"), "lines", {})
    if history.url is None:
        errors.add(lines.get("enabled", 1), "history.url", "history is on: give the database's address")
    if history.token_env and (problem := env_problem(history.token_env)):
        errors.add(lines.get("token_env", 1), "history.token_env", problem)
    if history.url and (path := write_path(str(history.url))):
        errors.add(
            lines.get("url", 1),
            "history.url",
            "give the database's address alone (like http://nas.local:8086):"
            f" the client adds /api/v2/write itself, and {path} would be sent to as {path}/api/v2/write",
        )
    # find_spec does not import it: the client is only loaded by an agent that writes history.
    if importlib.util.find_spec("influxdb_client") is None:
        errors.add(
            lines.get("enabled", 1),
            "history.enabled",
            'needs the history extra: sudo /opt/sentinel/bin/pip install "$HOME/sentinel[history]" (from your copy'
            " of sentinel; docs/grafana/README.md), or set enabled: false",
        )


def check_mqtt(mqtt: MqttConfig, raw: LineDict, errors: Any, check_secrets: bool = True) -> None:
    """Broker credentials and certificates must be there to be read (the secrets only if ``check_secrets``)."""
    mqtt_raw = raw.get("mqtt") or {}
    mqtt_lines = getattr(mqtt_raw, "lines", {})
    if mqtt.password_env and mqtt.password_file:
        errors.add(
            mqtt_lines.get("password_file", 1), "mqtt.password_file", "give password_env or password_file, not both"
        )
    if (mqtt.password_env or mqtt.password_file) and not mqtt.username:
        key = "password_env" if mqtt.password_env else "password_file"
        errors.add(mqtt_lines.get(key, 1), f"mqtt.{key}", "a password needs mqtt.username")
    if check_secrets and mqtt.password_env and (problem := env_problem(mqtt.password_env)):
        errors.add(mqtt_lines["password_env"], "mqtt.password_env", problem)
    if check_secrets and mqtt.password_file and not os.access(mqtt.password_file, os.R_OK):
        errors.add(mqtt_lines["password_file"], "mqtt.password_file", f"cannot read {mqtt.password_file}")
    if mqtt.tls:
        tls_lines = getattr(mqtt_raw.get("tls"), "lines", {})
        for key in ("ca_file", "cert_file", "key_file"):
            value = getattr(mqtt.tls, key)
            # The key is a secret like the password: a carer's tool may not be allowed to read it.
            secret = key == "key_file"
            if value and (check_secrets or not secret) and not os.access(value, os.R_OK):
                errors.add(tls_lines.get(key, 1), f"mqtt.tls.{key}", f"cannot read {value}")
        if bool(mqtt.tls.cert_file) != bool(mqtt.tls.key_file):
            errors.add(mqtt_lines.get("tls", 1), "mqtt.tls", "cert_file and key_file go together")


def check_circle(
    config: CircleConfig,
    raw: LineDict,
    errors: Any,
    check_secrets: bool = True,
    state: Literal["run", "check"] | None = None,
) -> None:
    """Rules that span several keys of a notifier config; ``state``: also whether state_dir can be written."""
    from sentinel.config.circle import check_phones
    from sentinel.config.circlerules import check_example_topics, check_homes_lived_at, check_someone_home

    members_raw = raw["members"]
    seen: dict[str, int] = {}
    topics: dict[str, int] = {config.ntfy.ack_topic: -1}
    for i, member in enumerate(config.members):
        lines = members_raw[i].lines
        if member.id in seen:
            errors.add(
                lines.get("id", 1), f"members[{i}].id", f"{member.id!r} is already used by members[{seen[member.id]}]"
            )
        seen.setdefault(member.id, i)
        if member.topic in topics:
            other = "ntfy.ack_topic" if topics[member.topic] < 0 else f"members[{topics[member.topic]}]"
            errors.add(lines.get("topic", 1), f"members[{i}].topic", f"is already used by {other}")
        topics.setdefault(member.topic, i)
    known = ", ".join(seen)
    homes_raw = raw["homes"]
    home_ids: set[str] = set()
    for h, home in enumerate(config.homes):
        lines = homes_raw[h].lines
        if home.id in home_ids:
            errors.add(lines.get("id", 1), f"homes[{h}].id", f"{home.id!r} is listed twice")
        home_ids.add(home.id)
        if not home.tiers or not all(home.tiers):
            errors.add(lines.get("tiers", 1), f"homes[{h}].tiers", "needs at least one member in every tier")
        tiers_raw = homes_raw[h]["tiers"]
        for t, tier in enumerate(home.tiers):
            tier_lines = getattr(tiers_raw[t], "lines", [])
            for k, member_id in enumerate(tier):
                if member_id not in seen:
                    errors.add(
                        tier_lines[k] if k < len(tier_lines) else lines.get("tiers", 1),
                        f"homes[{h}].tiers[{t}][{k}]",
                        f"{member_id!r} is not a member (members: {known})",
                    )
        for k, member_id in enumerate(home.kit):
            if member_id not in seen:
                errors.add(
                    lines.get("kit", 1), f"homes[{h}].kit[{k}]", f"{member_id!r} is not a member (members: {known})"
                )
    for i, member in enumerate(config.members):
        check_windows(member.on_call, members_raw[i].get("on_call"), f"members[{i}].on_call", errors)
        quiet = [member.quiet_hours] if member.quiet_hours else []
        check_windows(quiet, members_raw[i].get("quiet_hours"), f"members[{i}].quiet_hours", errors)
    check_homes_lived_at(config, raw, errors)
    check_someone_home(config, raw, errors, date.today())
    check_example_topics(config, raw, errors)
    root = raw.lines
    ntfy = config.ntfy
    ntfy_lines = raw["ntfy"].lines
    if check_secrets:
        secret = os.environ.get(config.secret_env)
        if problem := env_problem(config.secret_env):
            errors.add(root.get("secret_env", 1), "secret_env", problem)
        elif len(secret or "") < 16:
            errors.add(root.get("secret_env", 1), "secret_env", f"{config.secret_env} must hold at least 16 characters")
        for key in ("token_env", "password_env"):
            name = getattr(ntfy, key)
            if name and (problem := env_problem(name)):
                errors.add(ntfy_lines.get(key, 1), f"ntfy.{key}", problem)
    if ntfy.token_env and ntfy.username:
        # Both would send the password (Basic auth) in place of the token, without a word.
        errors.add(
            ntfy_lines.get("username", 1),
            "ntfy.username",
            "give token_env, or username with password_env, not both: the password would replace the token",
        )
    elif ntfy.username and not ntfy.password_env:
        errors.add(ntfy_lines.get("username", 1), "ntfy.username", "a user name needs ntfy.password_env")
    if ntfy.password_env and not ntfy.username:
        errors.add(ntfy_lines.get("password_env", 1), "ntfy.password_env", "a password needs ntfy.username")
    check_phones(config, raw, errors)
    check_mqtt(config.mqtt, raw, errors, check_secrets)
    if state is not None:  # last, as for the agent: nothing is made for a config with another mistake
        from sentinel.config.statecheck import check_state_dir

        check_state_dir(config.state_dir, raw, errors, state == "run", "notifier.db", "notifier")
