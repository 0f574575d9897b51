"""What the agent must not forget, held in memory and written through to the store whenever it can be.

While the agent runs, memory is the truth: open alerts, the outbox, settings, the last status change.
The store is what survives a kill. A write that fails (a full or read-only SD card) waits here, in
order, and is tried again; alerts still go out from memory meanwhile. A database deleted or damaged
while running is replaced by a fresh one and everything held in memory is written into it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sentinel.agent.writes import EventWrite, Write, WriteQueue
from sentinel.core.alerts import Alert
from sentinel.core.events import Event
from sentinel.core.status import Flip
from sentinel.errors import StoreError
from sentinel.sqlite import is_corrupt
from sentinel.store import Store

log = logging.getLogger(__name__)

# "boot": which boot the stored monotonic times belong to; "kit_faults": the Zigbee faults the keepers were told of
CLEARED = "quiet_cleared"  # the last all clear that set the quiet counting afresh: when, and by whom in words
RECEIVED = "alerts_received"  # the ids of the open alerts a notifier has said it has (``receipts.py``)
MODE_SINCE = "mode_since"  # when the mode was last set (``modes.py``: reminders of a monitor left away or paused)
SETTINGS = ("mode", MODE_SINCE, "last_checkin", "boot", "kit_faults", CLEARED, RECEIVED)


@dataclass(eq=False)
class Message:
    """A message for the broker, kept until it acknowledges it."""

    topic: str
    payload: str
    qos: int
    retain: bool
    created: datetime | None
    row: int | None = None  # its outbox row, once stored
    delivered: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    """What SQLite's quick check found in the database (run apart from the loop, once the agent is online)."""

    problem: str | None
    error: Exception | None = None  # the check could not read the file
    renewals: int = 0  # the store's renewals when it began: a file renewed since then is not the one checked


@dataclass
class Open:
    """An open alert and who said they are going."""

    alert: Alert
    claimed_by: str | None = None


MOVED_ON_KEPT = 8  # alerts closed on movement remembered for a claim still on its way: a few days' worth at most


