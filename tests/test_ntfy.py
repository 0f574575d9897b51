"""ntfy as the circle meets it: the real server's rules and limits (in the stand-in), and the notifier with them."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import struct
import threading
import time
import unicodedata
import urllib.error
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from circle_driver import TOPICS, alert
from conftest import wait_for
from ntfy_fake import FakeNtfy
from sentinel import deadline
from sentinel.cli import main
from sentinel.config.circle import NtfyConfig
from sentinel.demo.ntfy_rules import Access
from sentinel.notifier.ntfy import QUOTA_PAUSE_S, DeliveryError, Notification, Ntfy

ACK_TOPIC = "sentinel-acks-test-0001"


class FrozenBucketClock:
    """The stand-in's clock for its rate limiter: it moves only when the test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[FakeNtfy]:
    made = FakeNtfy()
    yield made
    made.close()


def post(server: FakeNtfy, body: Any, path: str = "/", headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return httpx.post(server.url + path, content=content, headers=headers or {}, timeout=5)


def code(response: httpx.Response) -> tuple[int, int | None]:
    return response.status_code, response.json().get("code")


# The stand-in refuses what ntfy refuses (see the rules in sentinel/demo/ntfy_rules.py).


def test_the_stand_in_enforces_ntfys_publishing_rules(server: FakeNtfy) -> None:
    ok = {"topic": "a-topic-000001", "message": "hello"}
    assert post(server, ok).status_code == 200
    http = {"action": "http", "label": "x", "url": "http://example.org"}
    assert code(post(server, {**ok, "actions": [http] * 4})) == (400, 40018)  # at most 3 actions
    assert code(post(server, {**ok, "actions": [{"action": "copy", "label": "x"}]})) == (400, 40018)
    assert code(post(server, {**ok, "actions": [{**http, "method": "GET", "body": "x"}]})) == (400, 40018)
    assert code(post(server, {**ok, "topic": "a/b"})) == (400, 40009)
    assert code(post(server, {**ok, "topic": "x" * 65})) == (400, 40009)
    assert code(post(server, {**ok, "topic": "docs"})) == (400, 40010)  # reserved
    assert code(post(server, {**ok, "message": "é" * 2049})) == (400, 40014)  # 4,098 bytes: an attachment
    assert code(post(server, {**ok, "message": "x" * 9000})) == (413, 41303)  # the JSON body limit
    assert code(post(server, {**ok, "delay": "5s"})) == (400, 40005)
    assert post(server, {**ok, "delay": "30s"}).status_code == 200
    assert code(post(server, {**ok, "priority": 6})) == (400, 40007)
    assert code(post(server, {**ok, "priority": "5"})) == (400, 40024)  # Go will not take a string for an int
    assert code(post(server, b"[1, 2]")) == (400, 40024)


def test_the_stand_in_ignores_unknown_fields_and_survives_bad_bytes(server: FakeNtfy) -> None:
    assert post(server, {"topic": "a-topic-000001", "message": "hi", "titel": "typo"}).status_code == 200
    assert server.ignored_fields == ["titel"]  # the real server drops it without a word
    raw = b'{"topic": "a-topic-000001", "message": "caf\xe9"}'
    assert post(server, raw).status_code == 200  # Go's JSON decoder makes it U+FFFD
    assert server.to("a-topic-000001")[-1]["message"] == "caf\ufffd"
    assert code(post(server, b"\xff\xfe", "/a-topic-000001")) == (400, 40014)  # a plain body: an attachment
    assert code(post(server, {"topic": "a-topic-000001"}, headers={"Authorization": "Bearer tk_wrong"})) == (
        401,
        40101,
    )
    assert post(server, {"topic": "a-topic-000001", "message": "still alive"}).status_code == 200


def test_the_stand_in_limits_requests_like_ntfy() -> None:
    clock = FrozenBucketClock()
    server = FakeNtfy(request_burst=60, request_every_s=5.0, clock=clock)
    try:
        answers = [post(server, {"topic": "a-topic-000001"}).status_code for _ in range(61)]
        assert answers[:60] == [200] * 60 and answers[60] == 429
        assert server.refused[-1][1:] == (429, 42901)
        poll = httpx.get(f"{server.url}/a-topic-000001/json", params={"poll": "1"}, timeout=5)
        assert poll.status_code == 429  # reading and publishing share the bucket
        clock.now += 5.0  # one token back every 5 s
        assert post(server, {"topic": "a-topic-000001"}).status_code == 200
        assert post(server, {"topic": "a-topic-000001"}).status_code == 429
    finally:
        server.close()


def test_the_stand_in_refuses_a_json_body_of_8192_bytes_and_a_message_of_4096_as_ntfy_does(server: FakeNtfy) -> None:
    def sized(size: int) -> dict[str, Any]:
        """A JSON publish of ``size`` bytes (its title pads it)."""
        base = {"topic": "a-topic-000001", "message": "hi", "title": ""}
        return {**base, "title": "t" * (size - len(json.dumps(base).encode()))}

    # util/peek.go: the limit is reached when as many bytes were read as the limit allows.
    assert post(server, sized(8191)).status_code == 200
    assert code(post(server, sized(8192))) == (413, 41303)
    assert post(server, {"topic": "a-topic-000001", "message": "x" * 4095}).status_code == 200
    assert code(post(server, {"topic": "a-topic-000001", "message": "x" * 4096})) == (400, 40014)


# The client: error codes, hints, and texts that fit.


def test_the_client_reads_ntfys_refusals() -> None:
    server = FakeNtfy(daily_messages=1)
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=server.url, timeout=2))
    try:
        ntfy.publish(Notification("a-topic-000001", "t", "m"))
        with pytest.raises(DeliveryError) as refused:
            ntfy.publish(Notification("a-topic-000001", "t", "m"))
        assert refused.value.quota and not refused.value.permanent and refused.value.retry_after == QUOTA_PAUSE_S
        with pytest.raises(DeliveryError) as bad:
            ntfy.publish(Notification("docs", "t", "m"))
        assert bad.value.permanent and bad.value.code == 40010
    finally:
        ntfy.close()
        server.close()


