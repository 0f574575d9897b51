"""scripts/install.sh, run into a directory: the venv, Mosquitto's passwords and ACL, the config, the units; twice."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from conftest import ROOT, free_port, mosquitto_binary, wait_for


def install(root: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SENTINEL_ROOT": str(root), "SENTINEL_MQTT_PORT": str(port)}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "install.sh"), "mary"], env=env, capture_output=True, text=True, timeout=600
    )


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _group(name: str) -> int | None:
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "etc").rglob("*"))
        if p.is_file()
    }


def client(port: int, user: str | None, password: str | None, topics: tuple[str, ...] = ()):
    """A client logged in as ``user`` (None: anonymous): it, what it received, and the broker's refusals."""
    got: list[str] = []
    refused: list[object] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if user:
        c.username_pw_set(user, password)

    def connected(cl, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            refused.append(reason)
        elif topics:
            cl.subscribe([(t, 1) for t in topics])

    c.on_connect = connected
    c.on_subscribe = lambda *_: got.append("(subscribed)")
    c.on_message = lambda cl, u, m: got.append(m.topic)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c, got, refused


@pytest.mark.long(13)
def test_install_twice_into_a_directory_then_the_broker_lets_in_only_who_it_should(tmp_path: Path) -> None:
    mosquitto_binary()
    root, port = tmp_path / "root", free_port()
    first = install(root, port)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "is installed for home 'mary'" in first.stdout and "systemctl enable --now sentinel-agent" in first.stdout
    before = digest(root)
    again = install(root, port)  # safe to run twice: nothing made is overwritten
    assert again.returncode == 0, again.stdout + again.stderr
    assert digest(root) == before
    # An install by the version before: its ACL (no login for zigbee2mqtt) and settings are brought up to date.
    acl, conf = root / "etc/mosquitto/sentinel.acl", root / "etc/mosquitto/conf.d/sentinel.conf"
    acl.write_text(acl.read_text().split("\nuser zigbee2mqtt\n")[0])
    conf.write_text(conf.read_text().split("# The whole message")[0] + "message_size_limit 65536\n")
    updated = install(root, port)
    assert updated.returncode == 0 and f"Updated {acl} (as an earlier install.sh wrote it)." in updated.stdout
    assert digest(root) == before and not list(root.rglob("*.was")) and not list(root.rglob("*.new"))
    acl.write_text(acl.read_text() + "\nuser frigate\ntopic readwrite frigate/#\n")  # a line added by hand
    kept = install(root, port)
    assert kept.returncode == 0 and f"Kept your {acl}; this version's is {acl}.new" in kept.stdout
    assert (
        "user frigate" in acl.read_text()
        and "user frigate" not in (root / "etc/mosquitto/sentinel.acl.new").read_text()
    )
    unit = (root / "etc/systemd/system/sentinel-agent.service").read_text()
    # The learning process killed for want of memory must not stop the agent (systemd's default would).
    assert "\nOOMPolicy=continue\n" in unit
    assert "\nOOMScoreAdjust=-500\n" in unit  # and the agent itself is among the last to go
    assert oct((root / "etc/sentinel/agent.env").stat().st_mode & 0o777) == "0o600"
    passwords = (root / "etc/mosquitto/sentinel.passwd").stat()
    if os.geteuid() == 0 and _group("mosquitto") is not None:  # Mosquitto reads it as its own user: else it stops
        assert (passwords.st_gid, oct(passwords.st_mode & 0o777)) == (_group("mosquitto"), "0o640")
    # Twenty messages larger than a client asked for stall Mosquitto 2.0 (docs/install.md): none gets through.
    assert "\nmax_packet_size 1048576\n" in (root / "etc/mosquitto/conf.d/sentinel.conf").read_text()

    password = (root / "etc/sentinel/agent.env").read_text().strip().split("=", 1)[1]
    check = subprocess.run(
        [str(root / "opt/sentinel/bin/sentinel"), "check-config", str(root / "etc/sentinel/agent.yaml")],
        env={**os.environ, "SENTINEL_MQTT_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr  # the installed package reads the installed config
    notifier_password = (root / "etc/sentinel/notifier-mqtt.env").read_text().strip().split("=", 1)[1]
    circle = (root / "etc/sentinel/circle.yaml").read_text()
    # Before, the notifier had no login: the broker refused it, and no alert reached a phone.
    assert "\n  username: notifier\n  password_env: SENTINEL_MQTT_PASSWORD\n" in circle and f"port: {port}\n" in circle
    secrets = {"SENTINEL_MQTT_PASSWORD": notifier_password, "SENTINEL_ACK_SECRET": "s" * 32, "NTFY_TOKEN": "tk_x"}
    check = subprocess.run(
        [str(root / "opt/sentinel/bin/sentinel"), "check-circle", str(root / "etc/sentinel/circle.yaml")],
        env={**os.environ, **secrets},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    notify_unit = (root / "etc/systemd/system/sentinel-notify.service").read_text()
    assert "\nEnvironmentFile=-/etc/sentinel/notifier-mqtt.env\n" in notify_unit  # the password, as installed

    # Mosquitto with the config the script wrote (its paths moved under the test's directory).
    conf = (
        (root / "etc/mosquitto/conf.d/sentinel.conf").read_text().replace("/etc/mosquitto/", f"{root}/etc/mosquitto/")
    )
    if os.geteuid() == 0:
        conf += "user root\n"  # else it drops to 'mosquitto', who cannot read the test's files
    (tmp_path / "mosquitto.conf").write_text(conf + "log_dest stderr\n")
    broker = subprocess.Popen([mosquitto_binary(), "-c", str(tmp_path / "mosquitto.conf")], stderr=subprocess.PIPE)
    wait_for(lambda: _listening(port), 10, "mosquitto with the installed config")
    try:
        watcher, seen, _ = client(port, "notifier", notifier_password, ("sentinel/+/status",))
        agent, commands, agent_refused = client(
            port, "sentinel-mary", password, ("sentinel/mary/cmd/#", "zigbee2mqtt/#")
        )
        wait_for(lambda: "(subscribed)" in commands and "(subscribed)" in seen, 10, "both to log in")
        # zigbee2mqtt with the login the script made for it: before, it had none, and anonymous was refused.
        login = (root / "etc/sentinel/zigbee2mqtt-mqtt.txt").read_text()
        z2m_password = login.split("password: ", 1)[1].strip()
        assert (
            "  user: zigbee2mqtt\n" in login
            and oct((root / "etc/sentinel/zigbee2mqtt-mqtt.txt").stat().st_mode)[-3:] == "600"
        )
        z2m, _, z2m_refused = client(port, "zigbee2mqtt", z2m_password)
        wait_for(lambda: z2m.is_connected() or z2m_refused, 10, "zigbee2mqtt to log in")
        z2m.publish("zigbee2mqtt/hall motion", b'{"occupancy":true}', qos=1).wait_for_publish(5)
        wait_for(lambda: "zigbee2mqtt/hall motion" in commands, 10, "the agent to hear zigbee2mqtt")
        # The resident's "I'm OK" from the phone, through the notifier: before, the ACL dropped it.
        watcher.publish("sentinel/mary/cmd/ok", b"{}", qos=1).wait_for_publish(5)
        watcher.publish("sentinel/mary/cmd/status", b"{}", qos=1).wait_for_publish(5)  # before a daily note
        wait_for(
            lambda: {"sentinel/mary/cmd/ok", "sentinel/mary/cmd/status"} <= set(commands), 10, "the notifier's commands"
        )
        agent.publish("sentinel/bob/status", b"{}", qos=1).wait_for_publish(5)  # not its home: the ACL drops it
        agent.publish("sentinel/mary/status", b"{}", qos=1).wait_for_publish(5)
        wait_for(lambda: "sentinel/mary/status" in seen, 10, "Mary's status")
        assert seen == ["(subscribed)", "sentinel/mary/status"]  # Bob's, sent first, would have come first
        stranger, _, refused = client(port, None, None)
        wait_for(lambda: refused, 10, "the anonymous client to be refused")
        for c in (watcher, agent, stranger, z2m):
            c.disconnect()
            c.loop_stop()
        assert not agent_refused
    finally:
        broker.terminate()
        broker.wait(10)


def test_install_refuses_a_home_id_it_could_not_use() -> None:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "install.sh"), "Mary's"], capture_output=True, text=True)
    assert result.returncode == 2 and "usage" in result.stderr
