"""Validate parsed YAML against the config dataclasses, collecting every error.

The dataclasses in ``model.py`` are the one schema: their field types, defaults
and ``setting()`` metadata drive validation here and the reference in docs.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

from sentinel.config.scalars import (
    Seconds,
    _show,
    clock_like,
    describe,
    echo,
    kept_text,
    number_in_text,
    parse_duration,
)
from sentinel.config.yamllines import LineDict, LineList

Check = Callable[[Any], "str | None"]


def setting(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    check: Check | None = None,
    only_for: tuple[str, ...] = (),
    empty: str = "",
) -> Any:
    """A config field with its documentation, an extra check, kind restriction and what to say if left empty.

    Text with ``empty`` set is refused empty or blank too (``name: ""``): a name that starts a sentence, a host.
    """
    meta = {"doc": doc, "check": check, "only_for": only_for, "empty": empty}
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


def _convert(tp: Any, value: Any, path: str, line: int, errors: _Errors, typed: str | None = None) -> Any:
    """Convert one YAML value to ``tp``; record an error and return _INVALID if it won't.

    ``typed``: the source text of a value YAML read as a number, true/false, a date or null, to keep where text
    is wanted (``id: 0042`` is '0042', not 34) and to echo in messages.
    """
    if tp is str and isinstance(value, str):
        return value  # most values of a config: said first
    if tp in (Seconds, int, float) and (clock := clock_like(typed, value, tp is Seconds)):
        errors.add(line, path, clock)
        return _INVALID
    kind, held = _shape(tp)
    if value is None and kind != "union":
        errors.add(line, path, f"is empty: give {describe(tp)}")
        return _INVALID
    if kind == "union":
        options = held
        if value is None:
            return None
        if len(options) == 1:
            return _convert(options[0], value, path, line, errors, typed)
    elif kind == "dataclass":
        if isinstance(value, dict):
            return build(tp, value, path, errors, line)
    elif kind == "list":
        item_tp = held
        if isinstance(value, list):
            out = []
            lines = getattr(value, "lines", [line] * len(value))
            texts = getattr(value, "texts", {})
            for i, item in enumerate(value):
                out.append(_convert(item_tp, item, f"{path}[{i}]", lines[i], errors, texts.get(i)))
            # One bad item spoils the list: cross-checks index items by position and would misplace or miscount them.
            return _INVALID if any(item is _INVALID for item in out) else out
    elif kind == "literal":
        choices = held
        key = value
        if isinstance(value, int | float) and not isinstance(value, bool):
            key = kept_text(value, typed) or str(value)
        if key in choices:
            return key
    elif tp is Seconds:
        try:
            return Seconds(parse_duration(value))
        except ValueError:
            number = number_in_text(value)  # '1e4': YAML 1.1 reads no number without a dot
            if number is not None:
                return Seconds(number)
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        number = number_in_text(value)
        if number is not None:
            return number
    elif tp is str:
        if isinstance(value, bool):
            # 'yes', 'on', 'no', 'off' are true or false to YAML: a name that was meant is not guessed back.
            errors.add(
                line,
                path,
                f"{echo(value, typed)} is read as true or false, not text: put it in quotes"
                f" ('{typed if typed is not None else value}')",
            )
            return _INVALID
        text = kept_text(value, typed)
        if text is not None:
            return text  # what was typed: 0042 stays '0042' (YAML 1.1 reads 34), 1.10 stays '1.10'
        if isinstance(value, int | float):
            return str(value)  # a mapping built without the loader's source text
    errors.add(line, path, f"{echo(value, typed)} is not {describe(tp)}")
    return _INVALID


def _empty(tp: Any, key: str, field: dataclasses.Field) -> str:
    """What to say of a section left empty (``tls:`` alone): YAML reads null, which must not mean 'off'."""
    if field.metadata.get("empty"):
        return f"is empty: {field.metadata['empty']}"
    optional = _shape(tp)[0] == "union"
    cls = _shape(tp)[1][0] if optional else tp
    required = [f.name for f in dataclasses.fields(cls) if _is_required(f)]
    if required:
        return f"is empty: give its keys ({', '.join(required)})" + (", or remove the line" if optional else "")
    if optional:
        return f"is empty: write `{key}: {{}}` to turn it on with its defaults, or remove the line to leave it off"
    return "is empty: give its keys, or remove the line for the defaults"


def _left_blank(value: Any, tp: Any, field: dataclasses.Field) -> bool:
    """Text that must say something, given as nothing: ``name:``, ``name: ""`` or ``name: "  "``."""
    if not field.metadata.get("empty"):
        return False
    if isinstance(value, str):
        return not value.strip()
    return value is None and _shape(tp)[0] != "union"  # `room:` with nothing after it: no room, as if left out


def _is_required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _wants_mapping(tp: Any) -> bool:
    kind, held = _shape(tp)
    return kind == "dataclass" or (kind == "union" and len(held) == 1 and _shape(held[0])[0] == "dataclass")


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """A dataclass's field types and fields, worked out once (a town's config builds 10,000 homes)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls)}


def build(cls: type, raw: dict, path: str, errors: _Errors, line: int = 1) -> Any:
    """Build dataclass ``cls`` from mapping ``raw``; problems go to ``errors``."""
    hints, fields = _schema(cls)
    key_lines = raw.lines if isinstance(raw, LineDict) else {}
    texts = raw.texts if isinstance(raw, LineDict) else {}
    prefix = f"{path}." if path else ""
    kind = raw.get("kind")
    values: dict[str, Any] = {}
    broken = False
    for key, value in raw.items():
        kline = key_lines.get(key, line)
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            import difflib  # only for a mistake: a sound config is read without it

            # As YAML spells it: "null", "true", not Python's None and True.
            spelt = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            close = difflib.get_close_matches(spelt, list(fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.add(kline, f"{prefix}{spelt}", f"unknown key{hint}")
            broken = True
            continue
        only_for = field.metadata.get("only_for", ())
        if only_for and kind not in only_for:
            errors.add(kline, f"{prefix}{key}", f"only applies to kind {' or '.join(only_for)}")
            broken = True
            continue
        typed = texts.get(key)
        if (value is None and _wants_mapping(hints[key])) or _left_blank(value, hints[key], field):
            errors.add(kline, f"{prefix}{key}", _empty(hints[key], key, field))
            broken = True
            continue
        converted = _convert(hints[key], value, f"{prefix}{key}", kline, errors, typed)
        if converted is _INVALID:
            broken = True
            continue
        check = field.metadata.get("check")
        problem = None
        if check and converted is not None:
            # A range says the value back as it was typed ('-30', '.inf', '0.5s'), not as it was read.
            shown = typed if typed is not None else value if isinstance(value, str) else None
            problem = check(converted, shown) if getattr(check, "echoes", False) else check(converted)
        if problem:
            errors.add(kline, f"{prefix}{key}", problem)
            broken = True
            continue
        values[key] = converted
    for name, field in fields.items():
        if _is_required(field) and name not in raw:
            errors.add(line, f"{prefix}{name}", "is required")
            broken = True
    if broken:
        return _INVALID
    return cls(**values)


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
        rows.append((key, describe(tp), default, doc))
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
