"""The inactivity detector inside the agent: fed with events, asking the resident first.

It decides; the agent acts (status, buzzer, alerts). The wait before an alert runs on the monotonic clock; the
detector's wall-clock times (with their UTC offsets) say the time of day and how long each learned spell lasted.
The routine is learned in a process of its own (``sentinel.agent.learn_process``) and handed in; no numpy here.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sentinel.core.alerts import Alert, Severity, alert_id
from sentinel.core.events import Event
from sentinel.core.windows import within
from sentinel.detect.contexts import context_of, parts
from sentinel.detect.explain import Place, duration
from sentinel.detect.lines import Limit, params_of, warmup_of, within_room
from sentinel.detect.state import restore
from sentinel.detect.summary import Request, Summary
from sentinel.detect.told import alert_reason
from sentinel.detect.tracker import Tracker
from sentinel.detect.wallclock import JUMP_S, as_then, clock_jump, naive
from sentinel.detect.wallclock import aware as aware  # the agent reads the clock as the detector does

if TYPE_CHECKING:  # the settings' types only: detection reads no file
    from sentinel.config.detection import DetectionConfig
    from sentinel.config.model import HomeConfig, SensorConfig

log = logging.getLogger(__name__)

Phase = Literal["watching", "checking", "alerted"]
Verdict = Literal["check", "alert"]


class Watch:
    """Unusual quiet: when to ask the resident, when to tell the circle, when it is over."""

    def __init__(self, cfg: DetectionConfig, home: HomeConfig, sensors: list[SensorConfig]) -> None:
        self.cfg, self.home = cfg, home
        self.places = {s.name: Place(s.name, s.kind, s.room) for s in sensors}
        self.detector = Tracker(params_of(cfg), warmup_of(cfg), not_back=cfg.not_back)
        self.detector.alert_open = False  # told when its alert goes out, and when it is over (``Tracker.held``)
        self.rooms = {rule.room: rule for rule in cfg.rooms}
        self._door_open: dict[str, float] = {}  # door sensor -> monotonic time it opened
        self._door_alerted: set[str] = set()
        self.phase: Phase = "watching"
        self.alert_id: str | None = None
        self._since_mono: float | None = None
        self._counted_from: str | None = None  # what the quiet is counted from, when not a sign: "the all clear"
        self._last_live = False  # the last event came from this process, so its monotonic time is comparable
        self._checked_mono: float | None = None  # when ``due`` last looked
        self._check_until: float | None = None
        self._last: Event | None = None
        # Where the watch stood before the last event's sensor began its signs in a row (``activity``).
        self._before: tuple[Event | None, float | None, bool, str | None, bool] = (None, None, False, None, False)
        self._latest: str | None = None  # the sensor of the last event seen, taken or not (as the tracker keeps)
        self.alerted_at: datetime | None = None  # when the last alert for unusual quiet went out (kept in the store)

    @property
    def last_event(self) -> Event | None:
        """The last sign of life it has seen."""
        return self._last

    @property
    def learning(self) -> bool:
        return self.detector.learning

    def request(self, now: datetime, state: bool) -> Request:
        """What to ask the learning process for: the routine as of ``now`` (``state``: and where the spell stands)."""
        d, model = self.detector, self.detector.model
        hint, weight = (model.price, (model.prior_weight, model.prior_chosen_s)) if model is not None else (None, None)
        silent, faulty = tuple(sorted(d.silent)), d.run.faults_as_of(aware(now))
        return Request(now, d.params, d.warmup, d.not_back, silent, state, hint, weight, d.usual, faulty)

    def adopt(self, summary: Summary, took: bool = True) -> None:
        """A routine learned elsewhere takes over (the spell being followed goes on, and the faults it knows).

        ``took``: this watch took the signs since the front door while learning (not restored from a replay)."""
        gone, alerted = self.detector.gone, self.alerted_at
        # Strays held once an alert went out since the door (closed since or not) are no return; the warm-up's are.
        held = gone is not None and alerted is not None and aware(alerted) >= gone.at
        if took and self.detector.learning and summary.model is not None and not held:
            self.detector.strays_were_hers()
        self.detector.adopt(summary.model, summary.outing_model, summary.usual, summary.fitted_on)
        self.detector.run.faulty = {**summary.faulty, **self.detector.run.faulty}

    def restore(
        self, summary: Summary, now_wall: datetime, now_mono: float, same_boot: bool = False, first: bool = False
    ) -> None:
        """Start where the learning process left the stored history (after a restart): routine, spell, quiet.

        ``same_boot``: the stored monotonic times are of this boot (the agent restarted, the Pi did not); ``first``:
        no routine was learned before, so the signs since the front door were all taken while learning."""
        if summary.state is None:
            raise ValueError("the learned routine says nothing of where the spell stands")
        restore(self.detector, summary.state)
        self.adopt(summary, took=first)
        self._last = last = summary.last
        self._counted_from = None
        if last is None:
            return
        if same_boot and 0 < last.mono <= now_mono:
            # Restarted, not rebooted: the quiet is measured exactly, whatever the wall clock did meanwhile.
            self._since_mono, self._last_live = last.mono, True
        else:
            # A new boot: only the wall clock spans it. One behind the last event (not set yet after a boot
            # without a real-time clock) says nothing: the quiet is counted from now, late rather than false.
            self._since_mono = now_mono - max(0.0, (aware(now_wall) - aware(last.wall)).total_seconds())
        if self.detector.run.alone:  # the last events stored were a sensor's reports alone, not the resident
            self._back_to_tracker(last)

    def activity(self, event: Event, learn: bool) -> Phase:
        """A sign of life; returns the phase it ended (watching when nothing was pending)."""
        if event.kind == "door":
            if event.value:
                self._door_open.setdefault(event.sensor, event.mono)
            else:
                self._door_open.pop(event.sensor, None)
                self._door_alerted.discard(event.sensor)
        if learn and self._since_mono is not None and self._last is not None and self._last_live:
            jump = clock_jump(self._last, event)
            if abs(jump) > JUMP_S:
                # The wall clock moved (NTP on a Pi without a real-time clock): this spell's length is wrong.
                log.warning("the clock jumped by %s; the quiet spell across it is not learned", duration(jump))
                learn = False
        context = context_of(event.sensor, event.kind, event.value)
        if event.sensor != self._latest:  # where the tracker, too, keeps where it stood (``Tracker._before``)
            self._before = (self._last, self._since_mono, self._last_live, self._counted_from, self.detector.listening)
            self._latest = event.sensor
        if not self.detector.activity(aware(event.wall), context, event.kind == "door", learn=learn, kind=event.kind):
            if self.detector.undone:  # a sensor found reporting alone: the quiet goes on from the tracker's last sign
                kept = self._before[0]
                if kept is not None and self._last_live and aware(kept.wall) == self.detector.last_at:
                    # On the clock that never jumps, and from what it was counted from (a sign, or an all clear).
                    # (and whether a sign past the outing's wait is her return: after an all clear, it still is)
                    self._last, self._since_mono, self._last_live, self._counted_from, listening = self._before
                    self.detector.listening = listening
                else:
                    self._back_to_tracker(event)  # the run began before a restart: only the wall clock spans it
            return "watching"
        self._last = event
        self._last_live = True
        self._since_mono, self._counted_from = event.mono, None
        self.detector.alert_open = self.detector.listening = False
        ended, self.phase, self._check_until = self.phase, "watching", None
        return ended

    def _back_to_tracker(self, now: Event) -> None:
        """The quiet runs on from the tracker's last sign of life: timed back, on the wall clock, from the watch's."""
        at, context = self.detector.last_at, self.detector.last_context
        self._counted_from = None
        if at is None or context is None:
            self._last, self._since_mono = None, None
            return
        base, mono = (self._last, self._since_mono) if self._last and self._since_mono is not None else (now, now.mono)
        sensor, value = parts(context)
        place = self.places.get(sensor, Place(sensor, "motion", None))
        self._since_mono = mono - max(0.0, (aware(base.wall) - at).total_seconds())
        self._last = Event(sensor, place.kind, int(value or 1), place.room, at, self._since_mono)

    def relink(self, alert_id: str) -> None:
        """An unusual-quiet alert still open from before a restart is this watch's: out, and not raised again."""
        self.alert_id, self.phase, self._check_until, self.detector.alert_open = alert_id, "alerted", None, True

    def quiet_for(self, mono: float) -> float:
        """How long the quiet has lasted by ``mono``, as the watch times it: from a sign, or an all clear."""
        return 0.0 if self._since_mono is None else mono - self._since_mono

    def closed(self, mono: float, by: str = "the all clear") -> bool:
        """Its alert was closed by her word or the circle's (``by``, in words): the quiet is counted from ``mono``."""
        self.detector.alert_open = False  # the next sign is hers again
        alerted = self.phase == "alerted"  # its quiet (else an older alert's): watched again, or it is never told
        if alerted:  # and the next alert says so, not "went out" or "no sign" at the all clear
            self.phase, self._since_mono, self.detector.listening, self._counted_from = "watching", mono, True, by
        return alerted

    def cleared(self, mono: float, by: str, after: float) -> None:
        """An all clear kept from before a restart (at ``mono``, after the sign at ``after``, this boot; any sign in
        between was held while the alert was out): with none since, the quiet is counted from it, on the clock that
        never jumps (a wall clock set back, or not set after a power cut, would count it from later: a late alert)."""
        last = self._last
        if last is not None and self._last_live and after <= last.mono < mono and self.phase == "watching":
            self._since_mono, self._counted_from, self.detector.listening = mono, by, True

    def cancel_check(self, answered_at: float | None = None) -> bool:
        """The resident answered; False if nothing was being asked.

        ``answered_at`` (monotonic): an answer without movement (by command: the phone, an app) is a sign of life
        then, as a press at home is; the quiet is counted again from it, else the spell, long past its line, would
        be asked about at once."""
        if self.phase != "checking":
            return False
        self.phase, self._check_until = "watching", None
        if answered_at is not None:
            self._since_mono, self._counted_from = answered_at, f"{self.home.name}'s answer"
        self.detector.listening = answered_at is not None  # not asked any more (set away): a sign is not her answer
        return True

    def line_s(self) -> float | None:
        """The learned line for the current spell, within the room's own limits."""
        line = self.detector.line_s(afresh=self._counted_from is not None)
        rule = self.rooms.get(self._last.room or "") if self._last is not None else None
        return None if line is None else within_room(line, rule)

    def limit(self) -> Limit | None:
        """``line_s()`` with what set it: the learned line's own cause, or the room's limit."""
        learned = self.detector.limit(afresh=self._counted_from is not None)
        line = self.line_s()
        if learned is None or line is None or line == learned.seconds:
            return learned
        rule = self.rooms.get(self._last.room or "") if self._last is not None else None
        room = rule.room if rule is not None else None
        return Limit(line, "room floor" if line > learned.seconds else "room ceiling", room)

    def door_left_open(self, mono: float, wall: datetime, skip: frozenset[str] = frozenset()) -> str | None:
        """A door open longer than allowed during the night, once per opening (``skip``: doors not judged now)."""
        rule = self.cfg.door_open_at_night
        if not rule.enabled or not within(wall, rule.start, rule.end):
            return None
        for sensor, since in self._door_open.items():
            if sensor not in self._door_alerted and sensor not in skip and mono - since >= rule.after:
                self._door_alerted.add(sensor)
                return sensor
        return None

    def quiet_window(self, wall: datetime) -> bool:
        """Whether inactivity alerts wait now."""
        return any(within(wall, w.start, w.end, w.days) for w in self.cfg.quiet_windows)

    def due(self, mono: float, wall: datetime | None = None) -> Verdict | None:
        """What the current quiet spell calls for now, once."""
        self._checked_mono = mono
        line = self.line_s()
        if self._since_mono is None or line is None or line == math.inf:
            return None
        if wall is not None and self.phase == "watching" and self.quiet_window(wall):
            return None  # postponed to the end of the window
        if self.phase == "watching" and mono - self._since_mono >= line:
            if self.cfg.checkin.enabled:  # and a sign while she is asked is her answer, wherever she was
                self.phase, self._check_until, self.detector.listening = "checking", mono + self.cfg.checkin.wait, True
                return "check"
            self.phase = "alerted"
            return "alert"
        if self.phase == "checking" and self._check_until is not None and mono >= self._check_until:
            self.phase, self._check_until = "alerted", None
            return "alert"
        return None

    def deadline(self) -> float | None:
        """The next monotonic time at which ``due`` may say something."""
        line = self.line_s()
        if self.phase == "checking":
            return self._check_until
        if self.phase == "watching" and self._since_mono is not None and line is not None and line != float("inf"):
            return self._since_mono + line
        return None

    def alert(self, wall: datetime, nonce: str) -> Alert:
        """The alert for the current quiet spell."""
        last = self._last
        assert last is not None and self.detector.last_context is not None
        model, context, gone = self.detector.model, self.detector.last_context, self.detector.gone
        if self._counted_from is not None and gone is not None:
            context = gone.context  # strays or not, the outing is watched again from the all clear: its wait, its words
        # "Not back" only on the outings' own line (not_back); "door, then nothing" on the routine's is inactivity.
        outing = self.detector.outing_model is not None and context in self.detector.outing_contexts
        if outing:
            kind, model = "not_back", self.detector.outing_model
        else:
            kind = "not_up" if model is not None and model.in_night(naive(last.wall)) else "inactivity"
        place = self.places.get(last.sensor, Place(last.sensor, last.kind, last.room))
        # An alert is only due on a line, so there is one; were there not, the alert must still go out.
        limit = self.limit() or Limit(self.line_s() or 0.0, "budget")
        # How long it has been quiet, on the clock that never jumps; "since" is read off the clock as it is now.
        if self._checked_mono is not None and self._since_mono is not None:
            quiet_s = max(0.0, self._checked_mono - self._since_mono)
        else:
            quiet_s = max(0.0, (wall - last.wall).total_seconds())
        since = naive(as_then(wall - timedelta(seconds=quiet_s), last.wall))
        reason, facts = alert_reason(
            self.home.name, since, naive(wall), context, place, last.value, limit, model,
            outing, self.cfg, self.detector.run, self.places, self._counted_from,
        )
        severity: Severity = "normal" if outing else "high"
        made = Alert(alert_id(self.home.id, kind, wall, nonce), self.home.id, kind, severity, wall, reason, facts)
        self.alert_id, self.detector.alert_open, self.detector.listening = made.alert_id, True, False
        self.alerted_at = wall
        return made

    def door_alert(self, sensor: str, wall: datetime, nonce: str) -> Alert:
        """The outside door has been open too long at night."""
        place = self.places.get(sensor)
        name = f"the {place.room} door" if place and place.room else "the front door"
        minutes = round(self.cfg.door_open_at_night.after / 60)
        reason = f"{name.capitalize()} at {self.home.name}'s has been open for over {minutes} min at night."
        made = alert_id(self.home.id, "door_open", wall, nonce)
        return Alert(made, self.home.id, "door_open", "high", wall, reason, {"sensor": sensor, "open_min": minutes})
