"""The circle's side of the demo: the notifier, and phones that show what arrives."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentinel.clock import Clock
from sentinel.config import load_circle_config, shipped_config
from sentinel.demo.ntfy import LocalNtfy
from sentinel.notifier.ntfy import Ntfy
from sentinel.notifier.service import Notifier
from sentinel.notifier.store import NotifierStore


class DemoCircle:
    """The notifier against a local ntfy stand-in, stepped by the story; the phones print to the timeline."""

    def __init__(self, host: str, port: int, state: Path, clock: Clock, timeline: Any) -> None:
        os.environ.setdefault("SENTINEL_ACK_SECRET", secrets.token_urlsafe(24))
        self.timeline = timeline
        # ntfy's allowance (60 requests, one more every 5 s) on the story's clock: the same day, the same allowance,
        # at any pace (on the real clock a fast run would meet the limit a slow one never meets).
        self.ntfy = LocalNtfy(on_publish=self._arrived, clock=clock.monotonic)
        cfg = load_circle_config(shipped_config("demo-circle.yaml"))
        self.cfg = dataclasses.replace(
            cfg,
            ntfy=dataclasses.replace(cfg.ntfy, server=self.ntfy.url),
            mqtt=dataclasses.replace(cfg.mqtt, host=host, port=port),
        )
        self.names = {m.topic: m.name for m in self.cfg.members}
        # A resident's own phone, asked "Are you all right?", is theirs: "Mary's phone".
        self.names.update({h.resident.topic: h.name for h in self.cfg.homes if h.resident})
        self.store = NotifierStore(state / "notifier.db")
        self.notifier = Notifier(self.cfg, self.store, Ntfy(self.cfg.ntfy), clock)
        self.before_delivery: Callable[[], None] = lambda: None  # what the notifier said on the broker is heard first

    def start(self) -> None:
        self.notifier.start(threaded=False)

    def step(self, wait: float = 0.0) -> None:
        """Take in what has arrived (waiting up to ``wait`` real seconds for it), escalate, and deliver what is due."""
        self.notifier.step(timeout=wait)
        self.before_delivery()
        self.notifier.deliver_due()

    def _arrived(self, body: dict[str, Any]) -> None:
        phone = f"{self.names.get(body['topic'], body['topic']).split(' (')[0]}'s phone"
        loud = " [loud]" if body.get("priority", 3) >= 5 else ""
        # A note of several lines (one per home) stays in its column.
        message = str(body["message"]).replace("\n", "\n" + " " * 23 + "| ")
        # A button that opens something on the phone (a call) rather than answering the circle.
        opens = "".join(f" [{a['label']}]" for a in body.get("actions") or [] if a.get("action") == "view")
        self.timeline.phone(phone, f"{body['title']}{loud}: {message}{opens}")
        if body.get("email"):
            self.timeline.phone("e-mail", f"to {body['email']} (through ntfy): {body['title']}")

    def topic_of(self, who: str) -> str:
        """A member's topic, or (given a home's id) the resident's own."""
        for home in self.cfg.homes:
            if home.id == who and home.resident is not None:
                return home.resident.topic
        return self.cfg.member(who).topic

    def name_of(self, who: str) -> str:
        """How the phone's owner is called: 'Ann', or (given a home's id) the resident's name."""
        return self.names[self.topic_of(who)].split(" (")[0]

    def with_buttons(self, member_id: str, title_word: str = "") -> list[dict[str, Any]]:
        """Notifications with buttons that reached ``member_id`` (or a home's resident), with ``title_word``."""
        return [n for n in self.to(member_id, title_word) if n.get("actions")]

    def to(self, member_id: str, title_word: str = "") -> list[dict[str, Any]]:
        """Every notification that reached ``member_id`` (or a home's resident) whose title has ``title_word``."""
        return [n for n in self.ntfy.to(self.topic_of(member_id)) if title_word in n["title"]]

    def record(self, alert_id: str, what: str) -> list[str]:
        """The details of the incident's recorded steps that start with ``what`` (as ``sentinel incidents`` shows)."""
        return [detail for _, step, _, detail in self.store.steps(alert_id) if step.startswith(what)]

    def press(self, member_id: str, label: str, title_word: str = "") -> str | None:
        """The member presses a button on their latest such notification; the ack message's id, or None."""
        notes = self.with_buttons(member_id, title_word)
        if not notes:
            return None
        return str(self.ntfy.press(notes[-1], label)["id"])

    def replay(self, member_id: str, label: str, title_word: str, which: int = -1) -> str:
        """The same press sent again (a phone's retry, or someone who copied it); the ack message's id."""
        return str(self.ntfy.press(self.with_buttons(member_id, title_word)[which], label)["id"])

    def forge(self, member_id: str, label: str, title_word: str, action: str, note: str) -> str:
        """Someone who has read a member's notification turns one of its buttons into another action and posts it.

        They can copy the button's body, but not sign the new action: the token stays the old one's.
        """
        notification = self.with_buttons(member_id, title_word)[-1]
        button = next(a for a in notification["actions"] if a["label"] == label)
        body = {**json.loads(button["body"]), "action": action, "note": note}
        data = json.dumps(body).encode()
        request = urllib.request.Request(button["url"], data=data, method="POST", headers=button.get("headers", {}))
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(json.loads(response.read())["id"])

    def infos(self) -> list[dict[str, Any]]:
        return [n for n in self.ntfy.published if not n.get("actions")]

    def close(self) -> None:
        self.notifier.close()
        self.store.close()
        self.ntfy.close()
