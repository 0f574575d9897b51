"""ntfy's HTTP API: publish a notification as JSON, subscribe to a topic as a stream.

Every request has a timeout, and a publish or a poll takes ``ntfy.timeout`` at most in
all, looking up the server's name included (``deadline.py``). Errors say whether trying again can help
(``permanent``): 429, 5xx, timeouts and refused connections are worth a retry;
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
from sentinel.errors import SentinelError
from sentinel.notifier.notification import MESSAGE_LIMIT as MESSAGE_LIMIT
from sentinel.notifier.notification import NOTE_LIMIT as NOTE_LIMIT
from sentinel.notifier.notification import Notification as Notification
from sentinel.notifier.notification import cut as cut
from sentinel.notifier.notification import payload

log = logging.getLogger(__name__)


# ntfy refuses a publish with 429 and code 42908 when the visitor's daily message quota is spent
# (server/errors.go); it resets at midnight UTC, so hammering it is pointless.
QUOTA_CODE = 42908
QUOTA_PAUSE_S = 20 * 60.0
# 429 with code 42902: the visitor's e-mails are spent (16, then one an hour: server/config.go
# DefaultVisitorEmailLimitBurst/Replenish). ntfy checks it after counting the message against the daily
# quota (server.go ~763-766), so each refused try costs one; only that e-mail waits, nothing else does.
EMAIL_LIMIT_CODE = 42902
EMAIL_PAUSE_S = 3600.0
# 400 with code 40001: the server has no e-mail set up (server.go parsePublishParams ~979, errors.go ~82).
NO_EMAIL_CODE = 40001
EMAIL_CODES = (EMAIL_LIMIT_CODE, NO_EMAIL_CODE)
# Any other 429 means the visitor's request bucket is empty: one token comes back every 5 s
# (server/config.go DefaultVisitorRequestLimitReplenish). ntfy sends no Retry-After; a proxy may.
RATE_PAUSE_S = 5.0
# A 2xx that is not ntfy's answer (a captive portal, a proxy's maintenance page): nothing gets through while it
# stands, so every notification waits this long, and is logged as an error each time.
NOT_NTFY_PAUSE_S = 60.0
# A subscription hears a keepalive every 45 s (DefaultKeepaliveInterval); twice that without a line
# means the connection is dead even if TCP has not noticed.
STREAM_READ_TIMEOUT_S = 90.0


class DeliveryError(SentinelError, RuntimeError):
    """A request to the ntfy server failed; ``permanent`` says whether trying again can help."""

    def __init__(
        self,
        message: str,
        permanent: bool,
        code: int | None = None,
        retry_after: float | None = None,
        unsure: bool = False,
        misrouted: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code  # ntfy's own error code, e.g. 42901
        self.retry_after = retry_after  # seconds before any request to this server is worth trying
        # The request reached the server, and the answer was lost or an error: it may have kept the message
        # (ntfy stores and pushes it before it answers, server.go handlePublishInternal ~806-833).
        self.unsure = unsure
        self.misrouted = misrouted  # the answer was not ntfy's (a portal, a proxy): a setting may be wrong

    @property
    def quota(self) -> bool:
        """The daily message quota is spent: nothing will get through for a while."""
        return self.code == QUOTA_CODE

    @property
    def email_refused(self) -> bool:
        """ntfy refused the notification because of its ``email``; without it, it would go."""
        return self.code in EMAIL_CODES


class Ntfy:
    """A small client for one ntfy server: publishing, and a separate connection for the subscription."""

    def __init__(self, cfg: NtfyConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.cfg = cfg
        self._transport = transport
        self._http = self._client()
        self._stream_http = self._client()  # its own pool: a long read must not hold up a publish
        self._stream_socket: socket.socket | None = None
        self._lookup: threading.Thread | None = None  # a request given up while it looked up the server's name

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
            why = _not_ntfy(self.cfg.server, response, response.text)
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
        timeout = httpx.Timeout(self.cfg.timeout, read=STREAM_READ_TIMEOUT_S)
        try:
            with self._stream_http.stream(
                "GET", f"/{topic}/json", params={"since": since}, timeout=timeout
            ) as response:
                if not 200 <= response.status_code < 300:
                    response.read()
                    raise _refusal(response, f"/{topic}/json")
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
                        raise DeliveryError(_not_ntfy(self.cfg.server, response, line), permanent=True)
                    opened = True
                    if item is None:
                        log.warning("ignored a malformed line from ntfy: %.80s", line)
                    elif isinstance(item, dict):
                        yield item
                if not opened:
                    raise DeliveryError(_not_ntfy(self.cfg.server, response, ""), permanent=True)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"ntfy sent nothing for {STREAM_READ_TIMEOUT_S:g} s", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"lost ntfy: {exc}", permanent=False) from exc
        raise DeliveryError("ntfy closed the subscription", permanent=False)

    def abort_stream(self) -> None:
        """End a subscription that is waiting for its next line, from another thread (at shutdown)."""
        sock = self._stream_socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read; closing alone would not

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One publish or poll, within ``ntfy.timeout`` in all (httpx's timeouts are per read, per write)."""
        if self._lookup is not None and self._lookup.is_alive():  # one thread waiting on the resolver is enough
            raise DeliveryError(f"{self._unresolved()}; still waiting for the answer", permanent=False)
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
            raise _failure(exc, self.cfg.timeout) from exc
        if not 200 <= response.status_code < 300:
            raise _refusal(response, url)
        return response

    def _unresolved(self) -> str:
        """Why a request never connected: almost always the system's resolver not answering for the server's name."""
        host = httpx.URL(self.cfg.server).host
        return (
            f"cannot reach ntfy within {self.cfg.timeout:g} s: looking up the address of {host} (DNS), or connecting"
            " after a slow lookup, did not finish. Check the network's name server (or /etc/resolv.conf)"
        )


