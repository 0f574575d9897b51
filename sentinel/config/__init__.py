"""Read, validate and resolve the agent's YAML configuration."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import yaml

from sentinel.config import yamlhints, yamllines
from sentinel.config.checks import check_agent
from sentinel.config.model import Config, MqttConfig, SensorConfig
from sentinel.config.schema import build, is_invalid, new_errors
from sentinel.config.yamllines import LineDict
from sentinel.errors import ConfigError
from sentinel.text import not_utf8_at

if TYPE_CHECKING:  # the notifier's config is imported by the notifier's functions: the agent starts without it
    from sentinel.config.circle import CircleConfig

T = TypeVar("T")

__all__ = ["Config", "ConfigError", "MqttConfig", "SensorConfig", "load_config", "parse_config", "read_password"]


def read_text(path: str | os.PathLike[str], limit: int = yamllines.MAX_BYTES) -> str:
    """A config file's text; ConfigError when it cannot be read or is far too big to be a config."""
    try:
        with open(path, "rb") as file:
            # Read no more than the limit allows: the path may name a huge file, or a device.
            data = file.read(limit + 1)
        if len(data) > limit:
            raise ConfigError([f"{path}:1: the file is over {limit // 1024 // 1024} MiB; a config file is a few kB"])
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([_not_utf8(path, data, exc.start)]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc


def _not_utf8(path: str | os.PathLike[str], data: bytes, start: int) -> str:
    """Where the first byte that is not UTF-8 is: an editor saved the file as Latin-1 or Windows-1252."""
    line, column = not_utf8_at(data, start)
    return (
        f"{path}:{line}: the byte 0x{data[start]:02x} at column {column} is not UTF-8:"
        " save the file as UTF-8 (in your editor's 'Save as')"
    )


def shipped_config(name: str) -> Path:
    """A config file of the project's: configs/NAME in a checkout, else the copy inside the package."""
    checkout = Path(__file__).resolve().parents[2] / "configs" / name
    if checkout.exists():
        return checkout
    return Path(str(resources.files("sentinel") / "data" / name))


def load_config(path: str | os.PathLike[str], run: bool = False, warnings: list[str] | None = None) -> Config:
    """Load and validate a config file; raise ConfigError listing every problem (see ``parse_config``)."""
    return parse_config(read_text(path), str(path), run, warnings)


def parse_config(text: str, source: str = "<config>", run: bool = False, warnings: list[str] | None = None) -> Config:
    """Validate YAML text; raise ConfigError listing every problem.

    ``run``: for the agent about to start, whose state_dir must be writable (it is made if need be).
    ``warnings``: for check-config, which gets there what may be wrong only where the file is used.
    """
    state: Literal["run", "check"] | None = "run" if run else "check" if warnings is not None else None
    check = functools.partial(check_agent, state=state)
    return validate(text, source, Config, check, warnings=warnings)


def validate(
    text: str,
    source: str,
    cls: type[T],
    cross_check: Callable[[T, LineDict, Any], None],
    max_bytes: int = yamllines.MAX_BYTES,
    warnings: list[str] | None = None,
) -> T:
    """Parse YAML text into ``cls``; ConfigError with every problem, each with its line (warnings into a list)."""
    with _no_cycle_collection():
        return _validate(text, source, cls, cross_check, max_bytes, warnings)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a config is read.

    A town's config is 100,000 YAML nodes, mappings and dataclasses, none of them in a cycle, yet each
    700 new objects make the collector walk the young ones, and the whole heap again and again as they
    age: 60 % of the time to read 10,000 homes. What is freed meanwhile is freed by reference counting.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _validate(
    text: str,
    source: str,
    cls: type[T],
    cross_check: Callable[[T, LineDict, Any], None],
    max_bytes: int,
    warnings: list[str] | None = None,
) -> T:
    try:
        raw = yamllines.load(text, max_bytes)
    except yamllines.Refused as exc:
        mark = exc.problem_mark
        raise ConfigError([f"{source}:{mark.line + 1 if mark else 1}: {exc.problem}"]) from None
    except yaml.reader.ReaderError as exc:  # no mark, only the character's position in the text
        line = text.count("\n", 0, exc.position) + 1
        problem = f"character #x{exc.character:04x} is not allowed (a control character): delete it"
        raise ConfigError([f"{source}:{line}: YAML syntax error: {problem}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = yamlhints.plain(getattr(exc, "problem", None) or str(exc), text, mark)
        raise ConfigError([f"{source}:{line}: YAML syntax error: {problem}"]) from exc
    if not isinstance(raw, dict):
        raise ConfigError([f"{source}:1: the file must be a mapping of sections (home:, sensors:, ...)"])
    wrong = _other_programs_file(cast(LineDict, raw), cls, source)
    if wrong:
        raise ConfigError([wrong])  # rather than an "unknown key" for each of its sections
    errors = new_errors(source)
    config = build(cls, raw, "", errors)
    if not is_invalid(config):
        cross_check(config, cast(LineDict, raw), errors)  # the loaders make every mapping a LineDict
    if errors.items:
        raise ConfigError(errors.sorted())
    if warnings is not None:
        warnings.extend(text for _, text in sorted(errors.warnings, key=lambda item: item[0]))
    return config


def _other_programs_file(raw: LineDict, cls: type, source: str) -> str | None:
    """Whether the file is the other program's: none of this one's required sections, and two of the other's."""
    if any(name in raw for name in _required(cls)):
        return None  # a valid config never gets past here: the agent reads its own without the circle's schema
    from sentinel.config.circle import CircleConfig

    other: type
    if cls is Config:
        other, what, command = CircleConfig, "the circle's config", "check-circle"
    elif cls is CircleConfig:
        other, what, command = Config, "an agent's config", "check-config"
    else:
        return None
    found = [name for name in _required(other) if name in raw]
    if len(found) < 2:
        return None  # a few keys of the other's may be a mistake in this one: each is named where it is
    sections = f"{', '.join(found[:-1])} and {found[-1]}"
    return (
        f"{source}:{raw.lines.get(found[0], 1)}: this looks like {what} ({sections} are its sections):"
        f" check it with `sentinel {command}`"
    )


def _required(cls: type) -> list[str]:
    """The keys a config file of ``cls`` must have."""
    return [f.name for f in dataclasses.fields(cls) if f.default is f.default_factory is dataclasses.MISSING]


def read_password(mqtt: MqttConfig) -> str | None:
    """The broker password from the environment or a file; never logged."""
    if mqtt.password_env:
        return os.environ.get(mqtt.password_env)
    if mqtt.password_file:
        return Path(mqtt.password_file).read_text(encoding="utf-8").strip()
    return None


def load_circle_config(
    path: str | os.PathLike[str], check_secrets: bool = True, run: bool = False, warnings: list[str] | None = None
) -> CircleConfig:
    """Load and validate a notifier config; raise ConfigError listing every problem.

    ``check_secrets=False`` is for tools that only read records: the secrets need not be in the environment.
    ``run`` and ``warnings`` as for ``load_config``: whether state_dir can be written, checked for the notifier
    that starts (an error) or for check-circle (a warning).
    """
    text = read_text(path, yamllines.MAX_CIRCLE_BYTES)
    return parse_circle_config(text, str(path), check_secrets, run, warnings)


def parse_circle_config(
    text: str,
    source: str = "<circle>",
    check_secrets: bool = True,
    run: bool = False,
    warnings: list[str] | None = None,
) -> CircleConfig:
    """Validate a notifier config's YAML text (the secrets too, unless ``check_secrets`` is False)."""
    from sentinel.config.checks import check_circle
    from sentinel.config.circle import CircleConfig

    state: Literal["run", "check"] | None = "run" if run else "check" if warnings is not None else None
    check = functools.partial(check_circle, check_secrets=check_secrets, state=state)
    return validate(text, source, CircleConfig, check, yamllines.MAX_CIRCLE_BYTES, warnings)
