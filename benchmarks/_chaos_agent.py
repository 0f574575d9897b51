"""The real agent in a process of its own on mock pins, for benchmarks/chaos.py.

Reads commands on standard input, one per line: ``help`` holds the help button
for 0.7 s (a long press). ``CHAOS_BREAK=outbox`` in the environment sends alerts
straight from memory instead of through the stored outbox: the harness must then
report lost alerts (it proves the harness can see a loss).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from sentinel import logs
from sentinel.agent.app import Agent
from sentinel.config import load_config
from sentinel.core.alerts import Alert
from sentinel.store import Store


def main() -> None:
    config = load_config(sys.argv[1])
    logs.setup("warning")
    store = Store(Path(config.state_dir or ".") / "agent.db")
    factory = MockFactory()
    agent = Agent(config, store, pin_factory=factory)
    if os.environ.get("CHAOS_BREAK") == "outbox":

        def unsafe(alert: Alert) -> None:  # what the outbox prevents: published from memory only
            store.add_alert(alert)
            agent.link.publish(agent.topics.alert, json.dumps(alert.payload()), qos=1)

        agent.raise_alert = unsafe  # type: ignore[method-assign]
    agent.start()
    threading.Thread(target=agent.loop, daemon=True).start()
    button = factory.pin(config.sensor("help_button").pin)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "help":
            button.drive_low()
            time.sleep(0.7)
            button.drive_high()


if __name__ == "__main__":
    main()