def test_a_long_reason_is_cut_to_fit_and_still_arrives(server: FakeNtfy) -> None:
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=server.url, timeout=2))
    try:
        ntfy.publish(Notification("a-topic-000001", "Mary: " + "t" * 500, "é" * 5000))
    finally:
        ntfy.close()
    sent = server.to("a-topic-000001")[0]
    assert len(sent["message"].encode()) <= 4096 and sent["message"].endswith("\u2026")
    assert len(sent["title"].encode()) <= 200


NASTY = '\x00\x1b[2J\r\u202e\u2066"\\\U0001f600'  # control characters, an escape, bidi overrides, quote, backslash


def test_a_notification_of_control_characters_quotes_and_backslashes_still_arrives(server: FakeNtfy, caplog) -> None:
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=server.url, timeout=2))
    button = {"action": "http", "label": "I'm going", "url": f"{server.url}/{ACK_TOPIC}", "method": "POST"}
    button["body"] = json.dumps({"note": '"\\' * 100})  # JSON in JSON: every quote escaped twice
    text = "\x01" * 1400 + NASTY * 200 + "\n" + '"\\' * 2000  # as JSON, 6 bytes a control character
    huge = {**button, "body": '"' * 3000}  # buttons that cannot fit whatever is cut
    try:
        ntfy.publish(Notification("a-topic-000001", NASTY * 100, text, 5, ("sos",), server.url, (button,) * 3))
        with caplog.at_level(logging.WARNING):
            ntfy.publish(Notification("a-topic-000002", NASTY * 100, text, 5, ("sos",), server.url, (huge,) * 3))
    finally:
        ntfy.close()
    assert server.refused == []
    sent, bare = server.to("a-topic-000001")[0], server.to("a-topic-000002")[0]
    for note in (sent, bare):
        assert len(json.dumps(note, ensure_ascii=False).encode()) < 8192
        shown = note["title"] + note["message"]
        assert not [c for c in shown if unicodedata.category(c) == "Cc" and c != "\n"]
        assert not {"\u202e", "\u2066"} & set(shown) and note["priority"] == 5
        assert note["title"].startswith('[2J "\\\U0001f600 [2J') and note["message"].endswith("\u2026")
    assert sent["actions"] == [button] * 3 and sent["click"] == server.url  # the message gave way, not the buttons
    assert "actions" not in bare and "click" not in bare  # the last resort: the words arrive without them
    assert any("too large for ntfy even cut short" in r.getMessage() for r in caplog.records)


