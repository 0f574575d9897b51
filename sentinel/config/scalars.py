"""One value as the carer typed it: durations, numbers YAML left as text, and how a value is shown back."""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import types
import typing
from typing import Any, Literal, Union


class Seconds(float):
    """A duration in seconds; YAML may say 90, '90s', '15m', '2h', '1h30m', '50ms' or '30d'."""


_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNIT = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as '1h30m' or '50ms'; ValueError if neither."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip():
        total, pos = 0.0, 0
        for match in _DURATION_PART.finditer(value):
            if match.start() != pos:
                break
            total += float(match.group(1)) * _UNIT[match.group(2)]
            pos = match.end()
        else:
            if pos and not value[pos:].strip():
                return total
    raise ValueError(value)


def describe(tp: Any) -> str:
    """A reader's name for a type."""
    origin = typing.get_origin(tp)
    if tp is Seconds:
        return "a duration (e.g. 90, '90s', '15m', '2h', '50ms')"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


def clock_like(typed: str | None, value: Any, duration: bool) -> str | None:
    """What to say of a number typed like a clock (``1:30``), which YAML 1.1 reads in base 60 (90); None if not."""
    if typed is None or ":" not in typed:
        return None
    what = "a duration like 1h30m or 90m" if duration else "the number itself"
    return f"{typed} is read as {value:g} (YAML counts 1:30 as 90, in base 60): write {what}"


def number_in_text(value: Any) -> float | None:
    """A finite number written as text, as YAML 1.1 leaves '1e9' (it wants '1.0e9'); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # 'nan' and 'inf' are words, not numbers a carer means


def kept_text(value: Any, typed: str | None) -> str | None:
    """What was typed where text is wanted and YAML read a number or a date: '0042', not 34; else None."""
    if typed is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | datetime.date):
        return typed
    return None


def echo(value: Any, typed: str | None) -> str:
    """A value as the carer wrote it, for a message: a number, true/false or a date as typed, text in quotes."""
    if typed is not None:
        return typed
    if isinstance(value, dict | list):  # not its content: a misplaced section may hold secrets (ntfy topics)
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


def _show(value: Any) -> str:
    """A default as a carer would write it in YAML."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Seconds):
        if value == 0:
            return "0s"
        if value < 1:
            return f"{value * 1000:g}ms"
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if value >= size and value % size == 0:
                return f"{value / size:g}{unit}"
        return f"{value:g}s"
    return str(value)
