"""Unusual quiet: the routine the agent watches with, how it is learned, and what movement and time mean for it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sentinel.agent.base import AgentBase
from sentinel.agent.meaning import of_movement
from sentinel.core.events import Event

if TYPE_CHECKING:
    from sentinel.agent.journal import Checked
    from sentinel.agent.learner import Learned
    from sentinel.agent.learning import Learning

log = logging.getLogger(__name__)


class Quiet(AgentBase):
    """Learning the routine in the background, and watching for quiet far longer than usual."""

    def _new_learning(self) -> Learning:
        # Imported here: only an agent with detection on needs the routine's code.
        from sentinel.agent.learning import Learning

        return Learning(self.config, self.store, self.journal, self.clock, self.queue.put)

    def _checked(self, found: Checked) -> None:
        """The store's check at start is done: a damaged file is renewed, then the routine is learned from it."""
        notice = self.journal.notice
        self.journal.checked(found)
        if self.journal.notice != notice and self.status_reason == self._start_reason:
            reason = f"the monitor started; {self.journal.notice}"
            if self._update_status(reason) is None:
                self.status_reason = reason  # the keepers must read why the database is new (``tick`` says it)
        if self.learning is not None:
            self.learning.relearn()  # in the background: a help press must not wait for the routine

    def _learned(self, item: Learned) -> None:
        """What the learning process sent back: a routine takes over, or it is tried again later."""
        assert self.learning is not None
        if self.learning.learned(item, learn_meanwhile=self.status in ("ok", "learning")):
            try:
                self._kit_check(self.clock.now())  # a sensor may have died before the restart
            except Exception as exc:  # a notice for the keepers must never stop the agent
                log.error("could not check the sensors for silence (%s: %s)", type(exc).__name__, exc)
        self._update_status("the routine is learned" if not self.learning.watch.learning else "learning")

    def _watch_activity(self, event: Event) -> bool:
        """Movement: learn from it, and end a check-in or an inactivity alert it answers; False if not taken.

        A sensor found reporting alone far beyond its usual runs is not taken for the resident (``silent.Run``).
        """
        assert self.learning is not None and self.watch is not None
        self.learning.seen(event)  # for the routine being relearned
        learn = self.status in ("ok", "learning")
        open_id = self.watch.alert_id
        try:
            ended = self.watch.activity(event, learn)
            place = self.watch.places[event.sensor].words(event.value)
            self._kit_check(event.wall)
        except Exception as exc:  # a failing fit must not stop the alert path
            self.learning.failed(exc, "learning from movement")
            return True
        meaning = of_movement(
            self.config.home.name,
            ended,
            place,
            event.wall,
            by_button=event.kind == "button",
            open_alert=open_id,
            resolve_on_activity=self.config.detection.resolve_on_activity,
            going=self.journal.claimed_by(open_id) if open_id else None,
            held=self.watch.detector.held,
        )
        if self.watch.detector.held:
            log.info("%s: a sign once the alert was out, not yet taken for a return (a third would be)", event.sensor)
        self.act_on(meaning, event.wall)
        return self.watch.last_event is event

    def _kit_check(self, wall: datetime) -> None:
        """Tell the keepers, once each, of a sensor silent (a dead battery) or alone (it sees something else)."""
        assert self.watch is not None
        for notice in self.kit.silent(self.watch, wall) + self.kit.alone(self.watch, wall):
            self._send_notice(notice, wall)

    def _watch_due(self, mono: float, wall: datetime) -> None:
        if self.watch is None or self.mode != "home":
            return
        try:
            if self.kit.bridge_down:
                self._watch_without_bridge(mono, wall)
            else:
                self._watch_verdict(mono, wall)
        except Exception as exc:  # a failing routine must not stop the loop
            assert self.learning is not None
            self.learning.failed(exc, "watching for unusual quiet")
            self._update_status("the routine failed and is being learned afresh")

    def _watch_verdict(self, mono: float, wall: datetime) -> None:
        assert self.watch is not None
        door = self.watch.door_left_open(mono, wall)
        if door is not None:
            self.raise_alert(self.watch.door_alert(door, wall, self._nonce()))
        self._quiet_verdict(mono, wall)

    def _watch_without_bridge(self, mono: float, wall: datetime) -> None:
        """The Zigbee bridge is offline: the wired doors are watched, and quiet only past the home's ceiling."""
        # Its sensors' silence says nothing; but the help button and the wired sensors still report, and a quiet
        # spell longer than the ceiling always alerts, whatever the sensors could or could not say.
        assert self.watch is not None
        # A Zigbee door's last report may be stale: it is judged again once the bridge is back.
        while (door := self.watch.door_left_open(mono, wall, skip=self.kit.zigbee)) is not None:
            self.raise_alert(self.watch.door_alert(door, wall, self._nonce()))
        # On the watch's own clock, which never jumps (NTP setting the wall clock back would delay it): from her
        # last sign, or from the circle's all clear.
        past = self.watch.quiet_for(mono) >= self.config.detection.ceiling
        if past or self.watch.phase == "checking":  # a check-in begun before the bridge went goes on
            self._quiet_verdict(mono, wall, bridge_down=past)

    def _quiet_verdict(self, mono: float, wall: datetime, bridge_down: bool = False) -> None:
        assert self.watch is not None
        verdict = self.watch.due(mono, wall)
        if verdict == "check":
            self._signal(True)
            self._update_status(f"Unusually quiet; asking {self.config.home.name} first.")
        elif verdict == "alert":
            self._signal(False)
            alert = self.watch.alert(wall, self._nonce())
            if bridge_down:  # why it came so late
                from sentinel.detect.explain import bridge_words

                words = bridge_words(
                    self.config.home.name, self.config.detection.ceiling, self.config.detection.checkin.enabled
                )
                alert = replace(alert, reason=f"{alert.reason} {words}", facts={**alert.facts, "bridge_offline": True})
            self.raise_alert(alert)

    def _signal(self, on: bool) -> None:
        if self.signal is not None:
            self.signal.on() if on else self.signal.off()