def _failure(exc: httpx.HTTPError, timeout: float) -> DeliveryError:
    """The DeliveryError for a request that failed within its time."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return DeliveryError(f"cannot reach ntfy within {timeout:g} s", permanent=False)
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryError(f"ntfy did not answer within {timeout:g} s", permanent=False, unsure=True)
    if isinstance(exc, httpx.RemoteProtocolError):  # it hung up after the request: that too may have arrived
        return DeliveryError(f"ntfy hung up without an answer: {exc}", permanent=False, unsure=True)
    if isinstance(exc, httpx.ReadError | httpx.WriteError):  # connected, then cut off: it may have arrived
        return DeliveryError(f"the connection to ntfy broke: {exc}", permanent=False, unsure=True)
    return DeliveryError(f"cannot reach ntfy: {exc}", permanent=False)


def _not_ntfy(server: str, response: httpx.Response, first: str) -> str:
    """Why an answer that is not ntfy's counts as a failure, and what to check."""
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    seen = f", starting {first.strip()[:60]!r}" if first.strip() else ", empty"
    return (
        f"{server} answered {response.status_code} ({kind}{seen}) but not as ntfy does, without a message id:"
        " nothing was delivered. Is ntfy.server the ntfy server itself, not a proxy's or a login page?"
    )


def _moved_to(response: httpx.Response, asked: str) -> str:
    """The server address a redirect points to: its Location less the path that was asked for."""
    location = response.headers.get("Location")
    if not location:
        return "another address (the answer does not say which)"
    target = response.request.url.join(location)
    path = target.path
    if asked != "/" and path.endswith(asked):
        path = path[: -len(asked)]
    return f"{target.scheme}://{target.netloc.decode('ascii')}{path.rstrip('/')}"


def _refusal(response: httpx.Response, asked: str = "/") -> DeliveryError:
    """The error an ntfy answer stands for: its code, whether retrying helps, and when."""
    status = response.status_code
    if 300 <= status < 400:
        # httpx follows no redirect, and must not: a POST redirected may arrive as a GET, or not at all.
        target = _moved_to(response, asked)
        return DeliveryError(f"ntfy's address answered {status}, a redirect: set ntfy.server to {target}", True)
    try:
        detail = response.json()
    except ValueError:
        detail = {}
    code = detail.get("code") if isinstance(detail, dict) and isinstance(detail.get("code"), int) else None
    text = str(detail.get("error", "")) if isinstance(detail, dict) else ""
    text = text or response.text[:120]
    if status == 429:
        if code == EMAIL_LIMIT_CODE:  # that e-mail waits; no hold on the others
            return DeliveryError(f"ntfy's e-mail limit is reached ({text})", False, code)
        if code == QUOTA_CODE:
            return DeliveryError(f"ntfy's daily message quota is spent ({text})", False, code, QUOTA_PAUSE_S)
        hint = response.headers.get("Retry-After", "")
        wait = float(hint) if hint.isdigit() else RATE_PAUSE_S
        return DeliveryError(f"ntfy answered 429 {text}; will retry", False, code, wait)
    if status >= 500:  # a proxy's 502 or 504 may come after ntfy kept it
        return DeliveryError(f"ntfy answered {status}; will retry", permanent=False, code=code, unsure=True)
    return DeliveryError(f"ntfy refused it: {status} {text}", permanent=True, code=code)
