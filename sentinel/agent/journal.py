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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sentinel.core.alerts import Alert
from sentinel.core.status import Flip
from sentinel.errors import StoreError
from sentinel.events import Event
from sentinel.sqlite import describe, is_corrupt
from sentinel.store import Store

log = logging.getLogger(__name__)

RETRY = 30.0
"""Seconds between attempts to write again while the store fails."""
CHECK = 60.0
"""Seconds between checks that the database file is still there, when nothing is written."""
MAX_WAITING_EVENTS = 50_000
"""Sensor events kept in memory while the store fails (about two weeks of a busy home); older ones are dropped."""
SETTINGS = ("mode", "last_checkin", "boot")  # "boot": which boot the stored monotonic times belong to


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


@dataclass
class Open:
    """An open alert and who said they are going."""

    alert: Alert
    claimed_by: str | None = None


Write = Callable[[Store], object]


@dataclass(frozen=True)
class EventWrite:
    """A sensor event waiting to be stored; those waiting together are stored in one transaction."""

    event: Event

    def __call__(self, store: Store) -> None:
        store.add_event(self.event)


class Journal:
    """The agent's memory of alerts, outbox and settings, and the writes the store has yet to take."""

    def __init__(self, store: Store, home: str, event_batch_s: float = 0.0) -> None:
        """``event_batch_s``: sensor events wait up to this long to be stored together (0: each at once)."""
        self.store = store
        self.home = home
        self.event_batch_s = event_batch_s
        self._next_events = 0.0  # the monotonic time waiting sensor events are next stored
        self.alerts: dict[str, Open] = {}
        self.outbox: list[Message] = []
        self.settings: dict[str, str] = {}
        self._flushing = threading.RLock()
        self.last_flip: Flip | None = None
        self.last_activity: datetime | None = None
        self.failing: str | None = None
        """Why the store cannot be written now, in words; None while it can."""
        self.notice: str | None = store.renewed
        """The last time the database had to be started afresh, and why."""
        self._writes: deque[tuple[bool, Write]] = deque()  # (a sensor event?, the write), oldest first
        self._events_waiting = 0
        self._dropped = 0
        self._next_try = 0.0

    # start-up
    def load(self) -> None:
        """Read what the store holds, each part on its own: one damaged part must not lose the others."""
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
        try:
            problem = "a page could not be read" if corrupt else self.store.damage()
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        if problem is not None:
            self.damaged(f"the database was damaged ({problem})")

    def _load_alerts(self) -> None:
        store = self.store
        self.alerts = {a.alert_id: Open(a, store.claimed_by(a.alert_id)) for a in store.open_alerts(self.home)}

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
        if self.alerts.pop(alert_id, None) is None:
            return False
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
        """Someone from the circle is going; False if the alert is unknown or closed."""
        found = self.alerts.get(alert_id)
        if found is None:
            return False
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

    # writing
    @property
    def storage(self) -> str:
        """What the keepers are told about the database: "ok", failing and why, or that it was started afresh."""
        if self.failing:
            return f"failing: {self.failing}; alerts still go out, and are kept in memory until it can be written"
        return f"renewed: {self.notice}" if self.notice else "ok"

    def _write(self, write: Write, event: bool = False) -> None:
        self._writes.append((event, write))
        if event:
            self._events_waiting += 1
            if self._events_waiting == 1 and isinstance(write, EventWrite):
                self._next_events = write.event.mono + self.event_batch_s  # a batch waits from its first event
            if self._events_waiting > MAX_WAITING_EVENTS:
                self._drop_oldest_event()
        # Anything about an alert is written at once. Movement waits for the next batch (one write to the
        # card for many events, not one each), and while the card fails, for the next try.
        if not event or (not self.failing and not self.event_batch_s):
            self.flush()

    def _drop_oldest_event(self) -> None:
        for index, (event, _) in enumerate(self._writes):
            if event:
                del self._writes[index]
                self._events_waiting -= 1
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 1000 == 0:
                    log.error("the database still cannot be written: %d sensor events dropped", self._dropped)
                return

    @property
    def next_try(self) -> float:
        """The monotonic time ``tick`` next tries the waiting writes, stores a batch of events, or checks the file."""
        if self._events_waiting and not self.failing:
            return self._next_events  # the file is checked when the batch is stored
        return self._next_try

    def tick(self, mono: float) -> None:
        """Try the waiting writes again, store the batch of events, or check the file is still there, when due."""
        if mono >= self.next_try:
            self.flush()
            self._next_try = mono + (RETRY if self.failing else CHECK)

    def damaged(self, why: str) -> None:
        """The database is damaged: keep it aside, start a fresh one and write what memory holds into it."""
        try:
            self.renew(why, damaged=True)
        except (sqlite3.Error, StoreError) as exc:
            self._failed(exc)
            return
        self.flush()

    def flush(self) -> bool:
        """Write what waits, in order; a database deleted or damaged meanwhile is started afresh first."""
        with self._flushing:  # one writer at a time: a write must not be taken twice, nor dropped
            return self._flush()

    def _flush(self) -> bool:
        try:
            for attempt in (1, 2):
                try:
                    if not self.store.writable:
                        self.store.reopen()
                    if self.store.replaced():
                        self.renew("the database file was deleted while the monitor ran")
                    self._drain()
                    break
                except sqlite3.DatabaseError as exc:
                    if attempt == 2 or not is_corrupt(exc):
                        raise
                    self.renew(f"the database was damaged ({exc})", damaged=True)
        except (sqlite3.Error, StoreError) as exc:
            self._failed(exc)
        else:
            self._recovered()
        return self.failing is None

    def _drain(self) -> None:
        while self._writes:
            event, write = self._writes[0]
            if isinstance(write, EventWrite) and self._store_events():
                continue
            try:
                write(self.store)
            except (sqlite3.OperationalError, StoreError):
                raise  # the card (full, read-only, failing): this write waits and is tried again
            except sqlite3.DatabaseError as exc:
                if is_corrupt(exc):
                    raise
                log.error("dropped a write the database refuses (%s: %s)", type(exc).__name__, exc)
            except Exception as exc:  # one write that can never succeed must not hold back all that follow
                log.error("dropped a write that failed (%s: %s)", type(exc).__name__, exc, exc_info=exc)
            self._writes.popleft()
            self._events_waiting -= event

    def _store_events(self) -> bool:
        """Store the sensor events at the head of the queue in one transaction; False to take them one by one."""
        run: list[Event] = []
        for _, write in self._writes:
            if not isinstance(write, EventWrite):
                break
            run.append(write.event)
        try:
            self.store.add_events(run)
        except (sqlite3.OperationalError, StoreError):
            raise  # the card: they wait and are tried again
        except sqlite3.DatabaseError as exc:
            if is_corrupt(exc):
                raise
            return False  # one of them is refused for good: find it by writing them one at a time
        for _ in run:
            self._writes.popleft()
        self._events_waiting -= len(run)
        return True

    def renew(self, why: str, damaged: bool = False) -> None:
        """A fresh database at the store's path, and everything in memory written into it first."""
        self.store.renew(why, damaged)
        self.notice = self.store.renewed
        # Writes about alerts, the outbox and settings are in the snapshot; sensor events are not, so they stay.
        events = [(event, write) for event, write in self._writes if event]
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

        self._writes = deque([(False, snapshot), *events])

    def _failed(self, exc: BaseException) -> None:
        cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ is not None else exc
        why = describe(cause, self.store.path)
        if why != self.failing:
            log.error(
                "cannot write the database %s: %s; alerts are still sent, %d writes wait in memory",
                self.store.path,
                why,
                len(self._writes),
            )
        self.failing = why

    def _recovered(self) -> None:
        if self.failing:
            log.warning("the database %s can be written again; everything kept in memory is stored", self.store.path)
        self.failing = None
