"""Username/password and TLS against a real Mosquitto; an unreachable broker; incoming payload parsing."""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from conftest import Mosquitto, agent_yaml, wait_for
from sentinel.agent import inbox
from sentinel.agent.app import Agent
from sentinel.config import MqttConfig, parse_config
from sentinel.config.model import TlsConfig
from sentinel.mqtt.link import MqttLink, describe
from sentinel.mqtt.topics import Topics
from sentinel.store import Store


def make_certs(d: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=sentinel test CA",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )


@pytest.fixture
def secure_broker(tmp_path: Path):
    d = tmp_path / "tls"
    d.mkdir()
    make_certs(d)
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(d / "passwd"), "agent", "right-password"], check=True, capture_output=True
    )
    (d / "passwd").chmod(0o644)
    server = Mosquitto(
        d,
        extra=(
            f"cafile {d}/ca.crt",
            f"certfile {d}/server.crt",
            f"keyfile {d}/server.key",
            "allow_anonymous false",
            f"password_file {d}/passwd",
        ),
    )
    server.conf.write_text(server.conf.read_text().replace("allow_anonymous true\n", ""))
    server.start()
    yield server, d
    server.stop()


def secure_agent(tmp_path: Path, port: int, certs: Path) -> Agent:
    mqtt = f"  username: agent\n  password_env: TEST_MQTT_PASSWORD\n  tls:\n    ca_file: {certs}/ca.crt\n"
    config = parse_config(agent_yaml(port, extra_mqtt=mqtt))
    return Agent(config, Store(tmp_path / "agent.db"), pin_factory=MockFactory())


def test_tls_and_password_connect_and_deliver(tmp_path: Path, secure_broker, monkeypatch) -> None:
    server, certs = secure_broker
    monkeypatch.setenv("TEST_MQTT_PASSWORD", "right-password")
    agent = secure_agent(tmp_path, server.port, certs)
    agent.start()
    try:
        wait_for(lambda: (agent.pump(), agent.link.connected)[1], 10, "a TLS connection")
        agent.pin_factory.pin(22).drive_low()
        agent.pump()
        wait_for(lambda: (agent.pump(), agent.store.open_alerts("testhome"))[1], 5, "the alert")
        wait_for(lambda: (agent.pump(), agent.store.pending() == [])[1], 10, "the broker's acknowledgement")
    finally:
        agent.close()


def test_a_wrong_password_is_logged_and_retried_without_crashing(
    tmp_path: Path, secure_broker, monkeypatch, caplog
) -> None:
    server, certs = secure_broker
    monkeypatch.setenv("TEST_MQTT_PASSWORD", "wrong-password")
    agent = secure_agent(tmp_path, server.port, certs)
    agent.start()
    try:
        wait_for(lambda: any("refused" in r.message for r in caplog.records), 10, "the refusal to be logged")
        assert not agent.link.connected
        assert not any("wrong-password" in r.getMessage() for r in caplog.records)
    finally:
        agent.close()


TOPICS = Topics("sentinel/mary")


def quick_link(cfg: MqttConfig, clock=None) -> MqttLink:
    """A link that retries every 0.05-0.2 s, so a test sees several attempts at once."""
    extra = {"clock": clock} if clock else {}
    return MqttLink(cfg, TOPICS, "test-link", lambda event: None, [], retry=(0.05, 0.2), **extra)


def link_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sentinel.mqtt.link" and r.levelno == level]