class Trickle:
    """A real HTTP server that answers one byte at a time: never quiet long enough for a read timeout to fire."""

    def __init__(self, where: str, every_s: float = 0.1) -> None:
        self.where = where  # "headers": from the status line on; "body": after whole headers
        self.every_s = every_s
        self.gave_up = threading.Event()  # the client hung up while it was trickling
        trickle = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                length = 0
                while (line := self.rfile.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.rfile.read(length)
                trickle.answer(self.wfile)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, out: Any) -> None:
        body = b'{"id":"abcdefghijkl","event":"message","topic":"a-topic-000001","message":"hi"}\n'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        at_once, slowly = (b"", head + body) if self.where == "headers" else (head, body)  # ~12 s or ~8 s in all
        try:
            out.write(at_once)
            for i in range(len(slowly)):
                out.write(slowly[i : i + 1])
                out.flush()
                time.sleep(self.every_s)  # the server's pace, not a wait in the test
        except OSError:
            self.gave_up.set()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("call", "where"), [("publish", "headers"), ("publish", "body"), ("poll", "body")])
def test_a_server_that_trickles_its_answer_cannot_hold_a_request_past_ntfy_timeout(call: str, where: str) -> None:
    server = Trickle(where)
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=server.url, timeout=1))
    started = time.monotonic()
    try:
        with pytest.raises(DeliveryError) as failed:
            if call == "publish":
                ntfy.publish(Notification("a-topic-000001", "Mary: pressed the help button", "Help"))
            else:
                ntfy.poll("a-topic-000001", "all")
        took = time.monotonic() - started
        # httpx's timeouts are per read: each byte started it again, and the answer would have come whole.
        assert took < 5.0, f"{call} took {took:.1f} s"  # 1 s and a busy machine's scheduling; not the ~10 s
        assert not failed.value.permanent and failed.value.unsure  # it may have been kept: asked before sent again
        assert "did not answer in full within 1 s" in str(failed.value)
        assert server.gave_up.wait(5)  # the connection was closed, not left trickling
    finally:
        ntfy.close()
        server.close()


def hanging_resolver(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[str]]:
    """getaddrinfo for ntfy.example.net waits until the event is set (as glibc waits on each name server)."""
    answer = threading.Event()
    asked: list[str] = []
    real = socket.getaddrinfo

    def resolver(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "ntfy.example.net":
            asked.append(host)
            answer.wait(30)
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return answer, asked


@pytest.mark.parametrize("late_timer", [False, True])
def test_a_name_server_that_does_not_answer_cannot_hold_a_request_past_ntfy_timeout(
    server: FakeNtfy, monkeypatch, late_timer: bool
) -> None:
    # The system's resolver cannot be made to hang here (it is the machine's), so it is the one part stood in for:
    # getaddrinfo for this name waits until the test lets it answer, as glibc waits 10 s and more on each name server.
    answer, asked = hanging_resolver(monkeypatch)
    if late_timer:  # a starved machine: the deadline's timer runs only after the caller has given up

        class Late(threading.Timer):
            def run(self) -> None:
                answer.wait(30)
                super().run()

        monkeypatch.setattr(deadline.threading, "Timer", Late)
    port = server.url.rsplit(":", 1)[1]
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=f"http://ntfy.example.net:{port}", timeout=1))
    note = Notification("a-topic-000001", "Mary: pressed the help button", "Help")
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as failed:
            ntfy.publish(note)
        took = time.monotonic() - started
        assert took < 5.0, f"the publish took {took:.1f} s"  # 1 s, a second's grace and a busy machine
        assert not failed.value.permanent and not failed.value.unsure  # it never connected: nothing can have gone
        assert "looking up the address of ntfy.example.net (DNS), or connecting" in str(failed.value)
        # Tried again while the first lookup still waits: no second thread is left waiting on the resolver.
        with pytest.raises(DeliveryError, match="still waiting for the answer"):
            ntfy.publish(note)
        assert asked == ["ntfy.example.net"]
        # The answer comes late: the request given up connects, and is cut before it is written.
        answer.set()
        wait_for(lambda: not any(t.name == "ntfy-request" and t.is_alive() for t in threading.enumerate()))
        assert server.to("a-topic-000001") == []
        assert ntfy.publish(note)  # the next try goes through
        assert [m["title"] for m in server.to("a-topic-000001")] == ["Mary: pressed the help button"]
    finally:
        answer.set()
        ntfy.close()


