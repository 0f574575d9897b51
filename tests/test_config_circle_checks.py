"""The circle's file is checked as the agent's is: an empty host or name, a value YAML cannot read, the wrong file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, sentinel_cmd
from sentinel.config import parse_circle_config
from sentinel.errors import ConfigError

EXAMPLE = ROOT / "configs" / "circle.example.yaml"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", "0123456789abcdef-secret")
    monkeypatch.setenv("NTFY_TOKEN", "tk_test")


def errors_of(old: str, new: str) -> list[str]:
    """The errors of the example with ``old`` (found once) made ``new``."""
    text = EXAMPLE.read_text()
    assert old in text
    with pytest.raises(ConfigError) as info:
        parse_circle_config(text.replace(old, new, 1), "circle.yaml")
    return info.value.issues


def line_of(text: str) -> int:
    """The line of the example that holds ``text``."""
    return next(i for i, line in enumerate(EXAMPLE.read_text().splitlines(), 1) if text in line)


EMPTY_HOST = (
    "mqtt.host: is empty: give the broker's host name or address (e.g. localhost), or remove the line for localhost"
)
EMPTY_SERVER = (
    "ntfy.server: is empty: give the ntfy server's address (e.g. https://ntfy.sh), or remove the line for"
    " https://ntfy.sh"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  host: localhost", '  host: ""', EMPTY_HOST),
        ("  host: localhost", '  host: "  "', EMPTY_HOST),
        ("  host: localhost", "  host: broker.lan:1883", "mqtt.host: 'broker.lan:1883': give the host alone"),
        ("  server: https://ntfy.example.org", '  server: ""', EMPTY_SERVER),
        ("  server: https://ntfy.example.org", '  server: " "', EMPTY_SERVER),
        (
            "  server: https://ntfy.example.org",
            "  server: https://:8080",
            "ntfy.server: 'https://:8080' names no server: the server's name or address goes after //",
        ),
        (
            "  server: https://ntfy.example.org",
            "  server: https://ntfy.example.org:443x",
            "ntfy.server: 'https://ntfy.example.org:443x': the port after the server's name must be a number from 1"
            " to 65535",
        ),
        (
            "  server: https://ntfy.example.org",
            "  server: http://[notanip]:80",
            "ntfy.server: 'http://[notanip]:80' is no address that can be connected to",
        ),
    ],
)
def test_a_server_the_notifier_cannot_connect_to_is_refused(old: str, new: str, expected: str) -> None:
    errors = errors_of(old, new)
    assert len(errors) == 1 and errors[0].startswith(f"circle.yaml:{line_of(old)}: {expected}")


def test_an_empty_broker_host_stops_check_circle_and_notify_before_anything_starts(tmp_path: Path) -> None:
    circle = tmp_path / "circle.yaml"
    circle.write_text(EXAMPLE.read_text().replace("  host: localhost", '  host: ""', 1) + f"state_dir: {tmp_path}/s\n")
    for command in (("check-circle", str(circle)), ("notify", "-c", str(circle))):
        result = subprocess.run(sentinel_cmd(*command), capture_output=True, text=True, timeout=60)
        expected = f"{circle}:{line_of('  host: localhost')}: {EMPTY_HOST}"
        assert (result.returncode, result.stderr.strip()) == (2, expected), command
    assert not (tmp_path / "s").exists()  # nothing started, nothing written


RESIDENT = "is empty: give the resident's name, as the circle says it (e.g. 'Mary')"
MEMBER = "is empty: give how the others know them (e.g. 'Ann (next door)')"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    name: Mary", '    name: ""', f"homes[0].name: {RESIDENT}"),
        ("    name: Mary", '    name: "   "', f"homes[0].name: {RESIDENT}"),
        ("    name: Mary", "    name:", f"homes[0].name: {RESIDENT}"),
        ("    name: Bob (son)", '    name: ""', f"members[1].name: {MEMBER}"),
        ("    name: Bob (son)", "    name: ' '", f"members[1].name: {MEMBER}"),
        ("    name: Bob (son)", "    name:", f"members[1].name: {MEMBER}"),
    ],
)
def test_an_empty_or_blank_name_is_refused(old: str, new: str, expected: str) -> None:
    # Every notification starts with one: " pressed the help button", " is going" name nobody.
    assert errors_of(old, new) == [f"circle.yaml:{line_of(old)}: {expected}"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    name: Bob (son)",
            "    name: Bob: son",
            "YAML syntax error: a value containing ': ' must be put in quotes (name: \"Bob: son\")",
        ),
        (
            "    name: Bob (son)",
            "     name: Bob (son)",
            "YAML syntax error: check the indentation of this line and the one before: the keys of one section start"
            " in one column",
        ),
    ],
)
def test_a_yaml_mistake_in_the_circles_file_says_what_to_do(old: str, new: str, expected: str) -> None:
    assert errors_of(old, new) == [f"circle.yaml:{line_of(old)}: {expected}"]


def test_an_agents_file_given_to_check_circle_or_notify_is_named_once_not_key_by_key() -> None:
    agent = ROOT / "configs" / "example.yaml"
    line = agent.read_text().splitlines().index("home:") + 1
    expected = (
        f"{agent}:{line}: this looks like an agent's config (home and sensors are its sections):"
        " check it with `sentinel check-config`"
    )
    for command in (("check-circle", str(agent)), ("notify", "-c", str(agent))):
        result = subprocess.run(sentinel_cmd(*command), capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stderr.strip()) == (2, expected), command


def test_a_state_dir_that_is_a_file_stops_check_circle_and_notify_with_its_line(tmp_path: Path) -> None:
    # Before: check-circle said OK, and notify failed with exit 1 and no line ("cannot open the database
    # /etc/hostname/notifier.db"), so the service was restarted every 5 s.
    taken = tmp_path / "taken"
    taken.write_text("")
    circle = tmp_path / "circle.yaml"
    circle.write_text(EXAMPLE.read_text() + f"state_dir: {taken}\n")
    line = len(circle.read_text().splitlines())
    for command in (("check-circle", str(circle)), ("notify", "-c", str(circle))):
        result = subprocess.run(sentinel_cmd(*command), capture_output=True, text=True, timeout=60)
        expected = f"{circle}:{line}: state_dir: {taken} is a file, not a directory"
        assert result.returncode == 2 and result.stderr.startswith(expected), (command, result.stderr)


def test_a_state_dir_the_notifier_cannot_write_stops_notify_and_only_warns_check_circle(tmp_path: Path) -> None:
    circle = tmp_path / "circle.yaml"
    circle.write_text(EXAMPLE.read_text() + "state_dir: /proc/sentinel-nowhere\n")
    line = len(circle.read_text().splitlines())
    result = subprocess.run(sentinel_cmd("notify", "-c", str(circle)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith(f"{circle}:{line}: state_dir: user "), result.stderr
    result = subprocess.run(sentinel_cmd("check-circle", str(circle)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and f"{circle}:{line}: state_dir: warning: " in result.stderr
    assert "the notifier makes it when it starts" in result.stderr


def test_a_home_with_no_tiers_is_the_one_error_not_a_members_daily_note_too() -> None:
    # Before: Bob's "daily" was refused as "none of their homes has daily_note", though Mary's home has it:
    # he had no home only because its tiers were empty.
    assert errors_of("    tiers:\n      - [ann, bob]\n      - [carol]\n", "    tiers: []\n") == [
        f"circle.yaml:{line_of('    tiers:')}: homes[0].tiers: needs at least one member in every tier"
    ]


def mine(warnings: list[str]) -> list[str]:
    """The warnings but those of the example's topics (``test_the_examples_topics_are_a_warning``)."""
    return [w for w in warnings if "is the example's" not in w]