class Journal(WriteQueue):
    """The agent's memory of alerts, outbox and settings; ``WriteQueue``: the writes the store has yet to take."""

    def __init__(self, store: Store, home: str, event_batch_s: float = 0.0) -> None:
        """``event_batch_s``: sensor events wait up to this long to be stored together (0: each at once)."""
        super().__init__(store, event_batch_s)
        self.home = home
        self.alerts: dict[str, Open] = {}
        self.moved_on: dict[str, Alert] = {}  # alerts closed here on movement, the latest last (``claim``)
        self.outbox: list[Message] = []
        self.settings: dict[str, str] = {}
        self.last_flip: Flip | None = None
        self.last_activity: datetime | None = None
        self._unchecked = False  # loaded, and SQLite's quick check yet to run (``check_apart``)

    # start-up
    def load(self) -> None:
        """Read what the store holds, each part on its own: one damaged part must not lose the others.

        A page that cannot be read is damage at once; the whole file is checked later (``check_apart``).
        """
        corrupt = False
        for part, read in (
            ("open alerts", self._load_alerts),
            ("outbox", self._load_outbox),
            ("settings", self._load_settings),
            ("status", self._load_status),
        ):
            try:
                read()
            except Exception as exc:  # a bad row or page: start without it rather than not at all
                corrupt = corrupt or is_corrupt(exc)
                log.error("could not read the %s from %s: %s", part, self.store.path, exc)
        # A file already waiting to be replaced (damaged, on a card that cannot move it aside) is not checked again.
        self._unchecked = not corrupt and self.store.due is None
        if corrupt:
            self.damaged("the database was damaged (a page could not be read)")

    def check_apart(self, put: Callable[[Checked], None]) -> None:
        """SQLite's quick check over the whole file, on a thread of its own; ``put`` gets what it found.

        It reads every page (seconds for a year of history on a Pi Zero), so the agent goes online first and
        hands the result to ``checked`` on its own thread. A file found damaged while loading is not checked.
        """
        if not self._unchecked:
            put(Checked(None, renewals=self.store.renewals))
            return
        self._unchecked = False
        renewals = self.store.renewals

        def check() -> None:
            try:
                found = Checked(self.store.damage_apart(), renewals=renewals)
            except Exception as exc:  # told to the agent's thread, as a failing card is
                found = Checked(None, exc, renewals)
            put(found)

        threading.Thread(target=check, name="store-check", daemon=True).start()

    def checked(self, found: Checked) -> None:
        """Act on the quick check: a damaged file is kept aside and what memory holds goes into a fresh one."""
        if found.renewals != self.store.renewals:
            return  # a fresh file was started meanwhile: the one checked is no longer written
        if isinstance(found.error, (sqlite3.Error, StoreError, OSError)):
            self._failed(found.error)
        elif found.error is not None:
            log.error("could not check the database %s: %s", self.store.path, found.error, exc_info=found.error)
        elif found.problem is not None:
            self.damaged(f"the database was damaged ({found.problem})")

    def _load_alerts(self) -> None:
        store = self.store
        self.alerts = {a.alert_id: Open(a, store.claimed_by(a.alert_id)) for a in store.open_alerts(self.home)}
        self.moved_on = {a.alert_id: a for a in store.moved_on(self.home, MOVED_ON_KEPT)}  # across a restart too

    def _load_outbox(self) -> None:
        self.outbox = [Message(i.topic, i.payload, i.qos, i.retain, i.created, row=i.id) for i in self.store.pending()]

    def _load_settings(self) -> None:
        self.settings = {k: v for k in SETTINGS if (v := self.store.get_setting(k)) is not None}

    def _load_status(self) -> None:
        self.last_flip = self.store.last_flip()
        self.last_activity = self.store.last_activity()

    # what the agent knows
    def open_alerts(self) -> list[Alert]:
        return sorted((o.alert for o in self.alerts.values()), key=lambda a: a.raised_at)

    def claimed_by(self, alert_id: str) -> str | None:
        found = self.alerts.get(alert_id)
        return found.claimed_by if found else None

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return self.settings.get(key, default)

    # what changes
    def add_event(self, event: Event) -> None:
        if event.is_activity:
            self.last_activity = event.wall
        self._write(EventWrite(event), event=True)

    def prune(self, before: datetime) -> None:
        """Delete the sensor events older than ``before`` (the routine learns from the newer ones)."""

        def write(store: Store) -> None:
            count = store.prune_events(before)
            if count:
                log.info("deleted %d sensor events from before %s", count, f"{before:%Y-%m-%d}")

        self._write(write)

    def raise_alert(self, alert: Alert, topic: str, payload: str) -> Message:
        """An open alert and its message; both stored in one transaction when the store can be written."""
        self.alerts[alert.alert_id] = Open(alert)
        message = self._message(topic, payload, alert.raised_at)

        def write(store: Store) -> None:
            if message.delivered:
                store.add_alert(alert)
            else:
                message.row = store.raise_alert(alert, topic, payload)

        self._write(write)
        return message

    def close_alert(self, alert_id: str, at: datetime, by: str, note: str, tell: tuple[str, str] | None) -> bool:
        """Close an open alert and, with ``tell`` (topic, payload), queue what tells the circle; False if not open."""
        closed = self.alerts.pop(alert_id, None)
        if closed is None:
            return False
        if by == "sensors":  # a claim may still be on its way
            self.moved_on[alert_id] = closed.alert
            while len(self.moved_on) > MOVED_ON_KEPT:
                self.moved_on.pop(next(iter(self.moved_on)))
        if tell is None:
            self._write(lambda s: s.close_alert(alert_id, at, by, note))
            return True
        topic, payload = tell
        message = self._message(topic, payload, at)

        def write(store: Store) -> None:
            if message.delivered:
                store.close_alert(alert_id, at, by, note)
            else:
                message.row = store.close_and_tell(alert_id, at, by, note, topic, payload)

        self._write(write)
        return True

    def claim(self, alert_id: str, by: str) -> bool:
        """Someone from the circle is going; False if the alert is unknown or closed (not on movement, below)."""
        found = self.alerts.get(alert_id)
        if found is None:
            moved_on = self.moved_on.pop(alert_id, None)
            if moved_on is None:
                return False
            # Closed here on movement while they were already setting out: the circle keeps it open until they,
            # or the resident's press, say all is well (the movement may be theirs), and so does the agent again.
            self.alerts[alert_id] = Open(moved_on, by)
            self._write(lambda s: s.reopen_alert(alert_id, by))
            return True
        found.claimed_by = by
        self._write(lambda s: s.claim_alert(alert_id, by))
        return True

    def send(self, topic: str, payload: str, at: datetime) -> Message:
        """A QoS 1 message through the outbox: it survives a broker outage and, once stored, a kill."""
        message = self._message(topic, payload, at)

        def write(store: Store) -> None:
            if not message.delivered:
                message.row = store.enqueue(topic, payload, qos=1, at=at)

        self._write(write)
        return message

    def delivered(self, message: Message) -> None:
        """The broker acknowledged ``message``."""
        message.delivered = True
        if message in self.outbox:
            self.outbox.remove(message)
        row = message.row
        if row is not None:
            self._write(lambda s: s.delivered(row))

    def set_setting(self, key: str, value: str) -> None:
        self.settings[key] = value
        self._write(lambda s: s.set_setting(key, value))

    def add_flip(self, flip: Flip) -> None:
        self.last_flip = flip
        self._write(lambda s: s.add_flip(flip))

    def _message(self, topic: str, payload: str, at: datetime) -> Message:
        message = Message(topic, payload, 1, False, at)
        self.outbox.append(message)
        return message

    def _snapshot(self) -> Write:
        """Alerts, the outbox, settings and the last status change, as they stand now, for a fresh database."""
        alerts, outbox = list(self.alerts.values()), list(self.outbox)
        settings, flip = dict(self.settings), self.last_flip
        for message in outbox:
            message.row = None  # its row was in the old file

        def snapshot(store: Store) -> None:
            rows: list[tuple[Message, int]] = []
            with store.transaction():
                for found in alerts:
                    store.keep_alert(found.alert, found.claimed_by)
                for m in outbox:
                    if not m.delivered:
                        rows.append((m, store.enqueue(m.topic, m.payload, m.qos, m.retain, m.created)))
                for key, value in settings.items():
                    store.set_setting(key, value)
                if flip is not None:
                    store.add_flip(flip)
            for m, row in rows:
                m.row = row
            log.warning("wrote %d open alerts and %d waiting messages into the fresh database", len(alerts), len(rows))

        return snapshot
