"""What every part of the agent shares: its state, and the steps one part asks of another.

The agent is composed, as gpiozero composes its devices, from mixins that each hold one concern
(``home.py``: decisions about alerts, status and mode; ``quiet.py``: the routine and unusual quiet;
``messages.py``: MQTT in and out) over this state; ``app.py`` wires them and runs the loop.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gpiozero.pins import Factory

from sentinel.agent.gpio import SensorPin, Signal
from sentinel.agent.journal import Journal
from sentinel.agent.kit import Kit
from sentinel.agent.outbox import OutboxSender
from sentinel.agent.receipts import Receipts
from sentinel.agent.zigbee import Reading as ZigbeeReading
from sentinel.agent.zigbee import Zigbee
from sentinel.clock import Clock
from sentinel.config import Config, SensorConfig
from sentinel.core import protocol
from sentinel.core.alerts import Alert
from sentinel.core.events import Event
from sentinel.core.sensors import ButtonLogic, DoorLogic, Gesture, MotionLogic, Reading
from sentinel.core.status import Flip, Mode
from sentinel.mqtt.link import MqttLink
from sentinel.mqtt.topics import Topics
from sentinel.store import Store

if TYPE_CHECKING:
    from sentinel.agent.day import DayShare
    from sentinel.agent.history import History
    from sentinel.agent.learner import Learner
    from sentinel.agent.learning import Learning
    from sentinel.agent.meaning import Meaning
    from sentinel.detect.watch import Watch

Logic = MotionLogic | DoorLogic | ButtonLogic


def make_logic(sensor: SensorConfig, level: bool) -> Logic:
    """The pure logic for one sensor, starting from its current level."""
    if sensor.kind == "motion":
        logic = MotionLogic(sensor.hold_time)
        if level:
            logic.edge(True, 0.0)
        return logic
    if sensor.kind == "button":
        return ButtonLogic(sensor.bounce, sensor.help, sensor.long_press, sensor.double_press)
    # A door, a cupboard, a mat, an appliance's current switch, a flush: a contact that settles on 0 or 1.
    return DoorLogic(sensor.bounce, level)


def iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


class AgentBase:
    """The agent's state (set in ``Agent.__init__``), and what one part of it asks of another."""

    config: Config
    store: Store
    clock: Clock
    pin_factory: Factory | None
    _nonce: Callable[[], str]
    topics: Topics
    queue: queue.Queue[Any]
    pins: dict[str, SensorPin]
    logic: dict[str, Logic]
    history: History | None
    day: DayShare | None  # today's "up" and outings, only with home.share_day
    signal: Signal | None
    zigbee: Zigbee
    link: MqttLink
    journal: Journal
    outbox: OutboxSender
    receipts: Receipts
    learning: Learning | None
    kit: Kit
    mode: Mode
    status: str
    status_since: datetime
    status_reason: str
    _start_reason: str
    _storage_told: str
    _heartbeat_seq: int
    connections: int
    _started: float
    _next_heartbeat: float

    @property
    def watch(self) -> Watch | None:
        """The routine the agent watches with (None with detection off)."""
        return self.learning.watch if self.learning is not None else None

    @property
    def learner(self) -> Learner | None:
        """The short-lived learning process's keeper (None with detection off)."""
        return self.learning.learner if self.learning is not None else None

    @property
    def routine_as_of(self) -> datetime | None:
        """The time the routine in use was learned as of."""
        return self.learning.routine_as_of if self.learning is not None else None

    @property
    def routine_ready(self) -> bool:
        """Whether the routine has been relearned from the store since the start (or there is none to learn)."""
        return self.learning is None or self.learning.ready

    # Implemented by the parts named; declared here so that each part can ask for them.
    def _outputs(self, name: str, outputs: list[Reading | Gesture], wall: datetime, mono: float) -> None:
        raise NotImplementedError  # home.py

    def raise_alert(self, alert: Alert) -> None:
        raise NotImplementedError  # home.py

    def resident_ok(self, how: str, at: datetime) -> None:
        raise NotImplementedError  # home.py

    def close_alert(self, alert_id: str, who: str, what: str, note: str, at: datetime) -> bool:
        raise NotImplementedError  # home.py

    def act_on(self, meaning: Meaning, at: datetime) -> None:
        raise NotImplementedError  # home.py

    def set_mode(self, mode: Mode, reason: str) -> None:
        raise NotImplementedError  # home.py

    def _update_status(self, reason: str) -> Flip | None:
        raise NotImplementedError  # home.py

    def _zigbee(self, reading: ZigbeeReading) -> None:
        raise NotImplementedError  # home.py

    def _send_notice(self, notice: protocol.Notice, wall: datetime) -> None:
        raise NotImplementedError  # home.py

    def _remind(self, wall: datetime) -> None:
        raise NotImplementedError  # home.py

    def _watch_activity(self, event: Event) -> bool:
        raise NotImplementedError  # quiet.py

    def _kit_check(self, wall: datetime) -> None:
        raise NotImplementedError  # quiet.py

    def _signal(self, on: bool) -> None:
        raise NotImplementedError  # quiet.py

    def _publish_status(self) -> None:
        raise NotImplementedError  # messages.py

    def _publish_sensor(self, sensor: SensorConfig, value: int, at: datetime | None) -> None:
        raise NotImplementedError  # messages.py

    def _announce_to_home_assistant(self) -> None:
        raise NotImplementedError  # messages.py
