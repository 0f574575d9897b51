"""Is a home's monitor alive? A pure tracker of heartbeats, availability and the notifier's own link.

A monitor is down when it has said `offline` (or its broker said it for it, the
last will) for longer than its grace, or when nothing at all has been heard
from it for that long. Silence means something only while the notifier itself
hears the broker: while it does not, and for a full grace after it hears it
again, no home is judged (their heartbeats had no way to arrive).

A monitor is back once it has been heard again for a minute. One that drops out
again within ten minutes of being back is not announced each time: at the end of
those ten minutes one notice says how it stands and how often it dropped out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

BACK_AFTER = timedelta(seconds=60)  # heard again this long before it is said to be back
FOLD = timedelta(minutes=10)  # after a "back", drop-outs this soon are folded into one notice
# The notifier's own link lost for no longer than this does not give every home its grace again: a minute holds at
# most one missed heartbeat, and the retained availability comes again with the subscription.
BRIEF_DROP = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Change:
    """What the keepers are to be told about one home's monitor."""

    home: str
    state: str  # "offline", "online" (back), or "unsteady" (it dropped out and came back, several times)
    since: datetime  # offline: its last sign of life; online: when it was heard again
    drops: int = 0  # drop-outs folded into this notice
    first: datetime | None = None  # when the first of them was


@dataclass(slots=True)
class _Home:
    """What the circle was told about one home, and what is being held back."""

    told: str  # "online" or "offline"
    hold_until: datetime | None = None  # drop-outs until then are counted, not announced
    drops: int = 0
    first_drop: datetime | None = None
    back_since: datetime | None = None  # heard again since then, after it was said to be offline
    alive: bool = True  # as of the last check or announcement