def test_a_name_server_that_does_not_answer_cannot_hold_the_subscription_for_button_presses(
    server: FakeNtfy, monkeypatch
) -> None:
    # As above: the resolver waits until the test lets it answer. Before, the subscription waited on it as long as
    # it took, with nothing logged; now it gives up after ntfy.timeout, says why, and is tried again.
    answer, asked = hanging_resolver(monkeypatch)
    port = server.url.rsplit(":", 1)[1]
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=f"http://ntfy.example.net:{port}", timeout=1))
    try:
        with pytest.raises(DeliveryError) as failed:
            next(ntfy.stream(ACK_TOPIC, "all"))
        assert not answer.is_set()  # given up while the lookup still waited
        assert not failed.value.permanent
        assert "looking up the address of ntfy.example.net (DNS), or connecting" in str(failed.value)
        with pytest.raises(DeliveryError, match="still waiting for the answer"):  # no second lookup left waiting
            next(ntfy.stream(ACK_TOPIC, "all"))
        assert asked == ["ntfy.example.net"]
        # The subscription's lookup holds up no alert: a publish makes its own (which waits here as well).
        with pytest.raises(DeliveryError) as published:
            ntfy.publish(Notification("a-topic-000001", "Mary: pressed the help button", "Help"))
        assert "still waiting" not in str(published.value) and asked == ["ntfy.example.net"] * 2
        answer.set()
        wait_for(lambda: not any(t.name.startswith("ntfy-") and t.is_alive() for t in threading.enumerate()))
        events = ntfy.stream(ACK_TOPIC, "all")
        assert next(events)["event"] == "open"  # the next try subscribes
        events.close()
    finally:
        answer.set()
        ntfy.close()


def test_a_connection_broken_after_the_request_went_out_is_maybe_sent_not_sent_blindly_again() -> None:
    # A proxy (or ntfy itself) reads the whole publish, keeps it, then resets the connection instead of answering.
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
        while len(body) < length:
            body += conn.recv(65536)
        received.append(body)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ntfy = Ntfy(NtfyConfig(ack_topic=ACK_TOPIC, server=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=5))
    try:
        with pytest.raises(DeliveryError) as failed:
            ntfy.publish(Notification("a-topic-000001", "Mary: pressed the help button", "Help"))
        assert len(received) == 1  # it got there
        assert failed.value.unsure and not failed.value.permanent  # so ntfy is asked before it goes again
    finally:
        ntfy.close()
        listener.close()
        thread.join(5)


# The notifier living with the limits.


def test_reading_the_buttons_costs_one_request_not_one_every_few_seconds(circle) -> None:
    clock = FrozenBucketClock()  # no tokens come back: every request the notifier makes is counted
    c = circle(ntfy=FakeNtfy(clock=clock), top="watch_silence: false\n")  # no offline notice either
    wait_for(lambda: c.notifier.acks.connected.is_set(), 10, "the subscription")
    for _ in range(120):  # an hour of the notifier's time, in 30 s steps (no MQTT to wait for)
        c.clock.advance(30)
        c.notifier.step()
        c.notifier.deliver_due()
    visitor = next(iter(c.ntfy_server.visitors.values()))
    assert 59 <= visitor.requests.tokens < 60  # one request: the subscription
    c.publish("alert", alert())
    c.pump()
    message = c.ntfy_server.press(c.alerts_to("ann")[0], "I'm going")
    c.handled(message["id"])
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]


def test_a_press_made_while_the_subscription_was_down_is_read_after_it_reconnects(circle) -> None:
    c = circle()
    c.publish("alert", alert())
    c.pump()
    wait_for(lambda: c.notifier.acks.connected.is_set(), 10, "the subscription")
    c.ntfy_server.drop_subscribers()
    message = c.ntfy_server.press(c.alerts_to("ann")[0], "I'm going")
    c.handled(message["id"])  # read after the reconnect, from where it left off
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]


