"""What counts as delivered, and what waits for what: ntfy's answers as a circle meets them, on the stand-in.

Real SQLite, the ntfy stand-in (its failures on demand are the real server's or a proxy's answers), the
notifier pumped by hand on an injected clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from circle_driver import alert
from ntfy_fake import FakeNtfy
from sentinel.clock import ManualClock
from sentinel.config.circle import MemberConfig, NtfyConfig
from sentinel.notifier.delivery import READBACK_TRIES, RECHECK_S, Deliverer
from sentinel.notifier.ntfy import DeliveryError, Ntfy
from sentinel.notifier.store import NotifierStore

NIGHT = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
ANN = MemberConfig(id="ann", name="Ann", topic="mary-ann-topic-0001")
BOB = MemberConfig(id="bob", name="Bob", topic="joe-bob-topic-00002")


class Queue:
    """A deliverer alone, on the stand-in, a real store and a manual clock (no broker needed)."""

    def __init__(self, tmp_path: Path, members: tuple[MemberConfig, ...] = (ANN, BOB), **server: Any) -> None:
        self.clock = ManualClock(NIGHT)
        self.server = FakeNtfy(clock=self.clock.monotonic, **server)
        self.ntfy = Ntfy(NtfyConfig(ack_topic="sentinel-acks-test-0001", server=self.server.url, timeout=1))
        self.store = NotifierStore(tmp_path / "notifier.db")
        self.deliverer = Deliverer(self.store, self.ntfy, list(members), self.clock)

    def add(self, member: str, kind: str, title: str, priority: int = 5, email: str | None = None) -> int:
        body = {"kind": kind, "title": title, "message": "Please check.", "priority": priority, "tags": []}
        body |= {"actions": [], **({"email": email} if email else {})}
        return self.store.deliver(None, "mary", member, body, self.clock.now())

    def row(self, delivery_id: int) -> tuple[str, str, str]:
        """A delivery's status, next try and last error."""
        sql = "SELECT status, next_try, last_error FROM deliveries WHERE id = ?"
        return tuple(self.store._run(sql, (delivery_id,)).fetchone())  # type: ignore[return-value]

    def titles(self, member: MemberConfig) -> list[str]:
        return [m["title"] for m in self.server.to(member.topic)]

    def close(self) -> None:
        self.ntfy.close()
        self.server.close()


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[Callable[..., Queue]]:
    made: list[Queue] = []

    def make(**kwargs: Any) -> Queue:
        made.append(Queue(tmp_path / str(len(made)), **kwargs))
        return made[-1]

    yield make
    for q in made:
        q.close()


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
    steps = c.store.steps("mary-help-1")
    ((moved_to, moved),) = [(m, d) for _, w, m, d in steps if w == "failed"]  # a wrong address: for good
    ((paged, page),) = [(m, d) for _, w, m, d in steps if w == "retry"]  # a page that passes: again later
    port = c.ntfy_server.url.rsplit(":", 1)[1]
    assert f"set ntfy.server to https://127.0.0.1:{port}" in moved
    assert "not as ntfy does" in page and "text/html" in page
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("could not notify" in e for e in errors) == 1 and sum("not as ntfy does" in e for e in errors) == 1
    c.advance(60)  # the portal has gone: nothing had reached ntfy, so it goes now, once
    assert len(c.alerts_to(paged)) == 1 and c.alerts_to(moved_to) == []


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


# 2. ntfy's e-mail limit holds that e-mail alone; the push it came with goes at once.


def test_a_spent_email_limit_holds_only_that_email_and_its_push_goes_without_it(queue) -> None:
    q = queue(email_burst=1, daily_messages=250)  # ntfy.sh's free tier counts a quota too
    q.add("ann", "last_resort", "Mary: nobody is going, please check on them", email="tom@example.org")
    q.deliverer.deliver_due()  # spends the one e-mail
    held = q.add("ann", "last_resort", "Mary: nobody is going, please check on them", email="sue@example.org")
    q.add("bob", "alert", "Joe: pressed the help button")  # another home's, behind it in the queue
    q.deliverer.deliver_due()
    q.deliverer.deliver_due()
    assert q.titles(BOB) == ["Joe: pressed the help button"]  # at once, not an hour later
    copy = q.server.to(ANN.topic)[-1]
    assert "The e-mail to sue@example.org was not sent" in copy["message"] and "email" not in copy
    assert q.deliverer.hold_until is None
    status, next_try, error = q.row(held)
    assert status == "pending" and datetime.fromisoformat(next_try) == NIGHT + timedelta(hours=1)
    assert "e-mail limit" in error
    q.clock.advance(59 * 60)
    q.deliverer.deliver_due()
    assert [r[2] for r in q.server.refused] == [42902]  # tried once, not every 5 s (each try costs the quota)
    q.clock.advance(60)  # ntfy gives one e-mail back an hour
    q.deliverer.deliver_due()
    assert [e["to"] for e in q.server.emails] == ["tom@example.org", "sue@example.org"]
    assert q.row(held)[0] == "sent"
    assert len(q.server.to(ANN.topic)) == 3  # Tom's receipt, the push without Sue's e-mail, Sue's receipt
    receipt = q.server.to(ANN.topic)[-1]  # the push went loud an hour ago: this one only says the e-mail went
    assert receipt["title"] == "E-mail sent: Mary: nobody is going, please check on them"
    assert receipt.get("priority", 3) == 2


