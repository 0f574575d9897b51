"""Run the real agent in its own process on mock pins, driven from standard input.

Used by tests that must kill the agent with SIGKILL. Commands, one per line:
``press SECONDS`` holds the help button; ``wait-alert`` prints ``queued ALERT_ID``
once the alert is stored in the outbox; ``die-at SQL`` makes the process kill
itself (SIGKILL) the moment SQLite starts a statement beginning with ``SQL``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from sentinel import logs
from sentinel.agent.app import Agent
from sentinel.config import load_config
from sentinel.store import Store


def main() -> None:
    config = load_config(sys.argv[1])
    logs.setup("info")
    store = Store(Path(config.state_dir) / "agent.db")
    factory = MockFactory()
    agent = Agent(config, store, pin_factory=factory)
    agent.start()
    threading.Thread(target=agent.loop, daemon=True).start()
    button = factory.pin(config.sensor("help_button").pin)
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "press":
            button.drive_low()
            time.sleep(float(args[0]))
            button.drive_high()
        elif command == "die-at":
            prefix = line.split(None, 1)[1].strip()

            def trace(sql: str, prefix: str = prefix) -> None:
                if sql.lstrip().startswith(prefix):
                    os.kill(os.getpid(), signal.SIGKILL)  # mid-way, as a power cut or the OOM killer would

            store._db.set_trace_callback(trace)
            print("armed", flush=True)
        elif command == "wait-alert":
            while not (store.open_alerts(config.home.id) and store.pending()):
                time.sleep(0.01)
            print("queued", store.open_alerts(config.home.id)[0].alert_id, flush=True)


if __name__ == "__main__":
    main()