def test_a_429_holds_every_notification_until_ntfy_takes_them_again(circle) -> None:
    clock = FrozenBucketClock()
    c = circle(ntfy=FakeNtfy(request_burst=2, clock=clock))
    wait_for(lambda: c.notifier.acks.connected.is_set(), 10, "the subscription")  # one of the two tokens
    c.publish("alert", alert("mary-help-1", "help", "critical"))  # to Ann and Carol at once
    c.pump()
    assert len(c.alerts_to("ann")) == 1 and c.alerts_to("carol") == []
    assert [r[1:] for r in c.ntfy_server.refused] == [(429, 42901)]
    c.advance(4)
    assert len(c.ntfy_server.refused) == 1  # held: no request until the hint has passed
    clock.now += 5.0
    c.advance(1)
    assert len(c.alerts_to("carol")) == 1
    whats = [(w, m) for _, w, m, _ in c.store.steps("mary-help-1")]
    assert ("retry", "carol") in whats and ("sent", "carol") in whats


def test_a_spent_daily_quota_holds_alerts_and_tells_the_keepers(circle, caplog) -> None:
    c = circle(ntfy=FakeNtfy(daily_messages=1), top="watch_silence: false\n")
    c.publish("alert", alert("mary-help-1", "help", "critical"))
    c.pump()
    assert len(c.alerts_to("ann")) == 1 and c.alerts_to("carol") == []
    assert any("daily message quota" in r.message and r.levelno == logging.ERROR for r in caplog.records)
    steps = [(w, d) for _, w, _, d in c.store.steps("mary-help-1")]
    assert any(w == "held" for w, _ in steps)
    attempts = len(c.ntfy_server.refused)
    c.advance(19 * 60)
    assert len(c.ntfy_server.refused) == attempts  # no hammering for 20 minutes
    c.advance(60)
    assert len(c.ntfy_server.refused) == attempts + 1  # tried again, and still refused
    c.ntfy_server.daily_messages = 0  # a larger quota (or midnight UTC)
    c.advance(20 * 60)
    assert c.alerts_to("carol")  # late, but not lost (with the final call that fell due meanwhile)
    told = [n["title"] for n in c.infos_to("carol")]
    assert told == ["sentinel could not notify you"]  # Carol keeps the kit; told once, not once per refusal
    assert sum(w == "held" for _, w, _, _ in c.store.steps("mary-help-1")) == 1


def test_a_spent_daily_quota_is_told_once_across_a_restart(tmp_path, broker, monkeypatch) -> None:
    from circle_driver import SECRET, Circle

    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    ntfy = FakeNtfy(daily_messages=1)
    first = Circle(tmp_path / "n", broker.port, top="watch_silence: false\n", ntfy=ntfy)
    first._owns_ntfy = False
    second = None
    try:
        first.publish("alert", alert("mary-help-1", "help", "critical"))
        first.pump()  # Ann's went; the rest is refused, and the keepers' notice waits with it
        first.close()
        second = Circle(tmp_path / "n", broker.port, top="watch_silence: false\n", like=first, clock=first.clock)
        second.advance(20 * 60)  # the restarted notifier is refused again: the same spell
        ntfy.daily_messages = 0
        second.advance(20 * 60)
        assert second.alerts_to("carol")
        assert [n["title"] for n in second.infos_to("carol")] == ["sentinel could not notify you"]  # once
    finally:
        if second is not None:
            second.close()
        ntfy.close()


def test_an_alert_held_up_is_not_sent_after_its_all_clear(circle) -> None:
    c = circle(ntfy=FakeNtfy(daily_messages=1))
    c.publish("alert", alert("mary-help-1", "help", "critical"))
    c.pump()
    c.publish("alert/mary-help-1/ack", {"who": "resident", "what": "cancel", "note": "Mary pressed 'I'm OK'."})
    wait_for(lambda: (c.pump(1), c.store.is_closed("mary-help-1"))[1], 5, "the incident to close")
    c.ntfy_server.daily_messages = 0
    c.advance(20 * 60)
    assert c.alerts_to("carol") == []  # the alert is moot; the all-clear is what Carol needs
    assert [n["message"] for n in c.infos_to("ann")][-1] == "Mary pressed 'I'm OK'."


# A self-hosted server that denies by default.


def deny_all(token: str) -> Access:
    return Access(default="deny-all", tokens={token: "sentinel"}, grants=[("sentinel", "*", "read-write")])


