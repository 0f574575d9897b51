"""The notifier's config: the shipped example is valid; mistakes name file, line and key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, sentinel_cmd
from sentinel.config import load_circle_config, parse_circle_config
from sentinel.errors import ConfigError

EXAMPLE = ROOT / "configs" / "circle.example.yaml"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", "0123456789abcdef-secret")
    monkeypatch.setenv("NTFY_TOKEN", "tk_test")


def test_the_example_is_valid() -> None:
    config = load_circle_config(EXAMPLE)
    assert [m.id for m in config.members] == ["ann", "bob", "carol"]
    assert config.homes[0].tiers == [["ann", "bob"], ["carol"]]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "topic: mary-ann-5v8q2n4k7w1z",
            "topic: mary-ann",
            "members[0].topic: is too short to be secret: anyone who guesses a topic can read it",
        ),
        (
            "      - [carol]",
            "      - [carl]",
            "homes[0].tiers[1][0]: 'carl' is not a member (members: ann, bob, carol)",
        ),
        ("    step: 5m", "    step: 5s", "homes[0].step: 5s is out of range (30s-1h)"),
        (
            '      end: "07:00"',
            '      end: "7am"',
            "members[0].quiet_hours.end: '7am' is not a time of day like '07:30'",
        ),
        ("  - id: carol", "  - id: ann", "members[2].id: 'ann' is already used by members[0]"),
    ],
)
def test_mistakes_are_named_with_their_line(old: str, new: str, expected: str) -> None:
    text = EXAMPLE.read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    line = next(i for i, (a, b) in enumerate(zip(text.splitlines(), changed.splitlines(), strict=False), 1) if a != b)
    with pytest.raises(ConfigError) as info:
        parse_circle_config(changed, "circle.yaml")
    assert f"circle.yaml:{line}: {expected}" in "\n".join(info.value.issues)


def test_a_missing_secret_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SENTINEL_ACK_SECRET")
    result = subprocess.run(sentinel_cmd("check-circle", str(EXAMPLE)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "secret_env: environment variable SENTINEL_ACK_SECRET is not set" in result.stderr
