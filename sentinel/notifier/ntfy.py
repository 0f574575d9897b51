"""ntfy's HTTP API: publish a notification as JSON, subscribe to a topic as a stream.

Every request has a timeout, and a publish, a poll or the opening of the subscription takes ``ntfy.timeout``
at most in all, looking up the server's name included (``deadline.py``). Errors say whether trying again can
help (``permanent``, ``ntfy_answers.py``): 429, 5xx, timeouts and refused connections are worth a retry;
other 4xx (a bad token, a forbidden topic) are not. A 429 says when to try again.
Only a 2xx carrying ntfy's message id counts as delivered: a redirect (http:// in
front of Caddy or nginx) is a permanent failure; a page from a proxy or a login
portal holds every notification a minute at a time (``NOT_NTFY_PAUSE_S``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from sentinel.config.circle import NtfyConfig
from sentinel.deadline import Abandoned, Deadline
from sentinel.notifier.notification import MESSAGE_LIMIT as MESSAGE_LIMIT
from sentinel.notifier.notification import NOTE_LIMIT as NOTE_LIMIT
from sentinel.notifier.notification import Notification as Notification
from sentinel.notifier.notification import cut as cut
from sentinel.notifier.notification import payload
from sentinel.notifier.ntfy_answers import EMAIL_LIMIT_CODE as EMAIL_LIMIT_CODE
from sentinel.notifier.ntfy_answers import EMAIL_PAUSE_S as EMAIL_PAUSE_S
from sentinel.notifier.ntfy_answers import NOT_NTFY_PAUSE_S, STREAM_READ_TIMEOUT_S, failure, not_ntfy, refusal
from sentinel.notifier.ntfy_answers import QUOTA_PAUSE_S as QUOTA_PAUSE_S
from sentinel.notifier.ntfy_answers import DeliveryError as DeliveryError

log = logging.getLogger(__name__)


class Ntfy:
    """A small client for one ntfy server: publishing, and a separate connection for the subscription."""

    def __init__(self, cfg: NtfyConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.cfg = cfg
        self._transport = transport
        self._http = self._client()
        self._stream_http = self._client()  # its own pool: a long read must not hold up a publish
        self._stream_socket: socket.socket | None = None
        self._lookup: threading.Thread | None = None  # a request given up while it looked up the server's name
        self._stream_lookup: threading.Thread | None = None  # the same for the subscription: it holds up no publish

    def _client(self) -> httpx.Client:
        cfg = self.cfg
        headers = {}
        if cfg.token_env and os.environ.get(cfg.token_env):
            headers["Authorization"] = f"Bearer {os.environ[cfg.token_env]}"
        auth = None
        if cfg.username and cfg.password_env:
            auth = httpx.BasicAuth(cfg.username, os.environ.get(cfg.password_env, ""))
        return httpx.Client(
            base_url=cfg.server.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=cfg.timeout,
            transport=self._transport,
            # A connection for each request: the deadline can only end a connection it saw opened.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._http.close()
        self._stream_http.close()

    def publish(self, note: Notification) -> str:
        """Send one notification; its ntfy message id. DeliveryError when it did not arrive."""
        content = payload(note.body())
        response = self._request("POST", "/", content=content, headers={"Content-Type": "application/json"})
        try:
            detail = response.json()
        except ValueError:
            detail = None
        # ntfy answers every publish it kept with the message as JSON, id first (server.go handlePublish):
        # anything else came from something in between, and nobody's phone will ring.
        ntfy_id = detail.get("id") if isinstance(detail, dict) else None
        if not isinstance(ntfy_id, str) or not ntfy_id:
            # Nothing reached ntfy, so trying again cannot send twice; a portal or a proxy's page usually passes.
            why = not_ntfy(self.cfg.server, response, response.text)
            raise DeliveryError(why, permanent=False, retry_after=NOT_NTFY_PAUSE_S, misrouted=True)
        return ntfy_id

    def poll(self, topic: str, since: str) -> list[dict[str, Any]]:
        """The messages ntfy keeps for ``topic`` after message id ``since`` ("all": every one it keeps)."""
        response = self._request("GET", f"/{topic}/json", params={"poll": "1", "since": since})
        found = []
        for line in response.text.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and item.get("event", "message") == "message":
                found.append(item)
        return found

    def stream(self, topic: str, since: str) -> Iterator[dict[str, Any]]:
        """Subscribe to ``topic`` from message id ``since`` ("all": everything cached); yields each event.

        The first event is ``open``, then cached and new messages and ``keepalive``s, until the
        connection breaks: DeliveryError, after which the caller reconnects.
        """
        try:
            response = self._subscribe(topic, since)
            try:
                if not 200 <= response.status_code < 300:
                    response.read()
                    raise refusal(response, f"/{topic}/json")
                stream = response.extensions.get("network_stream")
                self._stream_socket = stream.get_extra_info("socket") if stream is not None else None
                opened = False
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError:
                        item = None
                    # ntfy's first line is always its "open" event (server.go handleSubscribeHTTP): without
                    # it this is some other page, and reconnecting to it would never read a press.
                    if not opened and not (isinstance(item, dict) and item.get("event") == "open"):
                        raise DeliveryError(not_ntfy(self.cfg.server, response, line), permanent=True)
                    opened = True
                    if item is None:
                        log.warning("ignored a malformed line from ntfy: %.80s", line)
                    elif isinstance(item, dict):
                        yield item
                if not opened:
                    raise DeliveryError(not_ntfy(self.cfg.server, response, ""), permanent=True)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"ntfy sent nothing for {STREAM_READ_TIMEOUT_S:g} s", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"lost ntfy: {exc}", permanent=False) from exc
        raise DeliveryError("ntfy closed the subscription", permanent=False)

    def _subscribe(self, topic: str, since: str) -> httpx.Response:
        """The subscription's answer, its lines still to read, within ``ntfy.timeout`` (its name lookup too)."""
        self._one_lookup(self._stream_lookup)
        deadline = Deadline(self.cfg.timeout, "ntfy-subscribe")
        timeout = httpx.Timeout(self.cfg.timeout, read=STREAM_READ_TIMEOUT_S)
        request = self._stream_http.build_request(
            "GET", f"/{topic}/json", params={"since": since}, timeout=timeout, extensions={"trace": deadline.trace}
        )
        try:
            with deadline:  # only until the answer begins: its lines come for as long as the subscription lasts
                return deadline.run(lambda: self._stream_http.send(request, stream=True))
        except Abandoned as gone:
            self._stream_lookup = gone.worker
            raise DeliveryError(self._unresolved(), permanent=False) from None

    def abort_stream(self) -> None:
        """End a subscription that is waiting for its next line, from another thread (at shutdown)."""
        sock = self._stream_socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read; closing alone would not

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One publish or poll, within ``ntfy.timeout`` in all (httpx's timeouts are per read, per write)."""
        self._one_lookup(self._lookup)
        deadline = Deadline(self.cfg.timeout, "ntfy-request")
        try:
            with deadline:
                response = deadline.run(
                    lambda: self._http.request(method, url, extensions={"trace": deadline.trace}, **kwargs)
                )
        except Abandoned as gone:
            if deadline.connected:  # not seen, but a connection that outlived its cut may have carried the request
                wait = f"ntfy did not answer within {self.cfg.timeout:g} s"
                raise DeliveryError(wait, permanent=False, unsure=True) from None
            self._lookup = gone.worker
            raise DeliveryError(self._unresolved(), permanent=False) from None
        except httpx.HTTPError as exc:
            if deadline.expired and deadline.connected:  # cut off: the request may have reached ntfy
                wait = f"ntfy did not answer in full within {self.cfg.timeout:g} s"
                raise DeliveryError(wait, permanent=False, unsure=True) from exc
            raise failure(exc, self.cfg.timeout) from exc
        if not 200 <= response.status_code < 300:
            raise refusal(response, url)
        return response

    def _one_lookup(self, given_up: threading.Thread | None) -> None:
        """DeliveryError while a request given up still waits on the resolver: one thread waiting there is enough."""
        if given_up is not None and given_up.is_alive():
            raise DeliveryError(f"{self._unresolved()}; still waiting for the answer", permanent=False)

    def _unresolved(self) -> str:
        """Why a request never connected: almost always the system's resolver not answering for the server's name."""
        host = httpx.URL(self.cfg.server).host
        return (
            f"cannot reach ntfy within {self.cfg.timeout:g} s: looking up the address of {host} (DNS), or connecting"
            " after a slow lookup, did not finish. Check the network's name server (or /etc/resolv.conf)"
        )
