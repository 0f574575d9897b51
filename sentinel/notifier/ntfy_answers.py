"""What an answer from ntfy (or from something in its place) means: delivered, refused for good, or retry when.

Every code and limit is ntfy's own, cited from its server's source.
"""

from __future__ import annotations

import httpx

from sentinel.errors import SentinelError

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


def failure(exc: httpx.HTTPError, timeout: float) -> DeliveryError:
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


def not_ntfy(server: str, response: httpx.Response, first: str) -> str:
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


def refusal(response: httpx.Response, asked: str = "/") -> DeliveryError:
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
