"""What counts as delivered, and what waits for what: ntfy's answers as a circle meets them, on the stand-in.

Real SQLite, the ntfy stand-in (its failures on demand are the real server's or a proxy's answers), the
notifier pumped by hand on an injected clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from circle_driver import alert
from sentinel.config.circle import NtfyConfig
from sentinel.notifier.ntfy import DeliveryError, Ntfy


def statuses(c: Any) -> list[tuple[str, str]]:
    """Every delivery's member and status, in the order they were written."""
    return [tuple(r) for r in c.store._run("SELECT member, status FROM deliveries ORDER BY id").fetchall()]


# 1. Only ntfy's own answer, a 2xx with its message id, counts as delivered.


def test_a_redirect_or_a_page_that_is_not_ntfys_answer_fails_loudly_and_nothing_counts_as_sent(circle, caplog) -> None:
    c = circle(top="watch_silence: false\n")
    c.ntfy_server.failures = [308, 200]  # http:// in front of Caddy; then a proxy's own page
    c.publish("alert", alert("mary-help-1", "help", "critical"))  # to Ann and Carol at once
    c.pump()
    assert c.alerts_to("ann") == [] and c.alerts_to("carol") == []
    assert ("ann", "failed") in statuses(c) and ("carol", "failed") in statuses(c)
    failed = {m: d for _, w, m, d in c.store.steps("mary-help-1") if w == "failed"}
    port = c.ntfy_server.url.rsplit(":", 1)[1]
    moved, page = sorted(failed.values(), key=lambda d: "redirect" not in d)
    assert f"set ntfy.server to https://127.0.0.1:{port}" in moved
    assert "not as ntfy does" in page and "text/html" in page
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("could not notify" in e for e in errors) == 2


class NotNtfy(BaseHTTPRequestHandler):
    """Whatever sits at the address instead of ntfy: a redirect to https, or an empty 200."""

    status = 301

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(self.status)
        if self.status == 301:
            self.send_header("Location", f"https://ntfy.example.org{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def not_ntfy() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotNtfy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [301, 200])
def test_the_button_subscription_to_something_else_than_ntfy_is_refused_for_good(not_ntfy, status) -> None:
    NotNtfy.status = status
    url = f"http://127.0.0.1:{not_ntfy.server_address[1]}"
    ntfy = Ntfy(NtfyConfig(ack_topic="sentinel-acks-test-0001", server=url, timeout=2))
    try:
        with pytest.raises(DeliveryError) as refused:
            next(ntfy.stream("sentinel-acks-test-0001", "all"))
    finally:
        ntfy.close()
        NotNtfy.status = 301
    assert refused.value.permanent  # the button reader says so as an error and waits 5 minutes, not 1 s
    if status == 301:
        assert "set ntfy.server to https://ntfy.example.org" in str(refused.value)
        assert "sentinel-acks" not in str(refused.value)  # the topic is a secret: not in the log
    else:
        assert "not as ntfy does" in str(refused.value)
