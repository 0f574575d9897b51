"""Config validation: every error at once, each with file, line and key path."""

from __future__ import annotations

import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest

from conftest import ROOT, agent_yaml, sentinel_cmd
from sentinel.cli import main
from sentinel.config import load_config, parse_config
from sentinel.config.schema import parse_duration
from sentinel.errors import ConfigError
from sentinel.statedir import AGENT_DB

KINDS_LISTED = "'motion', 'door', 'contact', 'pressure', 'power', 'flush', 'button'"

GOOD = """\
home:
  id: mary
  name: Mary
sensors:
  - name: hall_pir
    kind: motion
    pin: 17
  - name: front_door
    kind: door
    pin: 27
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "home.yaml")
    return info.value.issues


def test_a_good_config_loads_with_defaults() -> None:
    config = parse_config(GOOD, "home.yaml")
    assert config.home.id == "mary"
    assert config.mqtt.port == 1883 and config.mqtt.protocol == "5"
    assert config.sensors[0].hold_time == 30 and config.sensors[1].bounce == 0.05
    assert config.mqtt.publish_sensors is False  # privacy by default


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("pin: 17", "pin: 41"), ["home.yaml:7: sensors[0].pin: 41 is not a GPIO pin (0-27)"]),
        (("kind: door", "kind: dor"), [f"home.yaml:9: sensors[1].kind: 'dor' is not one of {KINDS_LISTED}"]),
        (
            ("    pin: 27", "    pin: 27\n    hold_tme: 5"),
            ["home.yaml:11: sensors[1].hold_tme: unknown key (did you mean 'hold_time'?)"],
        ),
        (
            ("    pin: 27", "    pin: 27\n    hold_time: 5"),
            ["home.yaml:11: sensors[1].hold_time: only applies to kind motion"],
        ),
        (
            ("  id: mary", "  id: Mary Smith"),
            ["home.yaml:2: home.id: 'Mary Smith' must be 1-40 lower-case letters, digits, '-' or '_'"],
        ),
        (("  name: Mary\n", ""), ["home.yaml:1: home.name: is required"]),
        (("pin: 27", "pin: 17"), ["home.yaml:10: sensors[1].pin: GPIO17 is already used by sensors[0]"]),
        (
            ("name: front_door", "name: hall_pir"),
            ["home.yaml:8: sensors[1].name: 'hall_pir' is already used by sensors[0]"],
        ),
        (("pin: 17", "pin: seventeen"), ["home.yaml:7: sensors[0].pin: 'seventeen' is not a whole number"]),
        (
            ("    pin: 17", "    pin: 17\n    hold_time: soon"),
            ["home.yaml:8: sensors[0].hold_time: 'soon' is not a duration (e.g. 90, '90s', '15m', '2h', '50ms')"],
        ),
        (
            # Unquoted, YAML 1.1 counts it in base 60: before, a room's ceiling of 1:30 was taken as 90 seconds.
            ("sensors:", "detection:\n  rooms:\n    - room: hall\n      ceiling: 1:30\nsensors:"),
            [
                "home.yaml:7: detection.rooms[0].ceiling: 1:30 is read as 90 (YAML counts 1:30 as 90, in base 60):"
                " write a duration like 1h30m or 90m"
            ],
        ),
        (
            ("sensors:", "detection:\n  false_alerts_per_month: 1:30\nsensors:"),
            [
                "home.yaml:5: detection.false_alerts_per_month: 1:30 is read as 90 (YAML counts 1:30 as 90, in base"
                " 60): write the number itself"
            ],
        ),
        (
            # Before: PyYAML's own error, a traceback without a line, and exit 1 (systemd restarted it again and again).
            ("    pin: 17", "    pin: 17\n    room: 2026-02-30"),
            ["home.yaml:8: 2026-02-30 is not a date on the calendar (day is out of range for month)"],
        ),
        (("sensors:", "mqtt:\n  port: 70000\nsensors:"), ["home.yaml:5: mqtt.port: 70000 is out of range (1-65535)"]),
        (("sensors:", "mqtt:\n  protocol: 4\nsensors:"), ["home.yaml:5: mqtt.protocol: 4 is not one of '5', '3.1.1'"]),
        (
            ("sensors:", "mqtt:\n  password_env: X\nsensors:"),
            [
                "home.yaml:5: mqtt.password_env: a password needs mqtt.username",
                "home.yaml:5: mqtt.password_env: environment variable X is not set",
            ],
        ),
        (("sensors:", "colour: blue\nsensors:"), ["home.yaml:4: colour: unknown key"]),
        (
            # Before: check-config took '~' for the home directory, the agent wrote ./~/...; a relative path
            # lands in the service's working directory, which systemd removes when it stops.
            ("sensors:", "state_dir: ~/sentinel\nsensors:"),
            [
                "home.yaml:4: state_dir: '~/sentinel' is not a full path from /, e.g. /var/lib/sentinel: '~' and"
                " relative paths change with who starts the program, and where"
            ],
        ),
        (
            # Before: both taken, and only the last read: the stricter 40 minutes silently dropped.
            (
                "    pin: 27",
                "    pin: 27\n    room: hall\ndetection:\n  rooms:\n    - {room: hall, ceiling: 40m}\n"
                "    - {room: hall, ceiling: 2h}",
            ),
            ["home.yaml:15: detection.rooms[1].room: 'hall' has its limits in rooms[0]"],
        ),
        (
            ("sensors:", "detection:\n  rooms:\n    - room: attic\n      ceiling: 1h\nsensors:"),
            ["home.yaml:6: detection.rooms[0].room: no sensor is in room 'attic' (rooms: none)"],
        ),
        (
            ("sensors:", 'detection:\n  quiet_windows:\n    - {start: "09:00", end: "09:00"}\nsensors:'),
            [
                "home.yaml:6: detection.quiet_windows[0]: runs from 09:00 to 09:00: no time at all (a whole day is"
                " 00:00 to 24:00)"
            ],
        ),
        (
            ("sensors:", 'detection:\n  quiet_windows:\n    - {start: "7:00", end: "09:00"}\nsensors:'),
            ["home.yaml:6: detection.quiet_windows[0].start: '7:00' is not a time of day like '07:30'"],
        ),
        (
            ("sensors:", "detection:\n  floor: 65m\n  ceiling: 1h\nsensors:"),
            [
                "home.yaml:6: detection.ceiling: 1h is shorter than detection.floor, 65m: the longest wait before an"
                " alert cannot be shorter than the shortest"
            ],
        ),
        (("    pin: 27", "    pin: 27\n    pin: 5"), ["home.yaml:11: YAML syntax error: duplicate key 'pin'"]),
        (("  name: Mary", "  name: [Mary"), ["home.yaml:4: YAML syntax error: expected ',' or ']', but got ':'"]),
        (
            ("    pin: 27", "    pin: 27\0"),
            ["home.yaml:10: YAML syntax error: character #x0000 is not allowed (a control character): delete it"],
        ),
    ],
)
def test_broken_configs_name_file_line_and_key(change: tuple[str, str], expected: list[str]) -> None:
    old, new = change
    assert old in GOOD
    assert errors_of(GOOD.replace(old, new, 1)) == expected


def test_a_rooms_ceiling_below_its_floor_is_refused_and_below_the_homes_floor_is_not() -> None:
    text = GOOD.replace("    pin: 17", "    pin: 17\n    room: hall", 1)
    rooms = "detection:\n  floor: 2h\n  rooms:\n    - room: hall\n      floor: 20m\n      ceiling: {}\n"
    assert errors_of(text + rooms.format("10m")) == [
        "home.yaml:17: detection.rooms[0].ceiling: 10m is shorter than detection.rooms[0].floor, 20m: the longest"
        " wait before an alert cannot be shorter than the shortest"
    ]
    assert parse_config(text + rooms.format("1h")).detection.rooms[0].ceiling == 3600  # a room may cut it short


def test_every_error_is_reported_at_once_in_line_order() -> None:
    text = GOOD.replace("pin: 17", "pin: 99").replace("kind: door", "kind: window").replace("id: mary", "id: M")
    assert errors_of(text) == [
        "home.yaml:2: home.id: 'M' must be 1-40 lower-case letters, digits, '-' or '_'",
        "home.yaml:7: sensors[0].pin: 99 is not a GPIO pin (0-27)",
        f"home.yaml:9: sensors[1].kind: 'window' is not one of {KINDS_LISTED}",
    ]


def test_an_empty_file_is_an_error() -> None:
    assert errors_of("") == ["home.yaml:1: the file must be a mapping of sections (home:, sensors:, ...)"]


def test_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINEL_MQTT_PASSWORD", "s3cret")
    text = GOOD.replace("sensors:", "mqtt:\n  username: agent\n  password_env: SENTINEL_MQTT_PASSWORD\nsensors:")
    config = parse_config(text)
    assert "s3cret" not in repr(config)  # only the variable's name is kept


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("0.5s", 0.5),
        (1.5, 1.5),
        ("50ms", 0.05),
        ("1m 30s", 90),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", True, "m", "5x", "10s later"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("name", ["example.yaml", "demo.yaml"])
def test_shipped_configs_are_valid(name: str) -> None:
    load_config(ROOT / "configs" / name)


def test_check_config_exits_0_on_the_example() -> None:
    result = subprocess.run(
        sentinel_cmd("check-config", str(ROOT / "configs" / "example.yaml")), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_config_exits_2_with_file_line_messages(tmp_path: Path) -> None:
    bad = tmp_path / "home.yaml"
    text = agent_yaml(1883).replace("pin: 22", "pin: 41")
    bad.write_text(text)
    line = text.splitlines().index("    pin: 41") + 1
    result = subprocess.run(sentinel_cmd("check-config", str(bad)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"{bad}:{line}: sensors[2].pin: 41 is not a GPIO pin (0-27)"


def test_run_with_a_broken_config_exits_2_before_starting(tmp_path: Path) -> None:
    bad = tmp_path / "home.yaml"
    bad.write_text(agent_yaml(1883, state_dir=tmp_path / "state").replace("kind: door", "kind: doorbell"))
    result = subprocess.run(sentinel_cmd("run", "-c", str(bad)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "sensors[1].kind: 'doorbell' is not one of" in result.stderr
    assert not (tmp_path / "state").exists()  # nothing started, nothing written


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        sentinel_cmd("check-config", str(tmp_path / "nope.yaml")), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{tmp_path / 'nope.yaml'}: cannot read:")


def check_config(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run `sentinel check-config PATH` in this process: its exit code and its error lines."""
    code = main(["check-config", str(path)])
    return code, capsys.readouterr().err.splitlines()


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: 500 bytes that stand for 9**9 strings, put where a name should be."""
    lines = ["lols:", '  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"  l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\n{GOOD.replace('name: Mary', f'name: *l{levels - 1}')}"


def test_an_alias_bomb_is_refused_at_once_without_eating_memory(tmp_path: Path, capsys) -> None:
    bomb = tmp_path / "home.yaml"
    bomb.write_text(billion_laughs())
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code, errors = check_config(bomb, capsys)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    # Refused at the alias that takes the expansion past the limit: the first *l3 (7,381 values), on line 6.
    assert errors == [
        f"{bomb}:6: the alias *l3 would make the file expand by more than 10,000 values "
        "(a config needs a few): write the values out instead of nesting aliases"
    ]
    assert elapsed < 0.5, f"took {elapsed:.2f} s"
    assert peak < 5_000_000, f"peak {peak / 1e6:.1f} MB"


def test_a_few_aliases_are_still_fine() -> None:
    text = GOOD.replace(
        "sensors:", 'detection:\n  quiet_windows:\n    - &nap {start: "13:00", end: "14:00"}\n    - *nap\nsensors:'
    )
    config = parse_config(text)
    assert len(config.detection.quiet_windows) == 2


def test_a_file_over_1_mib_is_refused_unread(tmp_path: Path, capsys) -> None:
    big = tmp_path / "home.yaml"
    big.write_text(GOOD + "# padding\n" * 110_000)
    code, errors = check_config(big, capsys)
    assert code == 2
    assert errors == [f"{big}:1: the file is over 1 MiB; a config file is a few kB"]
    with pytest.raises(ConfigError, match=r"home.yaml:1: the file is 1,0\d\d kB; this kind of config is at most 1 MiB"):
        parse_config(big.read_text(), "home.yaml")


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path, capsys) -> None:
    deep = tmp_path / "home.yaml"
    deep.write_text(GOOD + "colour: " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, errors = check_config(deep, capsys)
    assert code == 2
    assert errors == [f"{deep}:11: nested more than 32 levels deep: this is not a sentinel config"]


NO_TABS = "(YAML does not allow tabs for indentation)"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  name: Mary",
            "\tname: Mary",
            "home.yaml:3: YAML syntax error: a tab indents this line: use spaces " + NO_TABS,
        ),
        (
            "    kind: motion",
            "  \tkind: motion",
            "home.yaml:6: YAML syntax error: a tab indents this line: use spaces " + NO_TABS,
        ),
        (
            "  name: Mary",
            "  name:\tMary",
            "home.yaml:3: YAML syntax error: a tab at column 8: use spaces (YAML does not allow tabs there)",
        ),
    ],
)
def test_a_tab_says_use_spaces(tmp_path: Path, capsys, old: str, new: str, expected: str) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [expected.replace("home.yaml", str(path), 1)]


INDENTATION = (
    "YAML syntax error: check the indentation of this line and the one before: the keys of one section start in one"
    " column"
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  name: Mary", "   name: Mary", f"home.yaml:3: {INDENTATION}"),  # PyYAML: mapping values are not allowed
        ("  name: Mary", " name: Mary", f"home.yaml:3: {INDENTATION}"),  # PyYAML: expected <block end>, but found ...
        ("    kind: door", "   kind: door", f"home.yaml:9: {INDENTATION}"),
        ("    pin: 27", "      pin: 27", f"home.yaml:10: {INDENTATION}"),
        ("  - name: front_door", " - name: front_door", f"home.yaml:8: {INDENTATION}"),
        (
            "  name: Mary",
            "  name: Mary: Smith",
            "home.yaml:3: YAML syntax error: a value containing ': ' must be put in quotes (name: \"Mary: Smith\")",
        ),
        (
            "    pin: 17",
            "    pin: 17\n    room: Hall: upstairs",
            "home.yaml:8: YAML syntax error: a value containing ': ' must be put in quotes (room: \"Hall: upstairs\")",
        ),
        (
            "  name: Mary",
            "  name: Mary: Smith  # her full name",
            "home.yaml:3: YAML syntax error: a value containing ': ' must be put in quotes",
        ),
    ],
)
def test_a_mis_indented_key_or_a_colon_in_a_value_says_what_to_do(
    tmp_path: Path, capsys, old: str, new: str, expected: str
) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [expected.replace("home.yaml", str(path), 1)]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("    hold_time: 2h", "sensors[0].hold_time: 2h is out of range (1s-1h)"),
        ("    hold_time: 7200", "sensors[0].hold_time: 7200 is out of range (1s-1h)"),  # as typed: seconds
        ("    hold_time: 90m", "sensors[0].hold_time: 90m is out of range (1s-1h)"),
        ("    hold_time: 0.5s", "sensors[0].hold_time: 0.5s is out of range (1s-1h)"),
    ],
)
def test_ranges_of_durations_are_given_as_durations(tmp_path: Path, capsys, setting: str, expected: str) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(GOOD.replace("    pin: 17", f"    pin: 17\n{setting}", 1))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [f"{path}:8: {expected}"]


def test_a_checkin_wait_out_of_range_is_in_minutes(tmp_path: Path, capsys) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(GOOD + "detection:\n  checkin:\n    enabled: true\n    wait: 2h\n    led_pin: 25\n")
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [f"{path}:14: detection.checkin.wait: 2h is out of range (30s-1h)"]


def test_one_bad_sensor_does_not_also_say_there_are_none() -> None:
    assert errors_of(GOOD.replace("pin: 27", "pin: 28").replace("pin: 17", "pin: 99")) == [
        "home.yaml:7: sensors[0].pin: 99 is not a GPIO pin (0-27)",
        "home.yaml:10: sensors[1].pin: 28 is not a GPIO pin (0-27)",
    ]


def test_checkin_without_a_buzzer_or_led_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(GOOD + "detection:\n  checkin:\n    wait: 5m\n    enabled: true\n")
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [
        f"{path}:14: detection.checkin.enabled: the resident can only be asked with a buzzer or an LED: "
        "add buzzer_pin and/or led_pin (the GPIO it is wired to), phone: true if the circle's notifier asks on "
        "their phone, or set enabled: false"
    ]


@pytest.mark.parametrize(
    "pins", ["    buzzer_pin: 24\n", "    led_pin: 25\n", "    buzzer_pin: 24\n    led_pin: 25\n", "    phone: true\n"]
)
def test_checkin_with_a_buzzer_or_led_is_fine(pins: str) -> None:
    config = parse_config(GOOD + "detection:\n  checkin:\n    enabled: true\n" + pins)
    assert config.detection.checkin.enabled


def test_checkin_switched_off_needs_no_pins() -> None:
    assert not parse_config(GOOD + "detection:\n  checkin:\n    enabled: false\n").detection.checkin.enabled


def test_libyaml_and_the_careful_loader_read_every_shipped_config_alike() -> None:
    import yaml

    from sentinel.config import yamllines

    assert yamllines.CParser is not None or not yaml.__with_libyaml__  # where libyaml is installed, it is used
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        text = path.read_text()
        fast = yamllines.load(text)  # no alias, no tab: libyaml reads it
        careful = yaml.load(text, Loader=yamllines._Loader)
        assert fast == careful, path

        def lines(value):
            if isinstance(value, dict):
                return [value.lines, value.texts, *[lines(v) for v in value.values()]]
            if isinstance(value, list):
                return [value.lines, value.texts, *[lines(v) for v in value]]
            return None

        assert lines(fast) == lines(careful), path  # every error still names the right line


def test_libyaml_and_the_careful_loader_read_a_town_and_every_kind_of_value_alike() -> None:
    import yaml

    from sentinel.config import yamllines

    home = "  - {{id: h{0}, name: 'Home {0}', tiers: [[ann, bob]], grace: 1h}}\n"
    town = "homes:\n" + "".join(home.format(i) for i in range(300))
    values = "x: [1, 2.5, true, null, 2026-01-02, 0x1f, '007', !!str 12, {a: ~}, yes, 1_000, .inf, \"q\"]\n"
    for text in (town, values, town + values):
        fast = yamllines.load(text)
        careful = yaml.load(text, Loader=yamllines._Loader)
        assert fast == careful

        def shape(value):  # types and lines as well as values: 1 == True in Python
            if isinstance(value, dict):
                return [type(value), value.lines, value.line, value.texts, *[shape(v) for v in value.values()]]
            if isinstance(value, list):
                return [type(value), value.lines, value.line, value.texts, *[shape(v) for v in value]]
            return type(value), value

        assert shape(fast) == shape(careful)


def test_two_sensors_on_one_zigbee_device_are_refused(tmp_path: Path, capsys) -> None:
    # The device's messages would feed one of them only: the other, perhaps the help button, would be dead.
    path = tmp_path / "home.yaml"
    path.write_text(
        GOOD.replace("    pin: 17", "    zigbee: lounge button")
        + "  - name: help_button\n    kind: button\n    zigbee: lounge button\n"
    )
    expected = f"{path}:13: sensors[2].zigbee: 'lounge button' is already used by sensors[0]"
    assert check_config(path, capsys) == (2, [expected])


def test_a_state_dir_the_agent_cannot_make_stops_run_with_its_line_and_only_warns_check_config(
    tmp_path: Path, capsys
) -> None:
    # /proc takes no new directory, whoever asks (root too): as a read-only card or a sandbox would refuse it.
    path = tmp_path / "home.yaml"
    text = agent_yaml(1, state_dir=Path("/proc/sentinel-nowhere"))
    path.write_text(text)
    line = text.splitlines().index("state_dir: /proc/sentinel-nowhere") + 1
    result = subprocess.run(sentinel_cmd("run", "-c", str(path)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}:{line}: state_dir: user ")
    assert "cannot keep the database in /proc/sentinel-nowhere" in result.stderr
    # check-config may be run by another user than the service's, or on another machine: a warning, no failure.
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    assert code == 0 and "OK" in out
    assert err.startswith(f"{path}:{line}: state_dir: warning: /proc/sentinel-nowhere does not exist, and user ")


@pytest.mark.parametrize("below", ["", "/sub"])
def test_a_file_where_the_state_dir_should_be_is_an_error_for_check_config_too(
    tmp_path: Path, capsys, below: str
) -> None:
    (tmp_path / "taken").write_text("")
    path = tmp_path / "home.yaml"
    text = agent_yaml(1, state_dir=Path(f"{tmp_path / 'taken'}{below}"))
    path.write_text(text)
    line = text.splitlines().index(f"state_dir: {tmp_path / 'taken'}{below}") + 1
    code, err = check_config(path, capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith(f"{path}:{line}: state_dir: {tmp_path / 'taken'}")
    assert err[0].endswith("a file, not a directory; give the directory to keep the database in")


def test_a_state_dir_not_there_yet_is_made_for_run_only(tmp_path: Path, capsys) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(agent_yaml(1, state_dir=tmp_path / "new" / "state"))
    assert check_config(path, capsys) == (0, [])
    assert not (tmp_path / "new").exists()  # checking writes nothing
    load_config(path, run=True)
    assert (tmp_path / "new" / "state").is_dir()


def test_a_state_dir_holding_the_agents_database_on_a_card_turned_read_only_does_not_stop_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A card Linux has remounted read-only refuses the probe, as a wrong path does; but a database already there
    # was written by this agent, so the card is failing, and the agent must start (from memory) for the help button.
    from sentinel.config import statecheck

    monkeypatch.setattr(statecheck, "_probe", lambda path: "Read-only file system")
    state = tmp_path / "state"
    state.mkdir()
    path = tmp_path / "home.yaml"
    path.write_text(agent_yaml(1, state_dir=state))
    with pytest.raises(ConfigError, match=r"state_dir: user .* cannot keep the database in .*Read-only file system"):
        load_config(path, run=True)  # nothing there yet: a path this user cannot write is a mistake
    (state / AGENT_DB).write_bytes(b"")
    assert load_config(path, run=True).state_dir == str(state)


def test_a_state_dir_below_a_directory_this_user_cannot_look_into_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # As root nothing is out of sight: the one directory is made to refuse as a 0700 one refuses another user.
    locked = tmp_path / "locked"
    locked.mkdir()
    real_is_dir = Path.is_dir

    def is_dir(self: Path) -> bool:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    path = tmp_path / "home.yaml"
    text = agent_yaml(1, state_dir=locked / "sub")
    path.write_text(text)
    line = text.splitlines().index(f"state_dir: {locked / 'sub'}") + 1
    with pytest.raises(ConfigError, match=f"state_dir: user .* cannot look into {locked}: Permission denied"):
        load_config(path, run=True)
    code, err = check_config(path, capsys)
    assert code == 0 and len(err) == 1 and err[0].startswith(f"{path}:{line}: state_dir: warning: user ")


# What a carer typed is what the check reads, or the check says why not: the review of the config checks.


def with_mqtt(lines: str) -> str:
    """GOOD with an mqtt: section holding ``lines`` (indented by two), starting on line 4."""
    return GOOD.replace("sensors:", f"mqtt:\n{lines}sensors:", 1)


@pytest.mark.parametrize("bare", ["  tls:\n", "  tls: ~\n", "  tls: null\n"])
def test_a_bare_tls_is_refused_not_taken_for_no_tls(tmp_path: Path, capsys, bare: str) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(with_mqtt("  host: broker.lan\n" + bare))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [
        f"{path}:6: mqtt.tls: is empty: write `tls: {{}}` to use TLS with the system's CAs, or remove the line for"
        " no TLS"
    ]
    assert parse_config(with_mqtt("  tls: {}\n")).mqtt.tls is not None  # {} is TLS with the system's CAs


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("mqtt:\n", "mqtt: is empty: give its keys, or remove the line for the defaults"),
        ("detection:\n  checkin:\n", "detection.checkin: is empty: give its keys, or remove the line for the defaults"),
        ("home:\n", "home: is empty: give its keys (id, name)"),
    ],
)
def test_a_bare_section_says_it_is_empty(section: str, expected: str) -> None:
    text = GOOD.replace("home:\n  id: mary\n  name: Mary\n", "") if section == "home:\n" else GOOD
    errors = errors_of(text + section)
    assert [e.split(": ", 1)[1] for e in errors] == [expected]


@pytest.mark.parametrize(
    ("key", "line"),
    [("? [a, b]\n: x\n", 11), ("? {a: 1}\n: x\n", 11), ("home2:\n  ? [a]\n  : x\n", 12)],
)
def test_a_list_or_mapping_as_a_key_is_refused_not_a_traceback(tmp_path: Path, capsys, key: str, line: int) -> None:
    for text in (GOOD + key, GOOD + "anchor: &a 1\nalias: *a\n" + key):
        path = tmp_path / "home.yaml"
        path.write_text(text)  # the second has an alias: the careful loader reads it, not libyaml
        code, errors = check_config(path, capsys)
        shift = 2 if "anchor" in text else 0
        assert code == 2
        assert errors == [f"{path}:{line + shift}: a key must be a plain name, not a list or a mapping"]


def test_a_complex_key_does_not_start_run_either(tmp_path: Path) -> None:
    bad = tmp_path / "home.yaml"
    bad.write_text(agent_yaml(1883, state_dir=tmp_path / "state") + "? [a, b]\n: x\n")
    result = subprocess.run(sentinel_cmd("run", "-c", str(bad)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(": a key must be a plain name, not a list or a mapping")
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("alias", [False, True])
def test_numbers_where_text_is_wanted_keep_what_was_typed(alias: bool) -> None:
    text = GOOD.replace("id: mary", "id: 0042").replace("name: Mary", "name: 1.10")
    text += "mqtt:\n  host: 10.0\n  client_id: 1_000\n"
    if alias:  # the careful loader (an alias in the file) keeps the typed text too
        text += "zigbee: {base_topic: &z 0x1f}\nhomeassistant: {discovery_prefix: *z}\n"
    config = parse_config(text)
    assert (config.home.id, config.home.name) == ("0042", "1.10")
    assert (config.mqtt.host, config.mqtt.client_id) == ("10.0", "1_000")
    if alias:
        assert config.zigbee.base_topic == config.homeassistant.discovery_prefix == "0x1f"


def test_a_typed_number_kept_as_text_still_meets_its_pattern() -> None:
    assert errors_of(GOOD.replace("id: mary", "id: 1.5e3")) == [
        "home.yaml:2: home.id: '1.5e3' must be 1-40 lower-case letters, digits, '-' or '_'"
    ]


@pytest.mark.parametrize(("typed", "shown"), [("yes", "yes"), ("off", "off"), ("True", "True")])
def test_true_or_false_where_text_is_wanted_is_refused(typed: str, shown: str) -> None:
    assert errors_of(GOOD.replace("name: Mary", f"name: {typed}")) == [
        f"home.yaml:3: home.name: {shown} is read as true or false, not text: put it in quotes ('{typed}')"
    ]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("  false_alerts_per_month: 1e-1\n", ("false_alerts_per_month", 0.1)),
        ("  learn_days: 1e1\n", ("learn_days", 10.0)),
        ("  floor: 1e4\n", ("floor", 10000.0)),
    ],
)
def test_a_number_yaml_reads_as_text_is_a_number(setting: str, value: tuple[str, float]) -> None:
    config = parse_config(GOOD + "detection:\n" + setting)
    assert getattr(config.detection, value[0]) == value[1]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("  false_alerts_per_month: 1e9\n", "detection.false_alerts_per_month: 1e9 is out of range (0.1-30)"),
        ("  learn_days: 1e9\n", "detection.learn_days: 1e9 is out of range (1-60)"),
        ("  learn_days: nan\n", "detection.learn_days: 'nan' is not a number"),
        ("  learn_days: inf\n", "detection.learn_days: 'inf' is not a number"),
        ("  false_alerts_per_month: .inf\n", "detection.false_alerts_per_month: .inf is out of range (0.1-30)"),
        ("  false_alerts_per_month: .NaN\n", "detection.false_alerts_per_month: .NaN is not a number"),
        ("  ceiling: .inf\n", "detection.ceiling: .inf is out of range (1h-2d)"),
        ("  floor: 0\n", "detection.floor: 0 is out of range (5m-6h)"),
        ("  floor: 1e9\n", "detection.floor: 1e9 is out of range (5m-6h)"),
        ("  floor: .nan\n", "detection.floor: .nan is not a number"),
        ("  learn_days: yes\n", "detection.learn_days: yes is not a number"),
    ],
)
def test_values_are_echoed_as_typed_and_ranges_in_the_docs_units(setting: str, expected: str) -> None:
    assert errors_of(GOOD + "detection:\n" + setting) == [f"home.yaml:12: {expected}"]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("  keepalive: -30\n", "mqtt.keepalive: -30 is out of range (5s-1h)"),
        ("  heartbeat: .nan\n", "mqtt.heartbeat: .nan is not a number"),
        ("  heartbeat: 0.5s\n", "mqtt.heartbeat: 0.5s is out of range (5s-1h)"),
        ("  port: 0x1bbbb\n", "mqtt.port: 0x1bbbb is out of range (1-65535)"),
    ],
)
def test_mqtt_values_are_echoed_as_typed(setting: str, expected: str) -> None:
    assert parse_config(with_mqtt("  port: 0x1bb\n")).mqtt.port == 443  # a number where a number is wanted
    assert errors_of(with_mqtt(setting)) == [f"home.yaml:5: {expected}"]


EMPTY_HOST = (
    "mqtt.host: is empty: give the broker's host name or address (e.g. localhost), or remove the line for localhost"
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ('""', EMPTY_HOST),  # paho's "Invalid host." at start, and under systemd a restart loop
        ('"   "', EMPTY_HOST),
        ("", EMPTY_HOST),  # nothing after it says the same
        ("broker lan", "mqtt.host: 'broker lan' has a space: a host name or address has none"),
        (
            "mqtts://broker.lan:8883",
            "mqtt.host: 'mqtts://broker.lan:8883': give the host alone ('broker.lan'), without mqtts://, and 8883"
            " as port",
        ),
        ("broker.lan:1883", "mqtt.host: 'broker.lan:1883': give the host alone ('broker.lan'), and 1883 as port"),
        # paho looked '[::1]' up as a name and never connected; check-config had passed it
        ('"[::1]"', "mqtt.host: '[::1]': give the address without [ ] ('::1')"),
        ('"[fd00::2]:1883"', "mqtt.host: '[fd00::2]:1883': give the address without [ ] ('fd00::2'), and 1883 as port"),
    ],
)
def test_a_broker_host_the_client_cannot_connect_to_is_refused(host: str, expected: str) -> None:
    assert errors_of(with_mqtt(f"  host: {host}\n")) == [f"home.yaml:5: {expected}"]


@pytest.mark.parametrize("host", ["broker.lan", "10.0.0.2", '"::1"', "fd00::2", "broker"])
def test_host_names_and_addresses_are_fine(host: str) -> None:
    assert parse_config(with_mqtt(f"  host: {host}\n")).mqtt.host == host.strip('"')


def test_an_empty_broker_host_stops_check_config_and_run_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "home.yaml"
    text = agent_yaml(1883, state_dir=tmp_path / "state").replace("host: 127.0.0.1", 'host: ""')
    bad.write_text(text)
    line = text.splitlines().index('  host: ""') + 1
    for command in (("check-config", str(bad)), ("run", "-c", str(bad))):
        result = subprocess.run(sentinel_cmd(*command), capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stderr.strip()) == (2, f"{bad}:{line}: {EMPTY_HOST}"), command
    assert not (tmp_path / "state").exists()  # nothing started, nothing written


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("ca_file", "give the CA certificate's file, or remove the line for the system's CAs"),
        ("cert_file", "give the client certificate's file, or remove the line"),
        ("key_file", "give the file of the certificate's key, or remove the line"),
    ],
)
def test_an_empty_tls_file_is_refused_not_opened_at_start(key: str, expected: str) -> None:
    # The TLS library took '' for a path: FileNotFoundError when the agent started, not a line in check-config.
    assert errors_of(with_mqtt(f'  tls:\n    {key}: ""\n')) == [f"home.yaml:6: mqtt.tls.{key}: is empty: {expected}"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ('""', "history.url: is empty: give the database's address, e.g. http://nas.local:8086"),
        ('" "', "history.url: is empty: give the database's address, e.g. http://nas.local:8086"),
        ("http://:8086", "history.url: 'http://:8086' names no server: the server's name or address goes after //"),
        (
            "http://nas.local:80860",
            "history.url: 'http://nas.local:80860': the port after the server's name must be a number from 1 to 65535",
        ),
        (
            "http://nas local:8086",
            "history.url: 'http://nas local:8086' has a space: an address has none (write %20 for one in a path)",
        ),
        (  # a '[' without its ']': urlsplit raised, and the check ended in a traceback
            '"http://[fd00::5:8086"',
            "history.url: 'http://[fd00::5:8086' is no address that can be connected to (Invalid IPv6 URL): an IPv6"
            " address goes in [ ], as [fd00::5]",
        ),
        (  # urlsplit read the server as fd00::5 and dropped the 'x': the check passed a mistyped address
            "https://[fd00::5]x/",
            "history.url: 'https://[fd00::5]x/' is no address that can be connected to: after an IPv6 address's ']'"
            " comes ':' and the port",
        ),
    ],
)
def test_a_history_address_that_names_no_server_is_refused(url: str, expected: str) -> None:
    assert errors_of(GOOD + f"history:\n  url: {url}\n") == [f"home.yaml:12: {expected}"]


EMPTY_NAME = "home.name: is empty: give the resident's name, as the circle says it (e.g. 'Mary')"


@pytest.mark.parametrize("name", ['""', '"   "', "''", ""])
def test_an_empty_or_blank_name_is_refused(name: str) -> None:
    # Every alert and note starts with it: " pressed the help button" names nobody.
    assert errors_of(GOOD.replace("name: Mary", f"name: {name}")) == [f"home.yaml:3: {EMPTY_NAME}"]


@pytest.mark.parametrize("room", ['"  "', '"\\t"'])
def test_a_blank_room_is_refused_and_none_or_empty_is_no_room(room: str) -> None:
    text = GOOD.replace("    pin: 17", "    pin: 17\n    room: {}", 1)
    assert errors_of(text.format(room)) == [
        "home.yaml:8: sensors[0].room: is blank: say where it is (e.g. 'kitchen'), or remove the line for none"
    ]
    assert parse_config(text.format("")).sensors[0].room is None  # `room:` alone: no room, as if left out
    assert parse_config(text.format('""')).sensors[0].room == ""  # no room either (tests/test_history_labels.py)
    rule = text.format("hall") + "detection:\n  rooms:\n    - room: {}\n      ceiling: 2h\n"
    for empty in (room, '""'):
        assert errors_of(rule.format(empty)) == [
            "home.yaml:14: detection.rooms[0].room: is empty: give the room, as a sensor's room: says it"
        ]


def test_a_file_not_in_utf8_names_the_line_and_column_of_the_first_bad_byte(tmp_path: Path, capsys) -> None:
    path = tmp_path / "home.yaml"
    path.write_bytes(GOOD.replace("name: Mary", "name: Ren\xe9e").encode("latin-1"))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert errors == [
        f"{path}:3: the byte 0xe9 at column 12 is not UTF-8: save the file as UTF-8 (in your editor's 'Save as')"
    ]


@pytest.mark.parametrize("alias", ["*base", "{host: h}"])
def test_a_merge_key_is_refused_with_its_line(tmp_path: Path, capsys, alias: str) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("base: &base {host: h}\n" + GOOD.replace("sensors:", f"mqtt:\n  <<: {alias}\nsensors:", 1))
    code, errors = check_config(path, capsys)
    assert code == 2
    assert f"{path}:6: merge keys (<<) are not supported: write the keys out" in errors


def test_the_circles_file_given_to_check_config_is_named_once_not_key_by_key(capsys) -> None:
    circle = ROOT / "configs" / "circle.example.yaml"
    line = circle.read_text().splitlines().index("ntfy:") + 1
    assert check_config(circle, capsys) == (
        2,
        [
            f"{circle}:{line}: this looks like the circle's config (ntfy, members and homes are its sections):"
            " check it with `sentinel check-circle`"
        ],
    )


def test_one_section_of_the_circles_in_an_agents_file_is_a_mistake_of_its_own() -> None:
    assert errors_of(GOOD.replace("home:", "homes:", 1)) == [
        "home.yaml:1: homes: unknown key (did you mean 'home'?)",
        "home.yaml:1: home: is required",
    ]


def test_a_value_with_a_final_line_break_is_refused() -> None:
    # A block scalar ("id: |") keeps the line break, and "$" let it through: "mary\n" ended up in the topics.
    block = GOOD.replace("  id: mary\n", "  id: |\n    mary\n")
    assert errors_of(block) == ["home.yaml:2: home.id: 'mary\\n' must be 1-40 lower-case letters, digits, '-' or '_'"]
    window = GOOD.replace("sensors:", 'detection:\n  quiet_windows:\n    - {start: "07:00\\n", end: "09:00"}\nsensors:')
    assert errors_of(window) == [
        "home.yaml:6: detection.quiet_windows[0].start: '07:00\\n' is not a time of day like '07:30'"
    ]


@pytest.mark.parametrize(
    ("key", "sensor"),
    [
        ("help: long", "button"),
        ("long_press: 5s", "button"),
        ("double_press: 1s", "button"),
        ("pull_up: true", "door"),
        ("normally_open: false", "door"),
    ],
)
def test_a_wired_sensors_setting_on_a_zigbee_device_is_refused_not_ignored(key: str, sensor: str) -> None:
    # check-config said OK, and the agent never read it: a Zigbee button still called for help on a double press.
    text = GOOD + f"  - name: zb\n    kind: {sensor}\n    zigbee: hall button\n    {key}\n"
    (issue,) = errors_of(text)
    assert issue.startswith(f"home.yaml:14: sensors[2].{key.split(':')[0]}: is for a ")
    assert issue.endswith("remove it") or "remove it for a Zigbee device" in issue


def test_a_key_that_is_no_name_is_shown_as_typed() -> None:
    # It said "None: unknown key" and "True: unknown key", Python's spelling of what the carer typed.
    text = GOOD.replace("sensors:", "null: 3\n1: 2\nsensors:") + "    true: 1\n"
    assert errors_of(text) == [
        "home.yaml:4: null: unknown key",
        "home.yaml:5: 1: unknown key",
        "home.yaml:13: sensors[1].true: unknown key",
    ]
