"""Username/password and TLS against a real Mosquitto; incoming payload parsing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from conftest import Mosquitto, agent_yaml, wait_for
from sentinel.agent import Agent
from sentinel.config import parse_config
from sentinel.mqtt import inbox
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


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("sentinel/mary/cmd/away", b'{"who": "ann"}', inbox.Command("away", {"who": "ann"})),
        ("sentinel/mary/cmd/status", b"", inbox.Command("status", {})),
        ("sentinel/mary/alert/a1/ack", b'{"what": "resolve"}', inbox.Ack("a1", {"what": "resolve"})),
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
