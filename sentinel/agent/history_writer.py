"""The history's writer thread: keeps points in the SQLite file and sends what waits there to InfluxDB's write API.

Sending goes on in a thread of its own, each write within ``history.timeout`` in all (``history_http.py``), so a
point handed over while a write hangs is still kept in the file at once. After a failure it tries again after a
growing pause. The client library is imported by these threads only, so an agent without history never loads it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

from sentinel.agent.history_http import REFUSED, WriteFailed, writer
from sentinel.agent.lineprotocol import Point, epoch_ms
from sentinel.clock import Clock
from sentinel.config.checks import write_path
from sentinel.config.model import HistoryConfig
from sentinel.errors import StoreError
from sentinel.store import Store

log = logging.getLogger(__name__)

BATCH = 1000
"""Points sent in one request."""
RETRY_FIRST, RETRY_MAX = 1.0, 300.0
"""Seconds before trying again after a failed write: doubling from the first up to the most."""
MAX_UNSAVED = 10_000
"""Points kept in memory while the SQLite file cannot be written; older ones are dropped."""
PRUNE_EVERY = 86400.0
"""Seconds between deletions of points too old to keep waiting (older than ``keep_days``)."""


class PointWriter:
    """Points handed over by the agent's thread, stored and sent on a thread of their own."""

    def __init__(self, config: HistoryConfig, store: Store, clock: Clock, keep_days: int) -> None:
        """``keep_days``: points older than this that never reached the database are dropped."""
        self.config = config
        self.store = store
        self.clock = clock
        self.keep_days = keep_days
        self._new: deque[Point] = deque()  # from the agent's thread to the writer's
        self._unsaved: list[Point] = []  # points the SQLite file could not take (yet)
        self._saving = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        """Points the database has taken since the start."""
        self.refused = 0
        """Points the database refused one by one, logged and dropped since the start."""
        self._batch = BATCH  # fewer after a 413 (too large)
        self.failures = 0
        """Writes that failed in a row (0 while the database takes them)."""
        self.last_error: str | None = None
        self.sending = False
        """A request is on its way now."""
        self._round: threading.Thread | None = None  # sending what waits, while this thread keeps saving
        self._retry_at = 0.0  # monotonic time of the next try after a failure; 0: none pending
        self._logged: str | None = None  # the failure last logged: a failure that lasts is logged once

    def _start_writer(self) -> None:
        """Start the thread that stores and sends the points."""
        if path := write_path(str(self.config.url)):  # check-config refuses it; a config made in code may not
            log.error(
                "history: history.url %s has a path (%s): wrong, the client adds /api/v2/write"
                " itself; give the address alone, e.g. http://nas.local:8086",
                self.config.url,
                path,
            )
        self._wake.set()  # points a previous run left in the store go first
        self._thread = threading.Thread(target=self._run, name="history", daemon=True)
        self._thread.start()

    def pending(self) -> int:
        """How many points wait to be written (up to a batch from the store)."""
        with self._saving:
            held = len(self._new) + len(self._unsaved)
        try:
            return held + len(self.store.waiting_points(BATCH))
        except (sqlite3.Error, StoreError):
            return held

    def _stop_writer(self) -> None:
        """Stop the writer, and keep what it has not sent in the store."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self._round is not None:
            # A request in flight ends within the timeout; a stopping service waits 5 s at most (what is left waits).
            self._round.join(min(self.config.timeout, 5.0))
        self._save()

    def _put(self, point: Point) -> None:
        self._new.append(point)
        self._wake.set()

    # on the writer's thread
    def _run(self) -> None:
        try:
            write = writer(self.config)
        except Exception as exc:  # check-config says so before the agent starts; the points keep waiting
            log.error("history: cannot write to %s (%s: %s)", self.config.url, type(exc).__name__, exc)
            write = None
        next_prune = 0.0
        while not self._stop.is_set():
            # Idle until the agent hands over a point or a round of sending ends; after a failure, up to the pause.
            retry_at = self._retry_at
            self._wake.wait(max(0.0, retry_at - time.monotonic()) if retry_at else None)
            self._wake.clear()
            if self._stop.is_set():
                break
            self._save()  # at once, even while a write hangs: a kill then loses nothing handed over
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY
                self._prune()
            if write is None or time.monotonic() < self._retry_at or (self._round and self._round.is_alive()):
                continue  # new points are kept; they go with this round, or the next try
            self._round = threading.Thread(target=self._send_round, args=(write,), name="history-send", daemon=True)
            self._round.start()

    def _send_round(self, write: Callable[[list[str]], None]) -> None:
        """Send what waits; after a failure, set the pause before the next try (on the sending thread)."""
        try:
            sent = self._send(write)
        except Exception as exc:  # a bug here must not end the sending: the points wait, and it tries again
            log.exception("history: writing failed")
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            sent = False
        if sent:
            self._retry_at = 0.0
            self._logged = None
        else:
            pause = min(RETRY_MAX, RETRY_FIRST * 2 ** (self.failures - 1))
            self._retry_at = time.monotonic() + pause
            if self.last_error != self._logged:  # once, not at every try while it lasts
                self._logged = self.last_error
                log.warning(
                    "history: %s did not take the points (%s); they wait in the database, trying again in %g s"
                    " and later",
                    self.config.url,
                    self.last_error,
                    pause,
                )
        self._wake.set()

    def _save(self) -> None:
        """Move new points into the store; those it cannot take now stay in memory."""
        with self._saving:
            while self._new:
                self._unsaved.append(self._new.popleft())
            if not self._unsaved:
                return
            try:
                self.store.add_points(self._unsaved)
            except (sqlite3.Error, StoreError) as exc:
                if len(self._unsaved) > MAX_UNSAVED:
                    log.error(
                        "history: dropped %d points the database file could not keep", len(self._unsaved) - MAX_UNSAVED
                    )
                    del self._unsaved[:-MAX_UNSAVED]
                log.debug("history: points kept in memory for now (%s)", exc)
                return
            self._unsaved.clear()

    def _prune(self) -> None:
        before = self.clock.now() - timedelta(days=self.keep_days)
        try:
            dropped = self.store.prune_points(epoch_ms(before))
        except (sqlite3.Error, StoreError):
            return
        if dropped:
            log.warning(
                "history: dropped %d points older than %d days that never reached the database", dropped, self.keep_days
            )

    def _send(self, write: Callable[[list[str]], None]) -> bool:
        """Send everything waiting, oldest first; False after a failure (what is left waits).

        A refused batch is split in halves until the point refused is alone; that one is logged and dropped, so one
        bad point never holds up the others, and neither does a batch too large for the server.
        """
        sent_before = self.written
        size = self._batch
        split = False  # the batch being sent is half of one the server refused
        while not self._stop.is_set():
            try:
                rows = self.store.waiting_points(size)
            except (sqlite3.Error, StoreError):
                rows = []
            with self._saving:
                memory = list(self._unsaved[: size - len(rows)])
            lines = [text for _, text in rows] + [text for text, _ in memory]
            if not lines:
                break
            self.sending = True
            try:
                write(lines)
            except WriteFailed as exc:  # the network, the server, a timeout: all mean "not now", but a refusal
                self.last_error = str(exc)
                if exc.status not in REFUSED:
                    self.failures += 1
                    return False
                if len(lines) > 1:
                    size, split = max(1, len(lines) // 2), True
                    if exc.status == 413:
                        self._batch = size  # this server takes no more at once
                    log.warning(
                        "history: %s refused %d points (%s); sending fewer", self.config.url, len(lines), exc.status
                    )
                    continue
                if not exc.about_points or (split and not self.written):
                    # Not InfluxDB's word about this point (a proxy, a wrong path), or every point refused so far:
                    # the server is wrong, not the points. They wait, and it tries again.
                    self.failures += 1
                    self.last_error += ", and not about the points: check history.url and the way to the database"
                    return False
                self.refused += 1
                log.error(
                    "history: %s refused a point (%s); dropped it (%d so far): %s",
                    self.config.url,
                    self.last_error,
                    self.refused,
                    lines[0],
                )
            else:
                self.written += len(lines)
                size, split = min(self._batch, size * 2), False  # after a refusal, back to full batches
            finally:
                self.sending = False
            if not self._forget(rows, memory):
                self.failures += 1
                return False
        if self.failures and self.written > sent_before:
            log.info("history: %s takes points again; %d written", self.config.url, self.written - sent_before)
        self.failures, self.last_error = 0, None
        return True

    def _forget(self, rows: list[tuple[int, str]], memory: list[Point]) -> bool:
        """Points the database took (or refused for good) no longer wait; False if the store could not say so."""
        if memory:
            with self._saving:
                sent = set(memory)
                self._unsaved = [p for p in self._unsaved if p not in sent]
        if rows:
            try:
                self.store.points_written([row for row, _ in rows])
            except (sqlite3.Error, StoreError) as exc:  # they are sent again later, and overwrite themselves
                self.last_error = f"the database file cannot be written ({exc})"
                return False
        return True
