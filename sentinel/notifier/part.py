"""What every part of the notifier works with, given once: the circle, its database, the clock and two doorbells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sentinel.clock import Clock
from sentinel.config.circle import CircleConfig
from sentinel.notifier.store import NotifierStore


@dataclass(frozen=True)
class Shared:
    """The notifier's common ground, made once by the service and handed to each part."""

    cfg: CircleConfig
    store: NotifierStore
    clock: Clock
    secret: bytes  # signs and checks the buttons
    wake: Callable[[], None]  # the delivery thread has notifications to send
    publish: Callable[[str, str], object]  # a message to the broker (qos 1)


class Part:
    """One of the circle's concerns (incidents, consent, drills, ...); its caller holds the store's transaction."""

    def __init__(self, shared: Shared) -> None:
        self.cfg = shared.cfg  # the YAML as loaded; escalation and drills are handed the away dates as they change
        self.store = shared.store
        self.clock = shared.clock
        self.secret = shared.secret
        self.homes = {h.id: h for h in shared.cfg.homes}
        self._wake = shared.wake
        self._publish = shared.publish
