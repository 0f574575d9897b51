"""Kill the notifier (SIGKILL) at random moments around alerts and presses; count pushes against its records.

Run from the repository root: ``python benchmarks/notifier_kills.py [--trials 40] [--seed 1]``. Starts its
own Mosquitto and ntfy stand-in (answering each publish after ``--latency`` seconds, as a server across
the internet would), and the notifier as a real process. Each trial publishes an alert, kills the
notifier 0-0.6 s later, restarts it and waits until every delivery is settled; then Ann presses "I'm
going" and the notifier is killed again 0-0.6 s later. Prints pushes, duplicates and losses.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, Mosquitto, machine, table, wait_for

from sentinel.demo.ntfy import LocalNtfy

SECRET = "benchmark-secret-0123456789"
TOPICS = {"ann": "kills-ann-0000000001", "carol": "kills-carol-00000002"}
ACK_TOPIC = "kills-acks-0000000001"


def circle_yaml(port: int, ntfy_url: str, state: Path) -> str:
    return f"""\
ntfy: {{server: "{ntfy_url}", ack_topic: {ACK_TOPIC}, timeout: 5s}}
members:
  - {{id: ann, name: Ann, topic: {TOPICS["ann"]}}}
  - {{id: carol, name: Carol, topic: {TOPICS["carol"]}}}
homes:
  - {{id: mary, name: Mary, tiers: [[ann, carol]], step: 1h, grace: 1h}}
mqtt: {{host: 127.0.0.1, port: {port}, client_id: kills-notifier-{os.getpid()}}}
state_dir: {state}
log_level: info
"""


class Notifier:
    """`sentinel notify` as a process that can be killed and started again."""

    def __init__(self, config: Path, log: Path, root: Path) -> None:
        self.config, self.log = config, log
        self.env = {**os.environ, "SENTINEL_ACK_SECRET": SECRET, "PYTHONPATH": str(root)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        starts = self.log.read_text().count("subscribed: following") if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sentinel", "notify", "-c", str(self.config)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=out,
            )
        wait_for(lambda: self.log.read_text().count("subscribed: following") > starts, 30, "the notifier")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


def settled(db: Path, incidents: int, claims: int) -> bool:
    """Every alert and claim is recorded, and every delivery has gone (or was given up)."""
    if not db.exists():
        return False
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
        taken = con.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
        claimed = con.execute("SELECT COUNT(*) FROM incidents WHERE claimed_by IS NOT NULL").fetchone()[0]
        waiting = con.execute("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')").fetchone()[0]
    return taken == incidents and claimed == claims and waiting == 0


def recorded(db: Path) -> Counter[tuple[str, str]]:
    """(member, title) of every delivery the notifier records as sent."""
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT member, body, alert_id FROM deliveries WHERE status = 'sent'").fetchall()
    return Counter((member, f"{alert_id} {json.loads(body)['title']}") for member, body, alert_id in rows)


def key(note: dict[str, object], trial_alert: str) -> tuple[str, str]:
    """(member, alert id and title) of a notification ntfy took; a note without buttons belongs to this trial."""
    member = next(m for m, topic in TOPICS.items() if topic == note["topic"])
    actions = note.get("actions") or []
    alert_id = json.loads(actions[0]["body"])["alert_id"] if isinstance(actions, list) and actions else trial_alert
    return member, f"{alert_id} {note['title']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=0.6, help="kill at most this long after (s)")
    parser.add_argument("--latency", type=float, default=0.05, help="ntfy answers a publish after (s)")
    parser.add_argument("--root", default=str(ROOT), help="the sentinel checkout the notifier runs from")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    trial_alert = [""]
    sent: Counter[tuple[str, str]] = Counter()

    def slow_answer(body: dict[str, object]) -> None:
        sent[key(body, trial_alert[0])] += 1
        time.sleep(args.latency)  # the answer is on its way back: a kill now is the duplicate window

    with Mosquitto() as broker, tempfile.TemporaryDirectory(prefix="sentinel-kills-") as tmp:
        ntfy = LocalNtfy(on_publish=slow_answer, request_burst=10_000)
        ntfy.server.handle_error = lambda *_: None  # type: ignore[method-assign]  # a killed client's broken pipe
        state = Path(tmp) / "state"
        config = Path(tmp) / "circle.yaml"
        config.write_text(circle_yaml(broker.port, ntfy.url, state))
        db = state / "notifier.db"
        notifier = Notifier(config, Path(tmp) / "notifier.log", Path(args.root))
        agent = mqtt.Client(CallbackAPIVersion.VERSION2)
        agent.connect("127.0.0.1", broker.port)
        agent.loop_start()
        started = time.monotonic()
        kills = 0
        notifier.start()
        try:
            for trial in range(args.trials):
                alert_id = f"mary-help-{trial}"
                trial_alert[0] = alert_id
                body = {
                    "alert_id": alert_id,
                    "home": "mary",
                    "kind": "help",
                    "severity": "critical",
                    "raised_at": "2026-03-03T10:00:00+00:00",
                    "reason": f"Mary pressed the help button (trial {trial}).",
                }
                agent.publish("sentinel/mary/alert", json.dumps(body), qos=1).wait_for_publish(5)
                time.sleep(rng.uniform(0, args.max_delay))
                notifier.kill()
                kills += 1
                notifier.start()
                wait_for(lambda n=trial + 1: settled(db, n, n - 1), 60, "the alert to settle")
                buttons = [n for n in ntfy.to(TOPICS["ann"]) if n.get("actions")]
                note = next(n for n in buttons if alert_id in n["actions"][0]["body"])
                ntfy.press(note, "I'm going")
                time.sleep(rng.uniform(0, args.max_delay))
                notifier.kill()
                kills += 1
                notifier.start()
                wait_for(lambda n=trial + 1: settled(db, n, n), 60, "the claim to settle")
        finally:
            notifier.stop()
            agent.loop_stop()
            ntfy.close()
        records = recorded(db)
        duplicates = sum(max(0, n - records[key]) for key, n in sent.items())
        lost = sum(max(0, n - sent[key]) for key, n in records.items())
        rows = [
            ["trials (alert + I'm going)", args.trials],
            [f"kills (SIGKILL, 0-{args.max_delay:.1f} s after)", kills],
            ["notifications recorded as sent", sum(records.values())],
            ["pushes ntfy took", sum(sent.values())],
            ["duplicated pushes", duplicates],
            ["recorded but never pushed", lost],
            ["seconds", f"{time.monotonic() - started:.0f}"],
        ]
        print(f"notifier kills, {machine()}, seed {args.seed}, ntfy answers after {args.latency * 1000:.0f} ms")
        print(table(["", "count"], rows))


if __name__ == "__main__":
    main()
