"""The current quiet spell, followed sign by sign and judged against the learned routine: plain Python.

This is what the agent runs. Learning the routine is the ``InactivityDetector``'s (``detector.py``, with numpy),
which follows spells the same way and also keeps them to learn from; here a refit is only asked for (``wanted``)
and the learned routine is handed in (``adopt``).

Times are the home's local wall-clock times, with their UTC offset when known: the time of day (what the routine is
about) is read off the clock face, while a spell's length is the real time elapsed, which differs from the clock
face's difference across a change to or from summer time.

After the front door the resident has either come in or gone out; what follows tells which. Until a return is
seen (the door again, or ``RETURN_ROWS`` signs of life indoors), one or two indoor events are taken for stray
sensor blips in an empty home: they neither end the outing's spell nor move its line. So too once a spell at home
has outlasted its line: its alert is out, and only a return (or the door) ends it. The door again a while after
coming in, with nothing indoors between, is going out: the resident was home, unseen.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from sentinel.detect.contexts import BACK, Sign, arrival, sensor_of
from sentinel.detect.lines import Limit, Params, RoutineModel, Warmup
from sentinel.detect.silences import Silences
from sentinel.detect.silent import JUDGED_KINDS, MIN_RUNS, Kept, Run, Usual

# Signs indoors after the front door that make a return: a mat's blip is two rows, a PIR's one; a third is not.
RETURN_ROWS = 3
# "Door, then movement": a sign indoors this soon after the door is someone in; a stray falls anywhere in hours.
ARRIVAL_S = 30 * 60


class Tracker(Silences):
    """Follows the quiet spells and says when the current one becomes unusual."""

    def __init__(self, params: Params | None = None, warmup: Warmup | None = None, not_back: bool = False) -> None:
        super().__init__()
        self.params = params or Params()
        self.warmup = warmup or Warmup()
        self.outing_contexts: set[str] = set()  # the front door's contexts when it opens an outing (going out)
        self._doors: set[str] = set()  # and when it closes one (coming in)
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None  # the last sign of life
        self.last_context: str | None = None
        self.model: RoutineModel | None = None
        self.not_back = not_back  # also learn outings alone, to say when one lasts far longer than usual
        self.outing_model: RoutineModel | None = None
        self._fitted_on: date | None = None
        self.frozen = False  # neither learn nor refit: the model stays as it is (calibration checks)
        self.wanted: datetime | None = None  # a refit asked for (as of then), not yet handed to a learner
        self._from: Sign | None = None  # where the spell being measured starts: the last sign taken for hers
        self._out: Sign | None = None  # the front door, while no return has followed it
        self._strays: list[Sign] = []  # indoor signs since, not (yet) taken for a return
        self._went_out = False  # since that door, a spell from the door to the door again: a departure
        self.run = Run()  # the sensor reporting now, and whether it reports alone far beyond its usual runs
        self._latest: str | None = None  # the sensor of the last row seen, taken or not
        self._before: Kept | None = None  # where the tracker stood before that sensor's signs in a row
        self.undone = False  # the last row showed a sensor alone, and its signs before it were undone
        self.held = False  # the last row came once the alert was out, and is a stray until a return follows
        self.alert_open: bool | None = None  # told by the agent's watch; None: the alert is out past the line
        self.listening = False  # told by the watch: a sign past the line is hers (she is asked, or it was closed)

    def judge_runs(self, usual: dict[str, Usual], faulty: dict[str, tuple[Usual, datetime]]) -> None:
        """Judge runs by these until the next refit: a replay of the history judges them as the agent did."""
        self.usual, self.run.faulty = dict(usual), dict(faulty)  # no silent sensor is looked for until a refit

    @property
    def learning(self) -> bool:
        """Still on warm-up lines."""
        return self.model is None

    def activity(
        self,
        at: datetime,
        context: str,
        is_door: bool = False,
        learn: bool = True,
        refit: bool = True,
        kind: str | None = None,
    ) -> bool:
        """A sign of life: it ends the current spell and starts the next; False if it is not taken for one (yet).

        ``learn`` False leaves the ending spell out of the routine (away, paused, or during an incident); ``refit``
        False defers relearning (bulk loading).
        ``kind``: the sensor's kind; only those of ``JUDGED_KINDS`` (or unknown) can be found silent, or alone.
        """
        if self.frozen:
            learn = refit = False
        sensor, self.undone, self.held = sensor_of(context), False, False
        judged = not is_door and (kind is None or kind in JUDGED_KINDS)
        usual = self.usual.get(sensor) if judged else None  # any sensor indoors ends a run; the door does not
        if sensor != self._latest:  # its first sign since another sensor's: where its signs would be undone to
            self._latest = sensor
            judgeable = usual is not None and (usual.runs >= MIN_RUNS or sensor in self.run.faulty)
            self._before = self._kept() if judgeable else None
        if not is_door and (seen := self.run.see(sensor, at, usual)) != "taken":
            # Alone far beyond its usual runs: not the resident, nor its signs since another sensor's (undone).
            if seen == "found" and self._before is not None:
                self._undo(self._before)
            return False
        learn = learn and self.run.taken()  # a spell across signs not taken is no quiet spell of the resident's
        out = self._out.context if self._out is not None else ""
        came_in = self._out is not None and arrival(out) and (at - self._out.at).total_seconds() >= self.params.floor_s
        if came_in and is_door and not (context == f"{sensor}:0" and out == f"{sensor}:1{BACK}"):
            # Came in a while ago, nothing seen indoors since (a kit that misses rooms): the door opening again (or
            # shut again, its opening lost) is going out. A door left open after coming in, then shut, is not.
            self._returned()
        if is_door and self._out is not None and self._from is not None:
            # The door again after a while with no return between: the outing is over, this is coming in.
            if (at - self._from.at).total_seconds() >= self.params.floor_s:
                self._went_out = True
            if self._went_out:
                context += BACK
        sign, held = Sign(at, context, learn), not is_door and kind != "button" and self._alert_out(at)
        if is_door:
            self._doors.add(context)
            if not arrival(context):
                self.outing_contexts.add(context)
            if self._out is None:
                self._record(sign)
                self._going_out()
                self._went_out = False
            else:  # the door again: whatever came in between were strays, and the spell from the door goes on
                self._record(sign)
            self._out, self._strays = sign, []
        elif not held and (self._out is None or arrival(self._out.context)):  # at home, or just come in: hers
            self._strays.append(sign)  # (and any strays held while an alert was out)
            self._returned()
        else:  # after going out, or once the alert is out: a blip, an arm moved (a press is hers), until a return
            self._strays.append(sign)
            soon = not held and self._out is not None and (at - self._out.at).total_seconds() <= ARRIVAL_S
            late = self.listening and (deadline := self._out_deadline()) is not None and at >= deadline  # asked: back
            if soon or late or kind == "button" or len(self._strays) >= RETURN_ROWS:
                self._returned()
            elif held:
                self.held = True  # not taken for the resident's (yet): the quiet goes on, and its alert with it
                return False
        self.first_at = self.first_at or at
        self.last_at, self.last_context = at, context
        if self._watch_sensors(sensor_of(context), at, judged) and refit and self.model is not None:
            self.refit(at)
        if refit and at.date() != self._fitted_on and (at - self.first_at) >= timedelta(days=self.warmup.min_days):
            self.refit(at)
        return True

    def refit(self, now: datetime) -> None:
        """Ask for the routine to be relearned from the window of spells before ``now`` (see ``wanted``)."""
        self.wanted, self._fitted_on = now, now.date()

    def adopt(
        self, model: RoutineModel | None, outing_model: RoutineModel | None, usual: dict[str, Usual], on: date | None
    ) -> None:
        """The routine learned elsewhere (on day ``on``) takes over from now."""
        self.model, self.outing_model, self.usual = model, outing_model, usual
        self._fitted_on = self._fitted_on if on is None else on
        self._plan_check()

    def _record(self, sign: Sign) -> None:
        """The spell from the last sign of life taken for the resident's to this one ends."""
        if sign.learn and self._from is not None:
            self._spell(self._from, sign)
        self._from = sign

    def _spell(self, begun: Sign, end: Sign) -> None:
        """A spell to learn from ended (the learner keeps it; the tracker has no use for it)."""

    def _going_out(self) -> None:
        """The front door, after someone was home (the learner notes where the spell before it is)."""

    def strays_were_hers(self) -> None:
        """The first routine comes: signs after the door taken while learning were hers, as the circle was told."""
        if self._strays:  # (with none, there is no return to take: the door's spell goes on)
            self._returned()

    @property
    def out_at(self) -> datetime | None:
        """When the front door went, while no return has followed it."""
        return None if self._out is None else self._out.at

    def heard_since(self, alerts: list[tuple[datetime, datetime | None]]) -> None:
        """After a restart: the first stray once an alert raised since the door was closed (``alerts``: raised,
        closed), and before the next went out, was her return if past the outing's wait, as the agent took it then
        (``listening``; any sign taken ends it); the replay, knowing nothing of the alerts, kept it a stray."""
        deadline, raised = self._out_deadline(), [at for at, _ in alerts]
        if deadline is None:
            return
        for closed in sorted(closed for _, closed in alerts if closed is not None):
            until = min((at for at in raised if at > closed), default=None)
            first = next((s for s in self._strays if s.at >= closed), None)
            if first is not None and first.at >= deadline and (until is None or first.at < until):
                self._returned()
                return

    def _returned(self) -> None:
        """Enough signs of life indoors after the door: someone is home, and came in at the first of them."""
        for sign in self._strays:
            self._record(sign)
        self._out, self._strays = None, []

    def _kept(self) -> Kept:
        """Where the tracker stands, to go back to if the signs that follow turn out not to be the resident's."""
        stood = (self._from, self._out, tuple(self._strays), self._went_out, self.last_at, self.last_context)
        return Kept(*stood, self._mark())

    def _undo(self, kept: Kept) -> None:
        self._from, self._out, self._strays, self._went_out = kept.begun, kept.out, list(kept.strays), kept.went_out
        self.last_at, self.last_context, self.undone = kept.last_at, kept.last_context, True
        self._forget(kept.mark)

    def _mark(self) -> object:
        """Where the learner stands, for ``_forget`` (the tracker keeps no spells)."""

    def _forget(self, mark: object) -> None:
        """Forget the spells learned since ``mark``: they were timed by signs that were not the resident's."""

    def _alert_out(self, at: datetime) -> bool:
        """The spell's alert is out by ``at``: as the agent's watch says, else once past the learned line."""
        if self.alert_open is not None:  # the agent's watch says, while learning too: a blip must not close the alert
            return self.alert_open
        # A replay on the fixed waits holds nothing back: they say nothing of what is usual.
        return self.model is not None and (due := self.alert_at()) is not None and at >= due

    @property
    def gone(self) -> Sign | None:
        """The front door she went out through, while no return has followed it (not after coming in)."""
        return self._out if self._out is not None and not arrival(self._out.context) else None

    def _out_deadline(self) -> datetime | None:
        """When the spell that began at the front door becomes unusual (None: never)."""
        line = math.inf if self._out is None else self._door_line(self._out)
        return None if self._out is None or math.isinf(line) else self._out.at + timedelta(seconds=line)

    def _door_line(self, door: Sign) -> float:
        if self.outing_model is not None and not arrival(door.context):
            return self.outing_model.line(door.context, door.at)
        if self.model is None:  # learning: she came in (the fixed waits), or went out and may have fallen (a day)
            return self.warmup.line(door.at) if arrival(door.context) else self.params.door_ceiling_s
        if door.context not in self.model.lines:
            return self.params.door_ceiling_s  # no outing learned yet through this door: its longest wait
        return self.model.line(door.context, door.at)

    def _left(self) -> float | None:
        """The rest of the outing's wait after a stray, from it (a blip 23 h out leaves 1 h, not a day again)."""
        assert self._out is not None and self.last_at is not None
        if (deadline := self._out_deadline()) is None:
            return math.inf
        left, learning = (deadline - self.last_at).total_seconds(), self.model is None
        if learning and (arrival(self._out.context) or (left <= 0 and self.alert_open is None)):
            return None  # the fixed waits: she came in, or a replay took a sign past the day's for hers (a day again)
        return left

    def line_s(self, afresh: bool = False) -> float | None:
        """How long the quiet may last before it is unusual (``afresh``, from an all clear: an outing's whole wait)."""
        if self.last_at is None or self.last_context is None:
            return None
        if self._out is not None:
            if self.model is None and arrival(self._out.context):  # learning, and she came in: the fixed waits
                return self.warmup.line(self.last_at)
            if not self._strays or afresh or (left := self._left()) is None:
                return self._door_line(self._out)
            return left
        at, model = self.last_at, self.model
        return self.warmup.line(at) if model is None else model.line(self.last_context, at)

    def limit(self, afresh: bool = False) -> Limit | None:
        """``line_s()`` with what set it, for the alert's reason."""
        line = self.line_s(afresh)
        if line is None or self.last_at is None or self.last_context is None:
            return None
        if self._out is not None:
            if self._strays and not afresh and self._left() is not None:
                return Limit(line, "stray", since=self._out.at)
            if self.outing_model is not None and not arrival(self._out.context):
                return self.outing_model.limit(self._out.context, self._out.at)
            if self.model is None:
                return Limit(line, "warmup", since=self._out.at)
            if self._out.context not in self.model.lines:
                return Limit(line, "ceiling")
            return self.model.limit(self._out.context, self._out.at)
        if self.model is None:
            return Limit(line, "warmup")
        return self.model.limit(self.last_context, self.last_at)

    def alert_at(self) -> datetime | None:
        line = self.line_s()
        if line is None or self.last_at is None or math.isinf(line):
            return None
        return self.last_at + timedelta(seconds=line)
