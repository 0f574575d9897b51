"""The routine the agent watches with, and the short-lived process that learns it: never in an alert's way.

Imported only by an agent with detection on. The agent asks for learning (at its start, at a refit the
routine wants, or again after a failure) and hands over what the learning process sent back; what that
means for the agent (check the sensors, say the status) comes back as a value.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sentinel.agent.journal import CLEARED, Journal
from sentinel.agent.learner import Learned, Learner
from sentinel.clock import Clock
from sentinel.config import Config
from sentinel.core.events import Event
from sentinel.core.protocol import QUIET_KINDS
from sentinel.detect.summary import Summary
from sentinel.detect.tracker import RETURN_ROWS
from sentinel.detect.watch import Watch, aware
from sentinel.store import Store

log = logging.getLogger(__name__)

ROUTINE = "routine"
"""The setting that keeps the last routine learned (a compact summary), for when learning fails at a start."""
RECHECK_S = 1.0
"""A deadline of the watch's that passed without an alert (postponed) is looked at again this often."""
LEARN_RETRY_S = (60.0, 6 * 3600.0)
"""After a learning process failed, the next one waits this long, doubling each time up to the second figure."""


class Learning:
    """The watch in use, and when and how it is learned again."""

    def __init__(
        self, config: Config, store: Store, journal: Journal, clock: Clock, put: Callable[[Learned], None]
    ) -> None:
        self.config = config
        self.store = store
        self.journal = journal
        self.clock = clock
        self.learner = Learner(store.path, put)
        self.watch = self.new_watch()
        self.meanwhile: list[Event] | None = None  # movement seen while the routine is relearned
        self._relearning: tuple[datetime, float, bool] | None = None  # that relearning's now, monotonic, same boot
        self._retry = LEARN_RETRY_S[0]
        self.routine_as_of: datetime | None = None  # the time the routine in use was learned as of
        self.next_learn: tuple[float, bool] | None = None  # (when, relearn all) after a learning process failed

    def new_watch(self) -> Watch:
        """A watch with an empty routine (status learning)."""
        return Watch(self.config.detection, self.config.home, self.config.sensors)

    @property
    def ready(self) -> bool:
        """Whether the routine has been relearned from the store since the start."""
        return self.meanwhile is None

    def seen(self, event: Event) -> None:
        """Movement the agent saw: kept for the routine being relearned, if one is."""
        if self.meanwhile is not None:
            self.meanwhile.append(event)

    def hold(self) -> None:
        """Status learning from the start: the movement seen until ``relearn`` begins is kept for the routine."""
        self.meanwhile = []

    def relearn(self) -> None:
        """Learn the routine again from stored events, in a process of its own; the loop and the link go on.

        Until it is done the agent watches with an empty routine (status learning) and keeps the movement it
        sees, to give to the relearned routine. If learning fails, the last routine learned takes over, or
        learning starts afresh, and it is tried again later: alerts never wait on it.
        """
        self.journal.flush()  # the events it reads are all in the store
        now, mono = self.clock.now(), self.clock.monotonic()
        boot = self.clock.boot()
        same_boot = bool(boot) and self.journal.get_setting("boot") == boot
        self.journal.set_setting("boot", boot)
        if self.meanwhile is None:  # held since the start, it keeps what was seen already
            self.meanwhile = []
        self._relearning = (now, mono, same_boot)
        request = self.watch.request(now, state=True)
        stored = self._stored()
        if stored is not None:  # judge the replay's runs as the agent did: by the routine kept in the store, if fresh
            usual = request.usual or stored.usual
            request = replace(request, usual=usual, faulty={**stored.faulty, **request.faulty})
        self.learner.start(request)

    def refit(self, now: datetime) -> None:
        """Relearn the routine as of ``now`` in the learning process; the spell being followed goes on here."""
        self.journal.flush()
        self.learner.start(self.watch.request(now, state=False))

    def due(self, mono: float) -> None:
        """Start the learning process when the routine asks for a refit, or a failed one is to be tried again."""
        if self.learner.running or self.meanwhile is not None:
            return
        if self.next_learn is not None:
            when, everything = self.next_learn
            if mono < when:
                return
            self.next_learn = None
            self.watch.detector.wanted = None
            self.relearn() if everything else self.refit(self.clock.now())
            return
        wanted = self.watch.detector.wanted
        if wanted is not None:
            self.watch.detector.wanted = None
            self.refit(wanted)

    def learned(self, item: Learned, learn_meanwhile: bool) -> bool:
        """The routine learned in the background takes over (after a restart, with the movement seen meanwhile).

        ``learn_meanwhile``: whether the movement seen meanwhile teaches the routine (the home was in its
        usual state). True when a routine took over: the sensors should then be checked for silence.
        """
        everything = item.request.state
        meanwhile = self.meanwhile or []
        if everything:
            self.meanwhile = None
        if item.summary is None:
            self._failed(item, everything)
            return False
        self._retry, self.next_learn = LEARN_RETRY_S[0], None
        summary = item.summary
        first = everything and self._first_learning()  # asked before this one is kept in its place
        self.journal.set_setting(ROUTINE, item.text)
        self.routine_as_of = summary.now
        cost = ", ".join(f"{k} {v:g}" for k, v in summary.cost.items())
        if not everything:
            self.watch.adopt(summary)
            log.info("routine relearned as of %s (%.1f s; %s)", item.request.now, item.seconds, cost)
            return True
        assert self._relearning is not None
        last = summary.last  # the movement seen since the learning process read the store
        news = [e for e in meanwhile if last is None or (e.wall, e.mono) > (last.wall, last.mono)]
        quiet = self._still_out(news)
        fresh = self.new_watch()
        fresh.alerted_at = self._alerted()  # strays held once an alert went out since the door are no return
        try:  # nor, with an alert still out for this quiet, when the first routine comes now
            fresh.restore(summary, *self._relearning, first=first and quiet is None)
        except (ValueError, KeyError, TypeError) as exc:
            self._failed(replace(item, summary=None, error=f"its state is unreadable: {exc}"), True)
            return False
        if (out_at := fresh.detector.out_at) is not None:  # but one past the wait once one was closed was hers
            fresh.detector.heard_since(self._raised_since(out_at))
        for event in news:
            fresh.activity(event, learn=learn_meanwhile)
        # After them: a sign fed here would end the alert's phase unseen by what closes it and tells the circle.
        if quiet is not None:  # raised before a restart for this very quiet: not raised again, movement may end it
            fresh.relink(quiet)
        elif (cleared := self._cleared()) is not None:  # closed in this boot, with no sign since: counted from it
            fresh.cleared(*cleared)
        self.watch = fresh
        learned = "still learning" if fresh.learning else "learned"
        log.info(
            "routine: %d stored events read, %d since the start; %s (%.1f s; %s)",
            summary.count,
            len(meanwhile),
            learned,
            item.seconds,
            cost,
        )
        return True

    def _still_out(self, news: list[Event]) -> str | None:
        """The open unusual-quiet alert whose quiet goes on (nothing since but a stray or two), if there is one."""
        quiet = [a for a in self.journal.open_alerts() if a.kind in QUIET_KINDS]
        if not quiet:
            return None
        # The front door, or a third sign, ended its quiet (the agent closed it then, unless someone going keeps it
        # open): such an alert must not stand for the quiet now, which would then never be told.
        signs: set[tuple[datetime, str, int]] = set()
        raised = aware(quiet[-1].raised_at)
        try:  # the store compares written times: from a day before, then instants (the clocks may have changed)
            for e in itertools.chain(self.store.events(raised - timedelta(days=1)), news):
                if not e.is_activity or aware(e.wall) < raised:
                    continue
                signs.add((e.wall, e.sensor, e.value))  # an event both stored and seen meanwhile counts once
                if e.kind == "door" or len(signs) >= RETURN_ROWS:
                    return None
        except Exception as exc:  # a failing card: the quiet now is watched afresh (a second alert, not none)
            log.warning("could not read the events since the open alert %s (%s)", quiet[-1].alert_id, exc)
            return None
        return quiet[-1].alert_id

    def _alerted(self) -> datetime | None:
        """When the last alert for unusual quiet went out, open or closed since (None: none, or unreadable)."""
        try:
            return self.store.last_raised(QUIET_KINDS)
        except Exception as exc:  # a failing card: the first routine may take strays for her return, as before
            log.warning("could not read when the last alert went out (%s)", exc)
            return None

    def _raised_since(self, since: datetime) -> list[tuple[datetime, datetime | None]]:
        """When the alerts for unusual quiet raised since ``since`` went out and were closed (none, if unreadable)."""
        try:
            found = self.store.raised_since(QUIET_KINDS, since)
        except Exception as exc:  # a failing card: the signs since the door are judged as the replay left them
            log.warning("could not read when the last alerts went out (%s)", exc)
            return []
        return [(aware(raised), None if closed is None else aware(closed)) for raised, closed in found]

    def _cleared(self) -> tuple[float, str, float] | None:
        """The last all clear that set the quiet counting afresh, if kept in this boot: when (monotonic), by whom
        in words, and the sign it followed (None: none, another boot's, or unreadable)."""
        try:
            kept = json.loads(self.journal.get_setting(CLEARED) or "null")
            if not kept or not kept["boot"] or kept["boot"] != self.clock.boot():
                return None
            return float(kept["mono"]), str(kept["by"]), float(kept["after"])
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignored the kept all clear (%s)", exc)
            return None

    def _failed(self, item: Learned, everything: bool) -> None:
        """Keep watching on the routine there is (or the last one stored), and try again later."""
        wait, self._retry = self._retry, min(self._retry * 2, LEARN_RETRY_S[1])
        self.next_learn = (self.clock.monotonic() + wait, everything)
        kept = "keeping the routine it had"
        if self.watch.learning and (stored := self._stored()) is not None:
            self.watch.adopt(stored, took=False)  # a stand-in while relearning: not her first learning
            kept = f"watching on the routine last learned (as of {stored.now:%Y-%m-%d %H:%M})"
        elif self.watch.learning:
            kept = "still learning"
        log.error("learning the routine failed (%s); %s; trying again in %.0f s", item.error, kept, wait)
        if item.corrupt:
            self.journal.damaged(f"the database was damaged ({item.error})")

    def _stored(self) -> Summary | None:
        """The last routine learned, as kept in the store; None if there is none, or it is unreadable."""
        text = self._stored_text()
        return None if text is None else _loads(text)

    def _first_learning(self) -> bool:
        """Whether no routine was learned before: a learning that found none yet is kept too, so the routine in it
        counts; one kept but torn (unreadable) was one, so the signs the agent kept as strays were an outing's."""
        text = self._stored_text()
        stored = None if text is None else _loads(text)
        return text is None or (stored is not None and stored.model is None)

    def _stored_text(self) -> str | None:
        """The last routine learned, as the text kept in the store; None if there is none, or it cannot be read."""
        try:
            return self.journal.get_setting(ROUTINE) or self.store.get_setting(ROUTINE)
        except Exception as exc:  # a database that cannot be read has no routine to give
            log.error("could not read the last routine learned (%s: %s)", type(exc).__name__, exc)
            return None

    def failed(self, exc: BaseException, doing: str) -> None:
        """The routine failed: start learning afresh (status learning); the help button and the outbox go on."""
        log.error("failed %s (%s: %s); learning the routine afresh", doing, type(exc).__name__, exc, exc_info=exc)
        self.watch = self.new_watch()
        if self.meanwhile is None and self.next_learn is None:
            self.next_learn = (self.clock.monotonic(), True)  # relearned from the store in the background

    def next_due(self) -> float | None:
        """The monotonic time of the watch's next deadline or the next try at learning, whichever is first."""
        times = [t for t in (self.watch.deadline(), self.next_learn[0] if self.next_learn else None) if t is not None]
        if not times:
            return None
        # One let pass (a quiet window, away, the Zigbee bridge offline, a learning process still running) is looked
        # at again each second: before, the agent's loop woke at once, again and again, a core at 100 % for days.
        due, now = min(times), self.clock.monotonic()
        return due if due > now else now + RECHECK_S


def _loads(text: str) -> Summary | None:
    """A routine kept as text; None, logged, if it cannot be read."""
    try:
        return Summary.loads(text)
    except Exception as exc:  # whatever is wrong with it, learning must start afresh rather than never
        log.error("the last routine learned, kept in the database, is unreadable (%s); relearning it", exc)
        return None
