"""Read the event CSV (timestamp,sensor,kind,value,room) with line-numbered errors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sentinel.core.events import KINDS, Row
from sentinel.errors import CsvFormatError

REQUIRED = ("timestamp", "sensor", "kind", "value")


def read_rows(path: str | Path) -> list[Row]:
    """All rows of an event CSV, checked; CsvFormatError names file and line."""
    return list(iter_rows(path))


def iter_rows(path: str | Path) -> Iterator[Row]:
    source = str(path)
    try:
        handle = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise CsvFormatError(f"{source}: cannot read: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CsvFormatError(f"{source}:1: missing column(s) {', '.join(missing)}")
        previous: datetime | None = None
        for record in reader:
            line = reader.line_num
            row = _parse(record, source, line)
            if previous is not None and (row.at.tzinfo is None) != (previous.tzinfo is None):
                has, lacks = ("has", "lack") if row.at.tzinfo else ("lacks", "have")
                raise CsvFormatError(
                    f"{source}:{line}: timestamp {row.at.isoformat()} {has} a UTC offset and the rows before it "
                    f"{lacks} one; give every timestamp an offset (as `sentinel export` writes them) or none"
                )
            if previous is not None and row.at < previous:  # by the instant, when there are offsets
                raise CsvFormatError(
                    f"{source}:{line}: rows must be in time order ({row.at.isoformat()} is before "
                    f"{previous.isoformat()})"
                )
            previous = row.at
            yield row


def _parse(record: dict[str, str | None], source: str, line: int) -> Row:
    def fail(what: str) -> CsvFormatError:
        return CsvFormatError(f"{source}:{line}: {what}")

    if None in record:
        raise fail("too many fields")
    text = (record.get("timestamp") or "").strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"timestamp {text!r} is not ISO 8601") from None
    sensor = (record.get("sensor") or "").strip()
    if not sensor:
        raise fail("sensor is empty")
    kind = (record.get("kind") or "").strip()
    if kind not in KINDS:
        raise fail(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    value = (record.get("value") or "").strip()
    if value not in ("0", "1"):
        raise fail(f"value {value!r} is not 0 or 1")
    return Row(at, sensor, kind, int(value), (record.get("room") or "").strip())
