"""Validate parsed YAML against the config dataclasses, collecting every error.

The dataclasses in ``model.py`` are the one schema: their field types, defaults
and ``setting()`` metadata drive validation here and the reference in docs.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

from sentinel.config.yamllines import LineDict, LineList

Check = Callable[[Any], "str | None"]


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


def setting(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    check: Check | None = None,
    only_for: tuple[str, ...] = (),
) -> Any:
    """A config field with its documentation, an extra check and kind restriction."""
    meta = {"doc": doc, "check": check, "only_for": only_for}
    if isinstance(default, list | dict) or dataclasses.is_dataclass(default):
        value = default
        return dataclasses.field(default_factory=lambda: value, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class _Errors:
    """Collects 'file:line: path: message' strings."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[tuple[int, str]] = []
        self.warnings: list[tuple[int, str]] = []  # worth a look, but maybe right where the file is used

    def add(self, line: int, path: str, message: str) -> None:
        self.items.append((line, f"{self.source}:{line}: {path}: {message}"))

    def warn(self, line: int, path: str, message: str) -> None:
        self.warnings.append((line, f"{self.source}:{line}: {path}: warning: {message}"))

    def sorted(self) -> list[str]:
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]


def _describe(tp: Any) -> str:
    """A reader's name for a type."""
    origin = typing.get_origin(tp)
    if tp is Seconds:
        return "a duration (e.g. 90, '90s', '15m', '2h', '50ms')"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, str(tp))


_INVALID = object()


@functools.cache
def _shape(tp: Any) -> tuple[str, Any]:
    """What kind of type ``tp`` is for ``_convert``, and what it holds; worked out once per type."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return "union", [a for a in typing.get_args(tp) if a is not type(None)]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return "dataclass", None
    if origin is list:
        return "list", typing.get_args(tp)[0]
    if origin is Literal:
        return "literal", typing.get_args(tp)
    return "plain", None


def _convert(tp: Any, value: Any, path: str, line: int, errors: _Errors) -> Any:
    """Convert one YAML value to ``tp``; record an error and return _INVALID if it won't."""
    if tp is str and isinstance(value, str):
        return value  # most values of a config: said first
    kind, held = _shape(tp)
    if kind == "union":
        options = held
        if value is None:
            return None
        if len(options) == 1:
            return _convert(options[0], value, path, line, errors)
    elif kind == "dataclass":
        if isinstance(value, dict):
            return build(tp, value, path, errors, line)
    elif kind == "list":
        item_tp = held
        if isinstance(value, list):
            out = []
            lines = getattr(value, "lines", [line] * len(value))
            for i, item in enumerate(value):
                out.append(_convert(item_tp, item, f"{path}[{i}]", lines[i], errors))
            # One bad item spoils the list: cross-checks index items by position and would misplace or miscount them.
            return _INVALID if any(item is _INVALID for item in out) else out
    elif kind == "literal":
        choices = held
        key = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        if key in choices:
            return key
    elif tp is Seconds:
        try:
            return Seconds(parse_duration(value))
        except ValueError:
            pass
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    errors.add(line, path, f"{value!r} is not {_describe(tp)}")
    return _INVALID


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """A dataclass's field types and fields, worked out once (a town's config builds 10,000 homes)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def build(cls: type, raw: dict, path: str, errors: _Errors, line: int = 1) -> Any:
    """Build dataclass ``cls`` from mapping ``raw``; problems go to ``errors``."""
    hints, fields = _schema(cls)
    key_lines = raw.lines if isinstance(raw, LineDict) else {}
    prefix = f"{path}." if path else ""
    kind = raw.get("kind")
    values: dict[str, Any] = {}
    broken = False
    for key, value in raw.items():
        kline = key_lines.get(key, line)
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            import difflib  # only for a mistake: a sound config is read without it

            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.add(kline, f"{prefix}{key}", f"unknown key{hint}")
            broken = True
            continue
        only_for = field.metadata.get("only_for", ())
        if only_for and kind not in only_for:
            errors.add(kline, f"{prefix}{key}", f"only applies to kind {' or '.join(only_for)}")
            broken = True
            continue
        converted = _convert(hints[key], value, f"{prefix}{key}", kline, errors)
        if converted is _INVALID:
            broken = True
            continue
        check = field.metadata.get("check")
        problem = check(converted) if check and converted is not None else None
        if problem:
            errors.add(kline, f"{prefix}{key}", problem)
            broken = True
            continue
        values[key] = converted
    for name, field in fields.items():
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if required and name not in raw:
            errors.add(line, f"{prefix}{name}", "is required")
            broken = True
    if broken:
        return _INVALID
    return cls(**values)


def _show(value: Any) -> str:
    """A default as a carer would write it in YAML."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Seconds):
        if value < 1:
            return f"{value * 1000:g}ms"
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if value >= size and value % size == 0:
                return f"{value / size:g}{unit}"
        return f"{value:g}s"
    return str(value)


def reference(cls: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Rows of (key path, type, default, doc) for the reference documentation."""
    rows = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        tp = hints[field.name]
        key = f"{prefix}{field.name}"
        if field.default is not dataclasses.MISSING:
            default = _show(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = "see below"
        else:
            default = "required"
        only = field.metadata.get("only_for")
        doc = field.metadata.get("doc", "") + (f" (kind {', '.join(only)} only)" if only else "")
        rows.append((key, _describe(tp), default, doc))
        inner = tp
        if typing.get_origin(tp) in (Union, types.UnionType):
            inner = next(a for a in typing.get_args(tp) if a is not type(None))
        if typing.get_origin(inner) is list:
            (inner,) = typing.get_args(inner)
            key += "[]"
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            rows.extend(reference(inner, key + "."))
    return rows


def new_errors(source: str) -> _Errors:
    """An empty error collector for ``source``."""
    return _Errors(source)


def is_invalid(value: Any) -> bool:
    """Whether ``build`` failed."""
    return value is _INVALID


__all__ = ["LineList", "Seconds", "build", "is_invalid", "new_errors", "parse_duration", "reference", "setting"]
