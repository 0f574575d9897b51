"""Read the event CSV (timestamp,sensor,kind,value,room) with line-numbered errors."""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sentinel.core.events import KINDS, Row
from sentinel.errors import CsvFormatError
from sentinel.text import not_utf8_at

REQUIRED = ("timestamp", "sensor", "kind", "value")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (Cc), found in C, not row by row

# How far past the time now a row may be: a file written with the home's clock, read where it is earlier.
AHEAD = timedelta(days=1)


def file_rows(path: str | Path) -> list[Row]:
    """A history file's rows for the carer's tools, none later than the time now; what was mended goes to stderr."""
    return read_rows(path, datetime.now(UTC), lambda text: print(f"note: {text}", file=sys.stderr))


def read_rows(path: str | Path, now: datetime | None = None, tell: Callable[[str], None] | None = None) -> list[Row]:
    """All rows of an event CSV, checked; CsvFormatError names file and line.

    ``now``: rows later than this (and a day) are refused: a clock set wrong. ``tell``: what was mended on the way.
    """
    return list(iter_rows(path, now, tell))


def iter_rows(
    path: str | Path, now: datetime | None = None, tell: Callable[[str], None] | None = None
) -> Iterator[Row]:
    source = str(path)
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte order mark, which is not part of the header
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise CsvFormatError(f"{source}: cannot read: {exc}") from exc
    reader = csv.DictReader(handle, strict=True)  # a quote left open at the end, or text after one, is refused
    try:
        with handle:
            yield from _rows(reader, source, now, tell)
    except UnicodeDecodeError:
        raise CsvFormatError(_not_utf8(path, source)) from None
    except csv.Error as exc:  # a quote left open makes one field of everything after it
        # line_num counts the lines read whole: the one that failed (or, in a quoted field, began) is the next
        where = f"{source}:{reader.line_num + 1}"
        raise CsvFormatError(f"{where}: {_quoting(str(exc))}") from None


def _rows(
    reader: csv.DictReader[str], source: str, now: datetime | None, tell: Callable[[str], None] | None
) -> Iterator[Row]:
    """The rows of ``reader``, checked, each repeated row once."""
    # A spreadsheet may have written "Timestamp" or " kind ": the columns are their names, whatever the case.
    fields = reader.fieldnames = [f.strip().lower() for f in reader.fieldnames or []]
    if not fields:
        raise CsvFormatError(f"{source}: the file is empty; it needs a header line: {','.join(REQUIRED)},room")
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        hint = " (the columns must be separated by commas)" if len(fields) == 1 and ";" in fields[0] else ""
        raise CsvFormatError(f"{source}:1: missing column(s) {', '.join(missing)}{hint}")
    previous: datetime | None = None
    same_time: set[Row] = set()  # the rows read at ``previous``: an exact repeat is the same report twice
    repeated, first_repeat = 0, 0
    for record in reader:
        line = reader.line_num
        texts = [v for v in record.values() if isinstance(v, str)]
        spans = sum(v.count("\n") for v in texts)
        if spans:  # a quote opened and never closed: the rows after it were read as one field's text
            opened = line - sum(v.rstrip("\r\n").count("\n") for v in texts)  # to the end: its last line break too
            raise CsvFormatError(
                f'{source}:{opened}: a quote (") opens a field that runs over the next {spans} line(s), which '
                "would be read as its text, not as rows; remove the quote or close it on its line"
            )
        row = _parse(record, source, line)
        if previous is not None and (row.at.tzinfo is None) != (previous.tzinfo is None):
            has, lacks = ("has", "lack") if row.at.tzinfo else ("lacks", "have")
            raise CsvFormatError(
                f"{source}:{line}: timestamp {row.at.isoformat()} {has} a UTC offset and the rows before it "
                f"{lacks} one; give every timestamp an offset (as `sentinel export` writes them) or none"
            )
        if previous is not None and row.at < previous:  # by the instant, when there are offsets
            raise CsvFormatError(
                f"{source}:{line}: rows must be in time order ({row.at.isoformat()} is before {previous.isoformat()})"
            )
        if now is not None and row.at > _comparable(now, row.at) + AHEAD:
            raise CsvFormatError(
                f"{source}:{line}: timestamp {row.at.isoformat()} is later than the time now; was a clock set wrong?"
                " Remove the rows from the future"
            )
        if row.at != previous:
            same_time.clear()
        previous = row.at
        if row in same_time:
            repeated, first_repeat = repeated + 1, first_repeat or line
            continue
        same_time.add(row)
        yield row
    if repeated and tell is not None:
        tell(
            f"{source}: {repeated} row(s) repeat a row of the same time exactly (the first at line {first_repeat});"
            " each is read once"
        )


def _quoting(error: str) -> str:
    """What csv's complaint means for a file edited by hand."""
    if "unexpected end of data" in error:
        return 'a quote (") opened here is never closed: the rest of the file would be read as one field'
    if "field limit" in error:
        return f'{error}: is a quote (") left open here?'
    return f'{error}: a field that starts with a quote (") must end with one, just before the next comma'


def _comparable(now: datetime, like: datetime) -> datetime:
    """``now`` as ``like`` is written: with an offset, or on the clock of this machine."""
    return now if like.tzinfo is not None else now.astimezone().replace(tzinfo=None)


def _not_utf8(path: str | Path, source: str) -> str:
    """Where a file that is not UTF-8 first is not, and what to do."""
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, _ = not_utf8_at(data, exc.start)
        return (
            f"{source}:{line}: byte 0x{data[exc.start]:02x} is not UTF-8; save the file as UTF-8"
            ' (in a spreadsheet: "CSV UTF-8")'
        )
    return f"{source}: is not UTF-8; save the file as UTF-8"


def _parse(record: dict[str, str | None], source: str, line: int) -> Row:
    def fail(what: str) -> CsvFormatError:
        return CsvFormatError(f"{source}:{line}: {what}")

    if None in record:
        raise fail("too many fields")
    if any(record.get(name) is None for name in REQUIRED):
        given = sum(value is not None for value in record.values())
        raise fail(f"{given} field{'s' if given != 1 else ''}, where a row needs timestamp, sensor, kind and value")
    text = (record.get("timestamp") or "").strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"timestamp {text!r} is not ISO 8601 (like 2026-11-28T14:05:00+00:00)") from None
    if len(text) <= len("2026-11-28"):  # a spreadsheet that dropped the time would put the day's rows at midnight
        raise fail(f"timestamp {text!r} has no time of day (like 2026-11-28T14:05:00)")
    sensor = (record.get("sensor") or "").strip()
    if not sensor:
        raise fail("sensor is empty")
    kind = (record.get("kind") or "").strip()
    if kind not in KINDS:
        raise fail(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    value = (record.get("value") or "").strip()
    if value not in ("0", "1"):
        raise fail(f"value {value!r} is not 0 or 1")
    room = (record.get("room") or "").strip()
    for key, name in (("sensor", sensor), ("room", room)):
        # A NUL or an escape was stored as given, and came out as such in the log and in an export.
        if CONTROL.search(name):
            raise fail(f"{key} {name!r} has a control character (such as NUL or an escape)")
    return Row(at, sensor, kind, int(value), room)
