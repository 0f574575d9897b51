"""The circle's side of the demo: the notifier, and phones that show what arrives."""

from __future__ import annotations

import dataclasses
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from sentinel.clock import ScaledClock
from sentinel.config import load_circle_config, shipped_config
from sentinel.notify.localntfy import LocalNtfy
from sentinel.notify.ntfy import Ntfy
from sentinel.notify.service import Notifier
from sentinel.notify.store import NotifierStore


class DemoCircle:
    """Runs the notifier on a thread against a local ntfy stand-in; the phones print to the timeline."""

    def __init__(self, host: str, port: int, state: Path, clock: ScaledClock, timeline: Any) -> None:
        os.environ.setdefault("SENTINEL_ACK_SECRET", secrets.token_urlsafe(24))
        self.timeline = timeline
        self.ntfy = LocalNtfy(on_publish=self._arrived)
        cfg = load_circle_config(shipped_config("demo-circle.yaml"))
        self.cfg = dataclasses.replace(
            cfg,
            ntfy=dataclasses.replace(cfg.ntfy, server=self.ntfy.url),
            mqtt=dataclasses.replace(cfg.mqtt, host=host, port=port),
        )
        self.names = {m.topic: m.name for m in self.cfg.members}
        self.store = NotifierStore(state / "notifier.db")
        self.notifier = Notifier(self.cfg, self.store, Ntfy(self.cfg.ntfy), clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="notifier", daemon=True)

    def start(self) -> None:
        self.notifier.start(threaded=False)
        self._thread.start()

    def _loop(self) -> None:
        # Real-time pacing: the demo's clock runs hundreds of times faster than ours.
        while not self._stop.is_set():
            self.notifier.step()
            self.notifier.deliver_due()
            time.sleep(0.03)

    def _arrived(self, body: dict[str, Any]) -> None:
        phone = f"{self.names.get(body['topic'], body['topic']).split(' (')[0]}'s phone"
        loud = " [loud]" if body.get("priority", 3) >= 5 else ""
        self.timeline.phone(phone, f"{body['title']}{loud}: {body['message']}")

    def alerts_for(self, member_id: str, kind_word: str = "") -> list[dict[str, Any]]:
        topic = self.cfg.member(member_id).topic
        return [n for n in self.ntfy.to(topic) if n.get("actions") and kind_word in n["title"]]

    def press(self, member_id: str, label: str, kind_word: str = "") -> bool:
        """The member presses a button on their latest alert; False if they have none."""
        notes = self.alerts_for(member_id, kind_word)
        if not notes:
            return False
        self.ntfy.press(notes[-1], label)
        return True

    def infos(self) -> list[dict[str, Any]]:
        return [n for n in self.ntfy.published if not n.get("actions")]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.notifier.close()
        self.store.close()
        self.ntfy.close()

