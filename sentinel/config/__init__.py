"""Read, validate and resolve the agent's YAML configuration."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sentinel.config import yamllines
from sentinel.config.model import Config, MqttConfig, SensorConfig
from sentinel.config.schema import build, is_invalid, new_errors
from sentinel.errors import ConfigError

T = TypeVar("T")

__all__ = ["Config", "ConfigError", "MqttConfig", "SensorConfig", "load_config", "parse_config", "read_password"]


def read_text(path: str | os.PathLike[str]) -> str:
    """A config file's text; ConfigError when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc


def load_config(path: str | os.PathLike[str]) -> Config:
    """Load and validate a config file; raise ConfigError listing every problem."""
    return parse_config(read_text(path), str(path))


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate YAML text; raise ConfigError listing every problem."""
    return validate(text, source, Config, _cross_check)


def validate(text: str, source: str, cls: type[T], cross_check: Callable[[T, dict, Any], None]) -> T:
    """Parse YAML text into ``cls``; ConfigError with every problem, each with its line."""
    try:
        raw = yamllines.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{source}:{line}: YAML syntax error: {problem}"]) from exc
    if not isinstance(raw, dict):
        raise ConfigError([f"{source}:1: the file must be a mapping of sections (home:, sensors:, ...)"])
    errors = new_errors(source)
    config = build(cls, raw, "", errors)
    if not is_invalid(config):
        cross_check(config, raw, errors)
    if errors.items:
        raise ConfigError(errors.sorted())
    return config


def _cross_check(config: Config, raw: dict, errors) -> None:
    """Rules that span several keys."""
    sensor_lines = getattr(raw["sensors"], "lines", [1] * len(config.sensors))
    if not config.sensors:
        errors.add(raw.lines.get("sensors", 1), "sensors", "needs at least one sensor")
    seen_names: dict[str, int] = {}
    seen_pins: dict[int, int] = {}
    for i, sensor in enumerate(config.sensors):
        line = raw["sensors"][i].lines.get("name", sensor_lines[i])
        if sensor.name in seen_names:
            errors.add(
                line, f"sensors[{i}].name", f"{sensor.name!r} is already used by sensors[{seen_names[sensor.name]}]"
            )
        seen_names.setdefault(sensor.name, i)
        pin_line = raw["sensors"][i].lines.get("pin", sensor_lines[i])
        if sensor.pin in seen_pins:
            errors.add(
                pin_line, f"sensors[{i}].pin", f"GPIO{sensor.pin} is already used by sensors[{seen_pins[sensor.pin]}]"
            )
        seen_pins.setdefault(sensor.pin, i)
    rooms = {s.room for s in config.sensors if s.room}
    detection_raw = raw.get("detection") or {}
    for i, rule in enumerate(config.detection.rooms):
        if rule.room not in rooms:
            line = detection_raw["rooms"][i].lines.get("room", 1)
            known = ", ".join(sorted(rooms)) or "none"
            errors.add(line, f"detection.rooms[{i}].room", f"no sensor is in room {rule.room!r} (rooms: {known})")
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
    if checkin.buzzer_pin is not None and checkin.buzzer_pin == checkin.led_pin:
        errors.add(checkin_lines.get("led_pin", 1), "detection.checkin.led_pin", "the buzzer already uses this pin")
    check_mqtt(config.mqtt, raw, errors)


def check_mqtt(mqtt: MqttConfig, raw: dict, errors: Any) -> None:
    """Broker credentials and certificates must be there to be read."""
    mqtt_raw = raw.get("mqtt") or {}
    mqtt_lines = getattr(mqtt_raw, "lines", {})
    if mqtt.password_env and mqtt.password_file:
        errors.add(
            mqtt_lines.get("password_file", 1), "mqtt.password_file", "give password_env or password_file, not both"
        )
    if (mqtt.password_env or mqtt.password_file) and not mqtt.username:
        key = "password_env" if mqtt.password_env else "password_file"
        errors.add(mqtt_lines.get(key, 1), f"mqtt.{key}", "a password needs mqtt.username")
    if mqtt.password_env and mqtt.password_env not in os.environ:
        errors.add(
            mqtt_lines["password_env"], "mqtt.password_env", f"environment variable {mqtt.password_env} is not set"
        )
    if mqtt.password_file and not os.access(mqtt.password_file, os.R_OK):
        errors.add(mqtt_lines["password_file"], "mqtt.password_file", f"cannot read {mqtt.password_file}")
    if mqtt.tls:
        tls_lines = getattr(mqtt_raw.get("tls"), "lines", {})
        for key in ("ca_file", "cert_file", "key_file"):
            value = getattr(mqtt.tls, key)
            if value and not os.access(value, os.R_OK):
                errors.add(tls_lines.get(key, 1), f"mqtt.tls.{key}", f"cannot read {value}")
        if bool(mqtt.tls.cert_file) != bool(mqtt.tls.key_file):
            errors.add(mqtt_lines.get("tls", 1), "mqtt.tls", "cert_file and key_file go together")


def read_password(mqtt: MqttConfig) -> str | None:
    """The broker password from the environment or a file; never logged."""
    if mqtt.password_env:
        return os.environ.get(mqtt.password_env)
    if mqtt.password_file:
        return Path(mqtt.password_file).read_text(encoding="utf-8").strip()
    return None
