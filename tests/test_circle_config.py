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
            "    step: 5m",
            "    step: 1:30",
            "homes[0].step: 1:30 is read as 90 (YAML counts 1:30 as 90, in base 60):"
            " write a duration like 1h30m or 90m",
        ),
        (
            "  token_env: NTFY_TOKEN",
            "  token_env: NTFY_TOKEN\n  username: sentinel\n  password_env: NTFY_TOKEN",
            "ntfy.username: give token_env, or username with password_env, not both: "
            "the password would replace the token",
        ),
        ("  token_env: NTFY_TOKEN", "  username: sentinel", "ntfy.username: a user name needs ntfy.password_env"),
        (
            '      end: "07:00"',
            '      end: "7am"',
            "members[0].quiet_hours.end: '7am' is not a time of day like '07:30'",
        ),
        ("  - id: carol", "  - id: ann", "members[2].id: 'ann' is already used by members[0]"),
        # Before: the whole mapping was shown, every member's secret ntfy topic in it (and so in the journal).
        ("    step: 5m", "    step: {topic: mary-ann-5v8q2n4k7w1z}", "homes[0].step: a mapping is not a duration"),
        (
            "# state_dir: /var/lib/sentinel",
            "state_dir: data",
            "state_dir: 'data' is not a full path from /, e.g. /var/lib/sentinel: '~' and relative paths change"
            " with who starts the program, and where",
        ),
        # A window holding no time: before, taken without a word, and the member was never on call, even for help.
        (
            '      end: "07:00"',
            '      end: "22:30"',
            "members[0].quiet_hours: runs from 22:30 to 22:30: no time at all (a whole day is 00:00 to 24:00)",
        ),
        (
            "  - id: carol",
            '  - id: carol\n    on_call: [{start: "09:00", end: "17:00", days: []}]',
            "members[2].on_call[0].days: is empty: name the days (mon ... sun), or leave days out for every day",
        ),
        ("  - id: carol", "  - id: carol\n    phone: call me", "members[2].phone: 'call me' is not a phone number"),
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


