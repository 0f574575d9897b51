"""The learning process, seen from the agent: start it, wait for it off the loop, stop it when it hangs.

The agent never waits for it: a thread of its own waits, and hands what came of
it (a summary or why not) to the agent's queue. No numpy on this side.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sentinel.detect.summary import Request, Summary

log = logging.getLogger(__name__)

TIMEOUT_S = 900.0
"""Longer than learning ever takes (a year of history: under a minute on a Pi Zero 2 W): it hangs, so it is stopped."""
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # where ``sentinel`` is found, for the child to find it too


@dataclass(frozen=True, slots=True)
class Learned:
    """What came of one learning process: the summary (and its text, to keep), or why there is none."""

    request: Request
    summary: Summary | None
    text: str = ""
    error: str | None = None
    corrupt: bool = False  # SQLite found the database damaged
    seconds: float = 0.0  # wall time it took


def command() -> list[str]:
    """How to start the learning process: this interpreter, the module (``learn.py``)."""
    return [sys.executable, "-m", "sentinel.agent.learn_process"]


class Learner:
    """At most one learning process at a time for one database."""

    def __init__(
        self,
        database: Path,
        deliver: Callable[[Learned], None],
        timeout: float = TIMEOUT_S,
        argv: list[str] | None = None,
    ) -> None:
        self.database = database
        self.deliver = deliver
        self.timeout = timeout
        self.argv = argv or command()
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0  # processes started so far
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether a learning process is under way (its outcome not yet delivered)."""
        return self.proc is not None

    def start(self, request: Request) -> None:
        """Start learning; the outcome comes to ``deliver`` from another thread (a failure to start, from this one)."""
        if self.proc is not None:
            raise RuntimeError("already learning")
        env = dict(os.environ)
        if not PACKAGE_ROOT.endswith("-packages"):  # run from a checkout: the child must find the same code
            env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"  # one thread: the agent and the broker keep the other cores
        began = time.monotonic()
        try:
            proc = subprocess.Popen(
                [*self.argv, str(self.database), request.dumps()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                env=env,
                close_fds=True,
            )
        except OSError as exc:  # no process (EAGAIN, ENOMEM on a Pi short of memory): a failure like any, tried again
            self.deliver(Learned(request, None, error=f"it could not be started ({type(exc).__name__}: {exc})"))
            return
        self.proc = proc
        self.started += 1
        try:
            threading.Thread(target=self._wait, args=(proc, request, began), name="learner", daemon=True).start()
        except RuntimeError as exc:  # no thread to wait for it (memory short too): stopped, and tried again later
            proc.kill()
            proc.communicate()
            self.proc = None
            self.deliver(Learned(request, None, error=f"it could not be watched ({exc})"))

    def _wait(self, proc: subprocess.Popen[bytes], request: Request, began: float) -> None:
        """The learning process's thread: its output, or its end when it takes too long."""
        try:
            learned = self._outcome(proc, request, began)
        except Exception as exc:  # whatever happens here, the agent hears of it and tries again later
            learned = Learned(request, None, error=f"{type(exc).__name__}: {exc}")
        with self._lock:
            if self.proc is proc:
                self.proc = None
        self.deliver(learned)

    def _outcome(self, proc: subprocess.Popen[bytes], request: Request, began: float) -> Learned:
        try:
            out, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return Learned(request, None, error=f"it took longer than {self.timeout:g} s and was stopped")
        seconds = time.monotonic() - began
        if proc.returncode != 0:
            error, corrupt = f"it ended with exit status {proc.returncode}", False
            try:  # a failure it could say prints why as JSON; a crash prints nothing
                told = json.loads(out)
                error, corrupt = str(told["error"]), bool(told["corrupt"])
            except (ValueError, KeyError, TypeError):
                pass
            return Learned(request, None, error=error, corrupt=corrupt, seconds=seconds)
        text = out.decode()
        try:
            return Learned(request, Summary.loads(text), text, seconds=seconds)
        except ValueError as exc:
            return Learned(request, None, error=f"its summary is unreadable: {exc}", seconds=seconds)

    def stop(self) -> None:
        """Stop a learning process under way (the agent is stopping)."""
        with self._lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
