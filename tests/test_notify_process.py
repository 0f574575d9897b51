"""The notifier as a real process: killed with SIGKILL mid-escalation and restarted."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from circle_driver import SECRET, TOPICS, alert, circle_yaml
from conftest import ROOT, Mosquitto, sentinel_cmd, wait_for
from ntfy_fake import FakeNtfy
from sentinel.notifier.store import NotifierStore


class NotifierProcess:
    """`sentinel notify` as a process on a config of its own, on the real clock (so without quiet hours)."""

    def __init__(self, tmp_path: Path, port: int, ntfy_url: str, base: str, edit=str) -> None:
        self.config = tmp_path / "circle.yaml"
        text = edit(circle_yaml(port, ntfy_url, tmp_path / "state", base))
        # The real clock: no quiet hours, so the test means the same at any hour.
        self.config.write_text(text.replace('    quiet_hours: {start: "22:00", end: "07:00"}\n', ""))
        self.env = {**os.environ, "SENTINEL_ACK_SECRET": SECRET}
        self.logs = tmp_path / "notifier.log"

    def start(self) -> subprocess.Popen[str]:
        """Start it, and wait until the broker has confirmed its subscriptions."""
        logs = self.logs
        starts = logs.read_text().count("subscribed: following") if logs.exists() else 0
        with open(logs, "a") as out:
            proc = subprocess.Popen(
                sentinel_cmd("notify", "-c", str(self.config)),
                env=self.env,
                cwd=ROOT,
                text=True,
                stdout=out,
                stderr=out,
            )
        wait_for(lambda: logs.read_text().count("subscribed: following") > starts, 20, "the notifier to connect")
        return proc


@pytest.mark.long(31)
def test_killed_mid_escalation_nothing_is_lost_and_nothing_sent_twice(tmp_path: Path, broker: Mosquitto) -> None:
    ntfy = FakeNtfy()
    base = f"t{uuid.uuid4().hex[:8]}"
    process = NotifierProcess(tmp_path, broker.port, ntfy.url, base, lambda t: t.replace("step: 5m", "step: 30s"))
    start, logs = process.start, process.logs

    agent = mqtt.Client(CallbackAPIVersion.VERSION2)
    agent.connect("127.0.0.1", broker.port)
    agent.loop_start()
    notifier = start()
    try:
        # The first delivery is kept by ntfy, whose answer is slow: the notifier is killed before it hears.
        ntfy.failures = [-4]
        agent.publish(f"{base}/mary/alert", json.dumps(alert()), qos=1).wait_for_publish(5)
        wait_for(lambda: ntfy.to(TOPICS["ann"]), 20, "the first delivery to reach ntfy and hang")
        os.kill(notifier.pid, signal.SIGKILL)
        notifier.wait(10)
        assert len(ntfy.to(TOPICS["ann"])) == 1  # kept by ntfy; the notifier never heard so
        # An alert published while no notifier runs waits in its persistent session.
        agent.publish(f"{base}/mary/alert", json.dumps(alert("mary-inactivity-2")), qos=1).wait_for_publish(5)

        notifier = start()

        def alerts(member: str) -> list[str]:
            notes = [n for n in ntfy.to(TOPICS[member]) if n.get("actions") and n["priority"] < 5]  # not the final call
            return [json.loads(n["actions"][0]["body"])["alert_id"] for n in notes]

        wait_for(lambda: len(alerts("ann")) == 2, 30, "both alerts to reach Ann")
        wait_for(lambda: len(alerts("carol")) == 2, 60, "the next tier, 30 s later")
    finally:
        notifier.send_signal(signal.SIGTERM)
        notifier.wait(20)
        agent.disconnect()
        agent.loop_stop()
        ntfy.close()
    assert notifier.returncode == 0, logs.read_text()
    # The notifier has stopped: nothing more can arrive, so these counts are final.
    assert sorted(alerts("ann")) == ["mary-inactivity-1", "mary-inactivity-2"]  # once each
    assert sorted(alerts("carol")) == ["mary-inactivity-1", "mary-inactivity-2"]


def test_killed_after_ntfy_took_a_notification_but_before_it_answered_it_is_not_sent_again(
    tmp_path: Path, broker: Mosquitto
) -> None:
    base = f"t{uuid.uuid4().hex[:8]}"
    notifier: subprocess.Popen[str] | None = None
    armed: list[bool] = []

    def kill_when_armed(body: dict[str, object]) -> None:
        # ntfy has stored it and not yet answered: the worst moment to die.
        if armed and notifier is not None:
            armed.clear()
            os.kill(notifier.pid, signal.SIGKILL)

    ntfy = FakeNtfy(on_publish=kill_when_armed)
    process = NotifierProcess(tmp_path, broker.port, ntfy.url, base)
    start, logs = process.start, process.logs

    agent = mqtt.Client(CallbackAPIVersion.VERSION2)
    agent.connect("127.0.0.1", broker.port)
    agent.loop_start()
    notifier = start()
    try:
        # The first time nothing was sent to Ann's topic before; the second time ntfy is read after the last.
        for n in (1, 2):
            armed.append(True)
            agent.publish(f"{base}/mary/alert", json.dumps(alert(f"mary-inactivity-{n}")), qos=1).wait_for_publish(5)
            notifier.wait(20)  # killed mid-request
            assert len(ntfy.to(TOPICS["ann"])) == n  # ntfy has it; the notifier never heard so
            notifier = start()
            wait_for(lambda: settled(tmp_path / "state" / "notifier.db"), 20, "the delivery to be settled")
    finally:
        notifier.send_signal(signal.SIGTERM)
        notifier.wait(20)
        agent.disconnect()
        agent.loop_stop()
        ntfy.close()
    assert notifier.returncode == 0, logs.read_text()
    # The notifier has stopped: nothing more can arrive, so the count is final.
    assert len(ntfy.to(TOPICS["ann"])) == 2
    store = NotifierStore(tmp_path / "state" / "notifier.db", read_only=True)
    try:
        for n in (1, 2):
            # Ann's: on the real clock Bob is told too at weekends (he is on call then).
            steps = store.steps(f"mary-inactivity-{n}")
            sent = [detail for _, what, who, detail in steps if what == "sent" and who == "ann"]
            assert sent == ["Mary: unusually quiet (found at ntfy after a restart)"]
    finally:
        store.close()


def settled(path: Path) -> bool:
    """Every delivery the notifier recorded has gone (read beside the running notifier)."""
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM deliveries")]
    return bool(statuses) and all(status == "sent" for status in statuses)