def test_token_and_username_together_are_refused_at_the_username(tmp_path: Path) -> None:
    circle = tmp_path / "circle.yaml"
    text = EXAMPLE.read_text().replace("  # username: sentinel", "  username: sentinel", 1)
    circle.write_text(text)
    line = text.splitlines().index("  username: sentinel") + 1
    result = subprocess.run(sentinel_cmd("check-circle", str(circle)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{circle}:{line}: ntfy.username: give token_env, or username with password_env, not both" in result.stderr


def without_secrets(monkeypatch: pytest.MonkeyPatch) -> str:
    """The example with a broker password too, and none of the secrets in the environment."""
    for name in ("SENTINEL_ACK_SECRET", "NTFY_TOKEN"):
        monkeypatch.delenv(name)
    return EXAMPLE.read_text().replace(
        "  # username: notifier\n  # password_env: SENTINEL_MQTT_PASSWORD",
        "  username: notifier\n  password_env: SENTINEL_MQTT_PASSWORD",
    )


def test_a_reader_loads_the_config_without_the_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = without_secrets(monkeypatch)
    assert "  password_env: SENTINEL_MQTT_PASSWORD" in text
    monkeypatch.delenv("SENTINEL_MQTT_PASSWORD", raising=False)
    circle = tmp_path / "circle.yaml"
    circle.write_text(text)
    config = load_circle_config(circle, check_secrets=False)
    assert config.secret_env == "SENTINEL_ACK_SECRET" and config.mqtt.password_env == "SENTINEL_MQTT_PASSWORD"
    with pytest.raises(ConfigError) as info:
        load_circle_config(circle)
    assert [issue.split(": ", 1)[1] for issue in info.value.issues] == [
        "ntfy.token_env: environment variable NTFY_TOKEN is not set",
        "mqtt.password_env: environment variable SENTINEL_MQTT_PASSWORD is not set",
        "secret_env: environment variable SENTINEL_ACK_SECRET is not set",
    ]


def test_a_short_secret_does_not_stop_a_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", "short")
    assert parse_circle_config(EXAMPLE.read_text(), check_secrets=False).homes
    with pytest.raises(ConfigError, match="SENTINEL_ACK_SECRET must hold at least 16 characters"):
        parse_circle_config(EXAMPLE.read_text())


def test_a_reader_still_gets_every_other_mistake(monkeypatch: pytest.MonkeyPatch) -> None:
    text = without_secrets(monkeypatch).replace("      - [carol]", "      - [carl]", 1)
    text = text.replace("  token_env: NTFY_TOKEN", "  token_env: NTFY_TOKEN\n  username: sentinel", 1)
    with pytest.raises(ConfigError) as info:
        parse_circle_config(text, "circle.yaml", check_secrets=False)
    assert [issue.split(": ", 1)[1] for issue in info.value.issues] == [
        "ntfy.username: give token_env, or username with password_env, not both: the password would replace the token",
        "homes[0].tiers[1][0]: 'carl' is not a member (members: ann, bob, carol)",
    ]


def test_a_circle_for_a_whole_town_is_not_mistaken_for_a_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_ACK_SECRET", "a-test-secret-of-enough-length")
    homes = "".join(f"  - {{id: home{i}, name: Home {i}, tiers: [[ann]], kit: [ann]}}\n" for i in range(2000))
    text = (
        "ntfy: {ack_topic: sentinel-acks-town-0001}\n"
        "members:\n  - {id: ann, name: Ann, topic: town-ann-topic-0001}\n"
        f"homes:\n{homes}"
    )
    assert len(parse_circle_config(text).homes) == 2000  # far more values than any agent config, no alias at all


def check_circle(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run `sentinel check-circle PATH` in this process: its exit code and its error lines."""
    from sentinel.cli import main

    code = main(["check-circle", str(path)])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'drill:\n  every: 30d\n  answer_within: 1d\n  at: "11:00"\n',
            "drill:\n",
            "drill: is empty: write `drill: {}` to turn it on with its defaults, or remove the line to leave it off",
        ),
        (
            'follow_up:\n  at: "09:00"',
            "follow_up:",
            "follow_up: is empty: write `follow_up: {}` to turn it on with its defaults, or remove the line to leave"
            " it off",
        ),
        (
            '    resident:\n      topic: mary-own-8w3e6r9t2y5u\n      check_in: true\n      daily: "10:30"\n',
            "    resident:\n",
            "homes[0].resident: is empty: give its keys (topic), or remove the line",
        ),
        (
            '    quiet_hours:\n      start: "22:30"\n      end: "07:00"\n',
            "    quiet_hours:\n",
            "members[0].quiet_hours: is empty: give its keys (start, end), or remove the line",
        ),
        (
            '    last_resort:\n      email: [tom@example.org]\n      call: "112"\n',
            "    last_resort: ~\n",
            "homes[0].last_resort: is empty: write `last_resort: {}` to turn it on with its defaults, or remove the"
            " line to leave it off",
        ),
    ],
)
def test_a_bare_section_is_refused_not_taken_for_none(old: str, new: str, expected: str) -> None:
    text = EXAMPLE.read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    line = changed.splitlines().index(new.splitlines()[0]) + 1
    with pytest.raises(ConfigError) as info:
        parse_circle_config(changed, "circle.yaml")
    assert info.value.issues == [f"circle.yaml:{line}: {expected}"]


def test_an_unquoted_date_or_number_where_text_is_wanted_is_kept_as_typed() -> None:
    text = EXAMPLE.read_text().replace("    # away_until: 2026-12-28", "    away_until: 2026-12-28", 1)
    text = text.replace("  - id: carol", "  - id: 007", 1).replace("[carol]", "['007']")
    config = parse_circle_config(text)
    assert config.members[1].away_until == "2026-12-28"
    assert config.members[2].id == "007" and config.homes[0].tiers[1] == ["007"]


def test_a_complex_key_is_refused_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    circle = tmp_path / "circle.yaml"
    text = EXAMPLE.read_text().replace("  - id: carol", "  - id: carol\n    ? [x]\n    : y", 1)
    circle.write_text(text)
    line = text.splitlines().index("    ? [x]") + 1
    assert check_circle(circle, capsys) == (
        2,
        [f"{circle}:{line}: a key must be a plain name, not a list or a mapping"],
    )


def test_a_circle_not_in_utf8_names_the_line_of_the_bad_byte(tmp_path: Path, capsys) -> None:
    circle = tmp_path / "circle.yaml"
    text = EXAMPLE.read_text().replace("name: Bob (son)", "name: Andr\xe9 (son)", 1)
    circle.write_bytes(text.encode("latin-1"))
    line = text.splitlines().index("    name: Andr\xe9 (son)") + 1
    assert check_circle(circle, capsys) == (
        2,
        [
            f"{circle}:{line}: the byte 0xe9 at column 15 is not UTF-8: save the file as UTF-8 (in your editor's"
            " 'Save as')"
        ],
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "email: [tom@example.org]",
            'email: ["tom@example.org\\n"]',
            "circle.yaml:100: homes[0].last_resort.email: 'tom@example.org\\n': not an e-mail address like",
        ),
        (
            "    # away_until: 2026-12-28",
            '    away_until: "2026-12-28\\n"',
            "circle.yaml:63: members[1].away_until: '2026-12-28\\n' is not a date like '2026-12-24'",
        ),
    ],
)
def test_a_value_with_a_final_line_break_is_refused(old: str, new: str, expected: str) -> None:
    # "$" also matches before a final line break, so these passed the check.
    text = EXAMPLE.read_text()
    assert old in text
    with pytest.raises(ConfigError) as info:
        parse_circle_config(text.replace(old, new, 1), "circle.yaml")
    assert expected in "\n".join(info.value.issues)


def test_check_circle_counts_in_words(capsys) -> None:
    from sentinel.cli import main

    assert main(["check-circle", str(EXAMPLE)]) == 0
    assert f"{EXAMPLE}: OK: 1 home, 3 members, ntfy " in capsys.readouterr().out  # not "1 homes"