class SilenceWatch:
    """Heartbeats, availability and the notifier's link in; what to tell about each home out."""

    def __init__(
        self,
        grace: dict[str, float],
        states: dict[str, str],
        started: datetime,
        back_after: timedelta = BACK_AFTER,
        fold: timedelta = FOLD,
    ) -> None:
        self.grace = {home: timedelta(seconds=s) for home, s in grace.items()}
        self.homes = {home: _Home(states.get(home, "online")) for home in grace}
        self.started = started
        self.back_after, self.fold = back_after, fold
        self.last_seen: dict[str, datetime] = {}
        self.availability: dict[str, tuple[str, datetime]] = {}
        self.link_up: datetime | None = None  # since when the notifier hears the broker; None: it does not
        self.link_lost_at: datetime | None = started
        self._was_up: datetime | None = None  # the link_up before the last loss
        # Nothing can change before this: checking thousands of homes on every loop would cost more
        # than the heartbeats themselves. Every event that could bring a change sooner moves it back.
        self._next_check = started

    def shift(self, delta: timedelta) -> None:
        """The wall clock jumped by ``delta``: move every time kept, so that silences keep their real length."""
        self.started += delta
        self._next_check += delta
        self.last_seen = {home: at + delta for home, at in self.last_seen.items()}
        self.availability = {home: (text, at + delta) for home, (text, at) in self.availability.items()}
        self.link_up = self.link_up + delta if self.link_up is not None else None
        self.link_lost_at = self.link_lost_at + delta if self.link_lost_at is not None else None
        self._was_up = self._was_up + delta if self._was_up is not None else None
        for state in self.homes.values():
            state.hold_until = state.hold_until + delta if state.hold_until is not None else None
            state.first_drop = state.first_drop + delta if state.first_drop is not None else None
            state.back_since = state.back_since + delta if state.back_since is not None else None

    def link_back(self, at: datetime) -> None:
        """The notifier hears the broker again: each home gets its full grace from now; after a drop of
        ``BRIEF_DROP`` or less, from when it heard it before, moved on by the time it could not (knocked off every
        second by a second notifier with its client id, it would else never tell of a monitor gone: each drop gave a
        full grace). A home heard since is judged from its last sign as ever."""
        lost, was = self.link_lost_at, self._was_up
        brief = was is not None and lost is not None and at - lost <= BRIEF_DROP
        self.link_up = was + (at - lost) if brief and was is not None and lost is not None else at
        self.link_lost_at = None
        self._next_check = min(self._next_check, at)

    def link_lost(self, at: datetime) -> None:
        """The notifier lost the broker: silence from now on says nothing about the homes."""
        if self.link_up is not None or self.link_lost_at is None:
            self.link_lost_at = at
        self._was_up = self.link_up or self._was_up
        self.link_up = None

    def heartbeat(self, home: str, at: datetime) -> None:
        self.last_seen[home] = at
        state = self.homes.get(home)
        if state is not None and (state.told == "offline" or not state.alive):
            self._next_check = min(self._next_check, at)  # it may be back

    def announce(self, home: str, text: str, at: datetime) -> None:
        """The retained availability: 'online', or 'offline' (said by the agent or by its last will).

        The same word again is no news: the broker hands the retained one over anew at every subscription, and
        taken as news it would restart the home's grace at each of the notifier's reconnects (a dead monitor never
        told while two notifiers knock each other off). The agent's heartbeats are its signs of life."""
        if home in self.availability and self.availability[home][0] == text:
            return
        self.availability[home] = (text, at)
        if text == "online":
            self.last_seen[home] = at
        elif text == "offline" and home in self.homes:
            self._dropped(self.homes[home], at)
        self._next_check = min(self._next_check, at)

    def check(self, now: datetime) -> list[Change]:
        """What to tell, as of ``now``: nothing while the notifier cannot hear the broker."""
        if self.link_up is None or now < self._next_check:
            return []
        changes = []
        next_check = now + max(self.grace.values(), default=timedelta(hours=1))
        for home, grace in self.grace.items():
            change, due = self._judge(home, grace, self.link_up, now)
            if change is not None:
                changes.append(change)
            next_check = min(next_check, due)
        self._next_check = next_check
        return changes

    def _judge(self, home: str, grace: timedelta, link_up: datetime, now: datetime) -> tuple[Change | None, datetime]:
        """One home's change (if any) and when it next needs a look."""
        state = self.homes[home]
        heard = self.last_seen.get(home)
        said, said_at = self.availability.get(home, ("", self.started))
        if said == "offline":
            last_sign = said_at
            judged_from = max(said_at, link_up)
        else:
            last_sign = heard or self.started
            judged_from = max(last_sign, link_up)
        deadline = judged_from + grace
        down = now >= deadline
        alive = said != "offline" and heard is not None and now - heard < grace
        if not alive and down:
            self._dropped(state, last_sign)
        if alive:
            state.alive = True
        if state.told == "offline":
            if not alive:
                state.back_since = None
                return None, now + grace
            state.back_since = state.back_since or heard
            assert state.back_since is not None
            if now - state.back_since < self.back_after:
                return None, state.back_since + self.back_after
            state.told, state.hold_until = "online", now + self.fold
            state.drops, state.first_drop = 0, None
            return Change(home, "online", state.back_since), min(deadline, state.hold_until)
        if state.hold_until is not None and now < state.hold_until:
            return None, state.hold_until if down else min(deadline, state.hold_until)
        drops, first = state.drops, state.first_drop
        if state.hold_until is not None:  # a spell of folding ends
            state.hold_until, state.drops, state.first_drop = None, 0, None
            if drops and not down:
                state.hold_until = now + self.fold  # it keeps at it: fold on
                return Change(home, "unsteady", last_sign, drops, first), min(deadline, state.hold_until)
        if down:
            state.told, state.back_since = "offline", None
            return Change(home, "offline", last_sign, drops, first), now + grace
        return None, deadline

    def _dropped(self, state: _Home, at: datetime) -> None:
        """It was alive and is not: counted, when drop-outs are being folded."""
        if state.alive and state.hold_until is not None:
            state.drops += 1
            state.first_drop = state.first_drop or at
        state.alive = False
