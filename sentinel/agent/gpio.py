"""Sensors on GPIO pins through gpiozero; the only module that touches pins.

Every input is edge-driven (no sampling thread), and bounce handling is done in
``core.sensors`` so that it behaves the same on real and mock pins.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from gpiozero import LED, BadPinFactory, Button, Buzzer, DigitalInputDevice, GPIOZeroError
from gpiozero.pins import Factory

from sentinel.config import SensorConfig
from sentinel.errors import SentinelError

log = logging.getLogger(__name__)

EdgeCallback = Callable[[str, bool], None]


class GpioError(SentinelError, RuntimeError):
    """The pins cannot be opened."""


def why(exc: GPIOZeroError) -> str:
    """gpiozero's error, and what to do when it found no pin library to load (``gpio.pin_factory: auto``)."""
    if not isinstance(exc, BadPinFactory) or os.environ.get("GPIOZERO_PIN_FACTORY"):
        return str(exc)  # a factory named in GPIOZERO_PIN_FACTORY that is not there: its message says which
    venv = sys.prefix if sys.prefix != sys.base_prefix else "/opt/sentinel"  # where scripts/install.sh makes it
    return (
        f"no pin library could be loaded ({exc}). On a Raspberry Pi the pins are read through python3-lgpio,"
        f" which sentinel's venv must see (docs/install.md, steps 1 and 3): sudo apt-get install python3-lgpio,"
        f" then sudo python3 -m venv --system-site-packages {venv} (what is installed in it stays). Off a Pi,"
        " set gpio.pin_factory: mock to try sentinel on simulated pins"
    )


def make_factory(name: str) -> Factory | None:
    """A MockFactory when asked (config or GPIOZERO_PIN_FACTORY=mock); None means gpiozero's default."""
    if name == "mock" or os.environ.get("GPIOZERO_PIN_FACTORY") == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    return None


class SensorPin:
    """One input pin, reported as the sensor's logical level (open, motion, pressed)."""

    def __init__(self, sensor: SensorConfig, factory: Factory | None, on_edge: EdgeCallback) -> None:
        self.sensor = sensor
        pull_up = sensor.pull_up if sensor.pull_up is not None else sensor.kind != "motion"
        try:
            if sensor.kind == "button":
                self.device = Button(sensor.pin, pull_up=pull_up, bounce_time=None, pin_factory=factory)
            else:
                self.device = DigitalInputDevice(sensor.pin, pull_up=pull_up, bounce_time=None, pin_factory=factory)
        except GPIOZeroError as exc:
            raise GpioError(f"sensor {sensor.name}: cannot open GPIO{sensor.pin}: {why(exc)}") from exc
        # A normally-open reed switch conducts while the door is shut, so "active" means shut. A mat, a current
        # switch or a flush switch conducts while in use: "active" means 1.
        self._inverted = sensor.kind in ("door", "contact") and sensor.normally_open
        self.device.when_activated = lambda: on_edge(sensor.name, not self._inverted)
        self.device.when_deactivated = lambda: on_edge(sensor.name, self._inverted)

    def read(self) -> bool:
        """The current logical level."""
        return self.device.is_active != self._inverted

    def close(self) -> None:
        self.device.close()


def open_sensors(sensors: list[SensorConfig], factory: Factory | None, on_edge: EdgeCallback) -> dict[str, SensorPin]:
    """Open every configured pin, or close what was opened and raise GpioError."""
    opened: dict[str, SensorPin] = {}
    try:
        for sensor in sensors:
            opened[sensor.name] = SensorPin(sensor, factory, on_edge)
    except GPIOZeroError as exc:  # e.g. no pin library at all on this machine
        _close_all(opened)
        raise GpioError(f"cannot open GPIO pins: {exc}; on a machine without GPIO set gpio.pin_factory: mock") from exc
    except GpioError:
        _close_all(opened)
        raise
    return opened


def _close_all(pins: dict[str, SensorPin]) -> None:
    for pin in pins.values():
        pin.close()


class Signal:
    """The buzzer and/or LED that ask the resident "are you all right?"."""

    def __init__(self, buzzer_pin: int | None, led_pin: int | None, factory: Factory | None) -> None:
        self.devices: list[Buzzer | LED] = []
        try:
            if buzzer_pin is not None:
                self.devices.append(Buzzer(buzzer_pin, pin_factory=factory))
            if led_pin is not None:
                self.devices.append(LED(led_pin, pin_factory=factory))
        except GPIOZeroError as exc:
            self.close()
            raise GpioError(f"cannot open the check-in buzzer or LED: {why(exc)}") from exc

    def on(self) -> None:
        for device in self.devices:
            device.blink(on_time=0.5, off_time=0.5) if isinstance(device, LED) else device.beep(0.2, 1.8)

    def off(self) -> None:
        for device in self.devices:
            device.off()

    def close(self) -> None:
        for device in self.devices:
            device.close()
