"""The writes the store has yet to take: kept in order, batched for sensor events, tried again while the card fails.

A database deleted or damaged meanwhile is started afresh, and the subclass (the agent's Journal) says what
of its memory goes into the fresh one first.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sentinel.core.events import Event
from sentinel.errors import StoreError
from sentinel.sqlite import describe, is_corrupt
from sentinel.store import Store

log = logging.getLogger(__name__)

RETRY = 30.0
"""Seconds between attempts to write again while the store fails."""
CHECK = 60.0
"""Seconds between checks that the database file is still there, when nothing is written."""
MAX_WAITING_EVENTS = 50_000
"""Sensor events kept in memory while the store fails (about two weeks of a busy home); older ones are dropped."""

Write = Callable[[Store], object]


@dataclass(frozen=True)
class EventWrite:
    """A sensor event waiting to be stored; those waiting together are stored in one transaction."""

    event: Event

    def __call__(self, store: Store) -> None:
        store.add_event(self.event)


class WriteQueue:
    """Writes to the store, oldest first; each is kept until the store takes it."""

    def __init__(self, store: Store, event_batch_s: float = 0.0) -> None:
        """``event_batch_s``: sensor events wait up to this long to be stored together (0: each at once)."""
        self.store = store
        self.event_batch_s = event_batch_s
        self._next_events = 0.0  # the monotonic time waiting sensor events are next stored
        self._flushing = threading.RLock()
        self.failing: str | None = None
        """Why the store cannot be written now, in words; None while it can."""
        self.notice: str | None = store.renewed
        """The last time the database had to be started afresh, and why."""
        self._writes: deque[tuple[bool, Write]] = deque()  # (a sensor event?, the write), oldest first
        self._events_waiting = 0
        self._dropped = 0
        self._next_try = 0.0

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
        if self.failing and self._next_try > mono + RETRY:
            self._next_try = mono + RETRY  # it began failing since the next check was planned: retried as promised
        if mono >= self.next_try:
            self._next_try = mono + RETRY  # also if the flush fails in a way not foreseen: not at every turn
            if self.flush():
                self._next_try = mono + CHECK

    def damaged(self, why: str) -> None:
        """The database is damaged: keep it aside, start a fresh one and write what memory holds into it."""
        if self.store.due is not None and self.store.due[1]:
            return  # known already: it is kept aside as soon as the card lets it (``flush``), and the keepers told
        try:
            self.renew(why, damaged=True)
        except (sqlite3.Error, StoreError, OSError) as exc:
            self._failed(exc)  # the fresh file is tried again with the next flush (``store.due``)
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
                    self._reopen()
                    if self.store.replaced():
                        self.renew("the database file was deleted while the monitor ran")
                    self._drain()
                    break
                except (sqlite3.DatabaseError, StoreError) as exc:
                    cause = exc.__cause__ if isinstance(exc, StoreError) else exc
                    if attempt == 2 or not is_corrupt(cause):
                        raise
                    self.renew(f"the database was damaged ({cause})", damaged=True)
        except (sqlite3.Error, StoreError, OSError) as exc:  # the card: everything waits in memory
            self._failed(exc)
        else:
            self._recovered()
        return self.failing is None

    def _reopen(self) -> None:
        """Start the fresh file a failing card kept from being started, or open for writing a file only read."""
        if self.store.due is not None:
            self.renew(*self.store.due)
        elif not self.store.writable:
            self.store.reopen()

    def _drain(self) -> None:
        while self._writes:
            event, write = self._writes[0]
            if isinstance(write, EventWrite) and self._store_events():
                continue
            try:
                write(self.store)
            except (sqlite3.OperationalError, StoreError, OSError):
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
        except (sqlite3.OperationalError, StoreError, OSError):
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
        self._writes = deque([(False, self._snapshot()), *events])

    def _snapshot(self) -> Write:
        """The one write that puts everything held in memory into a fresh database."""
        raise NotImplementedError

    def _failed(self, exc: BaseException) -> None:
        cause = exc.__cause__ if isinstance(exc, StoreError) and exc.__cause__ is not None else exc
        if getattr(cause, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY and self.store.writable:
            # SQLite opened the file for reading only without a word (a WAL file left by a kill, on a card gone
            # read-only): opened again at the next try, or the writes would wait in memory until a restart.
            self.store.writable = False
        why = describe(cause, self.store.path)
        if self.store.due is not None:
            why = f"{self.store.due[0]}, and no fresh one can be started yet: {why}"
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