# 4. A lost answer is "maybe sent": ntfy is asked before the notification goes again.


def test_after_a_lost_answer_or_a_proxys_5xx_ntfy_is_asked_before_anything_is_sent_again(queue) -> None:
    q = queue()
    q.server.failures = [-1.5, 502]  # kept, then answered past the 1 s timeout; a proxy's 502 (not kept)
    slow = q.add("ann", "alert", "Mary: pressed the help button")
    lost = q.add("bob", "alert", "Joe: pressed the help button")
    q.deliverer.deliver_due()
    assert q.row(slow)[0] == q.row(lost)[0] == "sending"  # may have gone: not sent blindly again
    assert q.titles(ANN) == ["Mary: pressed the help button"]  # ntfy has it, whatever the notifier heard
    for _ in range(4):
        q.clock.advance(5)
        q.deliverer.deliver_due()
    assert q.titles(ANN) == ["Mary: pressed the help button"]  # found at ntfy: once, not every few minutes
    assert q.titles(BOB) == ["Joe: pressed the help button"]  # ntfy did not have it: sent again, once
    assert q.row(slow)[0] == q.row(lost)[0] == "sent"


def test_a_notification_ntfy_did_not_have_goes_at_once_not_after_the_backoff(queue) -> None:
    # Before: "had not reached ntfy: sending it" was logged, and it went only when the backoff was over (30 s later
    # in a field trial, a help call among them).
    q = queue()
    q.server.failures = [500, 500, 502]  # ntfy failing twice, then a proxy's answer (not kept)
    lost = q.add("bob", "alert", "Joe: pressed the help button")
    for wait in (0, 10, 20):  # the backoff: 10 s, then 20 s
        q.clock.advance(wait)
        q.deliverer.deliver_due()
    assert q.row(lost)[0] == "sending"  # the backoff is now 40 s
    q.clock.advance(RECHECK_S)  # ntfy is asked: it does not have it
    q.deliverer.deliver_due()
    q.deliverer.deliver_due()
    assert q.titles(BOB) == ["Joe: pressed the help button"] and q.row(lost)[0] == "sent"


def test_a_lost_answer_holds_that_members_next_notifications_only_while_ntfy_can_be_asked(queue) -> None:
    q = queue()
    q.server.failures = [-1.5]  # kept, then answered past the 1 s timeout
    first = q.add("ann", "alert", "Mary: unusually quiet", priority=4)
    q.deliverer.deliver_due()
    q.server.poll_failures = [502] * 50  # and now every read-back fails: a proxy in front of ntfy
    help_press = q.add("ann", "alert", "Joe: pressed the help button")
    for _ in range(READBACK_TRIES - 1):
        q.clock.advance(5)
        q.deliverer.deliver_due()
    assert q.titles(ANN) == ["Mary: unusually quiet"]  # first known whether the one before went
    q.clock.advance(5)
    q.deliverer.deliver_due()  # asked three times in vain: no longer waited on
    assert q.titles(ANN) == ["Mary: unusually quiet", "Joe: pressed the help button", "Mary: unusually quiet"]
    assert q.row(first)[0] == q.row(help_press)[0] == "sent"  # twice, maybe; never held back for good


# 5. Under ntfy's request limit, the most urgent goes first.


def test_under_the_request_limit_a_help_press_overtakes_routine_notes(queue) -> None:
    q = queue(request_burst=3)  # ntfy's bucket (60 by default), small: every request counts
    for _ in range(4):
        q.add("bob", "availability", "sentinel: are you around?", priority=2)  # the weekly note
    q.deliverer.deliver_due()
    assert len(q.titles(BOB)) == 3 and q.deliverer.hold_until is not None  # the fourth waits for a token
    q.add("bob", "alert", "Mary: unusually quiet", priority=4)
    q.add("ann", "alert", "Joe: pressed the help button", priority=5)
    got = []
    for _ in range(3):  # one token back every 5 s
        q.clock.advance(5)
        q.deliverer.deliver_due()
        got.append(q.server.published[-1]["title"])
    assert got == ["Joe: pressed the help button", "Mary: unusually quiet", "sentinel: are you around?"]