def test_the_examples_topics_are_a_warning() -> None:
    warnings: list[str] = []
    parse_circle_config(EXAMPLE.read_text(), "circle.yaml", warnings=warnings)
    assert len(warnings) == 5 and all(
        "is the example's: anyone who read it can read or post there" in w for w in warnings
    )
    assert warnings[1] == (
        f"circle.yaml:{line_of('mary-ann-5v8q2n4k7w1z')}: members[0].topic: warning: mary-ann-5v8q2n4k7w1z is the"
        " example's: anyone who read it can read or post there; make one up"
    )


def test_a_member_in_no_homes_tiers_or_kit_is_a_warning() -> None:
    text = EXAMPLE.read_text()
    old = "  - id: carol\n"
    assert old in text
    warnings: list[str] = []
    text = text.replace(old, "  - id: dan\n    name: Dan\n    topic: mary-dan-5x8c2v7b4n1m\n" + old, 1)
    parse_circle_config(text, "circle.yaml", warnings=warnings)
    expected = "members[2]: warning: is in no home's tiers or kit: no alert reaches them"
    assert mine(warnings) == [f"circle.yaml:{line_of(old.rstrip())}: {expected}"]


def test_a_home_whose_tiers_are_all_away_is_a_warning() -> None:
    text = EXAMPLE.read_text()
    for name in ("Ann (next door)", "Bob (son)", "Carol (carer)"):
        old = f"    name: {name}\n"
        assert old in text
        text = text.replace(old, old + "    away_until: 2099-01-01\n", 1)
    warnings: list[str] = []
    parse_circle_config(text, "circle.yaml", warnings=warnings)
    line = next(i for i, line in enumerate(text.splitlines(), 1) if line == "    tiers:")
    assert mine(warnings) == [
        f"circle.yaml:{line}: homes[0].tiers: warning: everyone is away (until 2099-01-01 at the soonest): an alert"
        " reaches them only with the final call, steps later"
    ]
