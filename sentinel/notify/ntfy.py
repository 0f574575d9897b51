"""ntfy's HTTP API: publish a notification as JSON, read a topic's messages.

Every request has a timeout. Errors say whether trying again can help
(``permanent``): 429, 5xx, timeouts and refused connections are worth a retry;
other 4xx (a bad token, a forbidden topic) are not.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from sentinel.config.circle import NtfyConfig
from sentinel.errors import SentinelError

log = logging.getLogger(__name__)


class DeliveryError(SentinelError, RuntimeError):
    """A notification did not reach the ntfy server."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Notification:
    """One push notification to one topic (ntfy's JSON publishing fields)."""

    topic: str
    title: str
    message: str
    priority: int = 3
    tags: tuple[str, ...] = ()
    click: str | None = None
    actions: tuple[dict[str, Any], ...] = field(default=())

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "topic": self.topic,
            "title": self.title,
            "message": self.message,
            "priority": self.priority,
        }
        if self.tags:
            out["tags"] = list(self.tags)
        if self.click:
            out["click"] = self.click
        if self.actions:
            out["actions"] = list(self.actions)
        return out


class Ntfy:
    """A small client for one ntfy server."""

    def __init__(self, cfg: NtfyConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.cfg = cfg
        headers = {}
        if cfg.token_env and os.environ.get(cfg.token_env):
            headers["Authorization"] = f"Bearer {os.environ[cfg.token_env]}"
        auth = None
        if cfg.username and cfg.password_env:
            auth = httpx.BasicAuth(cfg.username, os.environ.get(cfg.password_env, ""))
        self._http = httpx.Client(
            base_url=cfg.server.rstrip("/"), headers=headers, auth=auth, timeout=cfg.timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def publish(self, note: Notification) -> str:
        """Send one notification; its ntfy message id. DeliveryError when it did not arrive."""
        payload = json.dumps(note.body(), ensure_ascii=False).encode("utf-8")
        response = self._request("POST", "/", content=payload, headers={"Content-Type": "application/json"})
        try:
            return str(response.json().get("id", ""))
        except ValueError:
            return ""

    def poll(self, topic: str, since: str) -> list[dict[str, Any]]:
        """The messages on ``topic`` after message id ``since`` ("all" for everything cached)."""
        response = self._request("GET", f"/{topic}/json", params={"poll": "1", "since": since})
        messages = []
        for line in response.text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                log.warning("ignored a malformed line from ntfy: %.80s", line)
                continue
            if isinstance(item, dict) and item.get("event") == "message":
                messages.append(item)
        return messages

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"ntfy did not answer within {self.cfg.timeout:g} s", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach ntfy: {exc}", permanent=False) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"ntfy answered {response.status_code}; will retry", permanent=False)
        if response.status_code >= 400:
            raise DeliveryError(f"ntfy refused it: {response.status_code} {response.text[:120]}", permanent=True)
        return response