def test_on_a_deny_all_server_the_buttons_need_the_ack_topic_open_for_writing(circle, monkeypatch) -> None:
    monkeypatch.setenv("NTFY_TEST_TOKEN", "tk_notifier0000000000000000")
    server = FakeNtfy(access=deny_all("tk_notifier0000000000000000"))
    c = circle(ntfy=server, edit=lambda t: t.replace("ntfy:\n", "ntfy:\n  token_env: NTFY_TEST_TOKEN\n"))
    c.publish("alert", alert())
    c.pump()
    note = c.alerts_to("ann")[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        server.press(note, "I'm going")  # the app sends the action's headers only: no login
    assert refused.value.code == 403
    server.access.grants.insert(0, ("*", ACK_TOPIC, "write-only"))  # ntfy access everyone <ack_topic> write-only
    c.handled(server.press(note, "I'm going")["id"])
    assert c.store.incident("mary-inactivity-1").claimed_by == "ann"  # type: ignore[union-attr]
    reading = httpx.get(f"{server.url}/{ACK_TOPIC}/json", params={"poll": "1"}, timeout=5)
    assert reading.status_code == 403  # write-only: nobody else can read the presses


def test_check_circle_prints_the_access_line_for_a_self_hosted_server(tmp_path, capsys, monkeypatch) -> None:
    from circle_driver import SECRET, circle_yaml

    monkeypatch.setenv("SENTINEL_ACK_SECRET", SECRET)
    path = tmp_path / "circle.yaml"
    path.write_text(circle_yaml(1883, "https://ntfy.example.org", tmp_path, "sentinel"))
    assert main(["check-circle", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"ntfy access everyone {ACK_TOPIC} write-only" in out
    assert "upstream-base-url" in out
    assert set(TOPICS.values()).isdisjoint(out.split())  # members' topics are secrets: never printed
    for server, advised in (("https://ntfy.sh", False), ("https://ntfy.shop.example", True)):
        path.write_text(circle_yaml(1883, server, tmp_path, "sentinel"))
        assert main(["check-circle", str(path)]) == 0
        assert ("ntfy access everyone" in capsys.readouterr().out) == advised, server


def test_a_notification_in_flight_at_a_stop_is_checked_at_ntfy_or_sent_again(circle, monkeypatch, caplog) -> None:
    """After a stop mid-request: what ntfy has is not sent twice; what it lacks, or cannot show, is sent."""
    from sentinel.notifier.delivery import Deliverer, notification

    monkeypatch.setenv("NTFY_TEST_TOKEN", "tk_notifier0000000000000000")
    # The notifier may write the members' topics and read only Ann's (and the ack topic).
    access = Access("deny-all", {"tk_notifier0000000000000000": "sentinel"})
    access.grants = [("sentinel", TOPICS["ann"], "read-write"), ("sentinel", ACK_TOPIC, "read-write")]
    access.grants += [("sentinel", "*", "write-only")]
    server = FakeNtfy(access=access)
    c = circle(ntfy=server, start=datetime(2026, 3, 3, 23, 0).astimezone(), edit=token_env)
    c.publish("alert", alert("mary-help-1", "help", "critical"))  # Ann and Carol at once
    c.notifier.step()  # the step is taken; nothing is sent yet
    deliveries = {d.member: d for d in c.store.due_deliveries(c.clock.now())}
    for member in ("ann", "carol"):  # both were being sent when the notifier stopped...
        c.store.sending(deliveries[member].id)
    ntfy = c.notifier.ntfy  # ... and ntfy had taken both
    for member in ("ann", "carol"):
        ntfy.publish(notification(c.config.member(member), deliveries[member].body))
    restarted = Deliverer(c.store, ntfy, c.config.members, c.clock)
    restarted.deliver_due()
    assert len(server.to(TOPICS["ann"])) == 1  # found at ntfy: not sent again
    assert len(server.to(TOPICS["carol"])) == 2  # Carol's topic cannot be read: sent again, said in the log
    assert any("may arrive twice" in r.getMessage() for r in caplog.records)
    assert c.store.due_deliveries(c.clock.now()) == [] and c.store.in_flight() == []


def token_env(text: str) -> str:
    return text.replace("ntfy:\n", "ntfy:\n  token_env: NTFY_TEST_TOKEN\n")