def test_an_unreachable_broker_is_warned_about_once_with_its_reason(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="sentinel.mqtt.link")
    server = Mosquitto(tmp_path / "broker")  # its port is chosen, but nothing listens on it yet
    link = quick_link(MqttConfig(host="127.0.0.1", port=server.port))
    link.start()
    try:
        wait_for(lambda: link.failures.count >= 4, 10, "four refused attempts")
        assert link_records(caplog, logging.WARNING) == [
            f"cannot connect to the broker at 127.0.0.1:{server.port}: "
            "connection refused (is the broker running, and on this port?); retrying"
        ]
        server.start()
        wait_for(lambda: link.connected, 10, "the link to connect once the broker is up")
        connected = wait_for(
            lambda: [m for m in link_records(caplog, logging.INFO) if m.startswith("connected")], 5, "the log"
        )
        assert connected[0].startswith(f"connected to the broker at 127.0.0.1:{server.port} after ")
        assert "failed attempts over" in connected[0]
    finally:
        link.stop()
        server.stop()


def test_a_lasting_failure_is_repeated_every_few_minutes_not_every_attempt(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="sentinel.mqtt.link")
    port = Mosquitto(tmp_path / "broker").port  # never started: connection refused
    now = [1000.0]
    link = quick_link(MqttConfig(host="127.0.0.1", port=port), clock=lambda: now[0])
    link.start()
    try:
        wait_for(lambda: link.failures.count >= 3, 10, "three refused attempts")
        assert len(link_records(caplog, logging.WARNING)) == 1
        now[0] += 301  # five minutes on, by the link's clock
        seen = link.failures.count
        wait_for(lambda: link.failures.count >= seen + 3, 10, "three more attempts")
        warnings = link_records(caplog, logging.WARNING)
        assert len(warnings) == 2
        assert warnings[1].startswith(f"still cannot connect to the broker at 127.0.0.1:{port} after ")
        assert warnings[1].endswith(
            "over 5 min 1 s: connection refused (is the broker running, and on this port?); retrying"
        )
    finally:
        link.stop()


def test_a_broker_certificate_not_trusted_is_named_as_a_tls_failure(secure_broker, caplog) -> None:
    caplog.set_level(logging.INFO, logger="sentinel.mqtt.link")
    server, _ = secure_broker
    # The system's CAs do not know the test CA.
    link = quick_link(MqttConfig(host="127.0.0.1", port=server.port, tls=TlsConfig()))
    link.start()
    try:
        wait_for(lambda: link.failures.count >= 2, 10, "two failed attempts")
        (warning,) = link_records(caplog, logging.WARNING)
        assert "TLS failed: the broker's certificate was not accepted" in warning
        assert "certificate" in warning.split("(", 1)[1]
    finally:
        link.stop()


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "the host name could not be resolved (Name or service not known)",
        ),
        (
            ConnectionRefusedError(111, "Connection refused"),
            "connection refused (is the broker running, and on this port?)",
        ),
        (TimeoutError("timed out"), "no answer (timed out)"),
        (OSError(113, "No route to host"), "no route to host"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS failed"),
    ],
)
def test_connection_failures_are_described_for_an_installer(error: OSError, said: str) -> None:
    assert describe(error).startswith(said)


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("sentinel/mary/cmd/away", b'{"who": "ann"}', inbox.Command("away", {"who": "ann"})),
        ("sentinel/mary/cmd/status", b"", inbox.Command("status", {})),
        ("sentinel/mary/alert/a1/ack", b'{"what": "resolve"}', inbox.Answer("a1", {"what": "resolve"})),
        ("sentinel/mary/status", b"{}", None),
        ("sentinel/mary/cmd/away/reply", b"{}", None),
        ("sentinel/bob/cmd/away", b"{}", None),
        ("cmd/away", b"{}", None),
        ("sentinel/mary/alert//ack", b"{}", None),
    ],
)
def test_parse_incoming(topic: str, payload: bytes, expected: object) -> None:
    assert inbox.parse(TOPICS, topic, payload) == expected


@pytest.mark.parametrize("payload", [b"{", b"\xff", b"[]", b"null", b'"text"'])
def test_malformed_payloads(payload: bytes) -> None:
    with pytest.raises(inbox.Malformed):
        inbox.parse(TOPICS, "sentinel/mary/cmd/away", payload)
