"""`sentinel report`: one page for a carer about the last days at a home.

The routine as a heat map (hour of day by date), the learned alert line, the
longest quiet spells, outings, alerts and presses of the button, and the kit's
health. A single HTML file with its pictures inside (SVG): it needs no network
to view and reads on a phone. Pure: rows and alerts in, text out.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sentinel.backtest.waits import forced_by_rooms, learner_of, slot_lines
from sentinel.core.events import Row
from sentinel.detect.detector import InactivityDetector
from sentinel.detect.explain import DETECTION_OFF, clock_after_noon, duration, expected_words
from sentinel.detect.lines import RoutineModel

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig

TOP_QUIET = 8  # the longest quiet spells shown


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as the carer reads it."""

    raised_at: datetime
    kind: str
    reason: str
    closed_at: datetime | None
    closed_by: str | None


def report(
    rows: Sequence[Row],
    alerts: Sequence[AlertRecord],
    name: str,
    days: int,
    now: datetime | None = None,
    detection: DetectionConfig | None = None,
    model: RoutineModel | None = None,
    note: str = "",
) -> str:
    """The page, for the ``days`` up to ``now`` (the last row, when not given).

    The lines are ``model``'s, the routine the agent watches with, when there is one; else learned here from
    ``rows`` with the settings of ``detection`` (the defaults without); ``note`` says which, under the lines.
    """
    if not rows:
        return _page(name, "<p>No events recorded yet.</p>")
    end = now or rows[-1].at
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    recent = [r for r in rows if r.at >= start]
    detector = learner_of(detection)
    for row in rows:
        detector.observe(row)
    sections = [
        _summary(recent, alerts, name, start, end),
        _heatmap(recent, start, end),
        _alert_line(rows, detector, detection, model or detector.model, note),
        _quiet_spells(recent, name),
        _outings(recent),
        _alerts(alerts, start, end),
        _kit(rows, detector, end),
    ]
    return _page(name, "\n".join(sections))


def _summary(rows: Sequence[Row], alerts: Sequence[AlertRecord], name: str, start: datetime, end: datetime) -> str:
    signs = sum(1 for r in rows if r.is_activity)
    days = max(1.0, (end - start).total_seconds() / 86400)
    shown = [a for a in alerts if start <= a.raised_at <= end]
    return (
        f"<p>From {start:%a %d %b} to {end:%a %d %b %H:%M}: {signs} sign{'s' if signs != 1 else ''} of life"
        f" ({signs / days:.0f} a day), {len(shown)} alert{'s' if len(shown) != 1 else ''}.</p>"
    )


def _heatmap(rows: Sequence[Row], start: datetime, end: datetime) -> str:
    dates = [(start + timedelta(days=i)).date() for i in range((end.date() - start.date()).days + 1)]
    counts: dict[tuple[date, int], int] = {}
    for row in rows:
        if row.is_activity:
            key = (row.at.date(), row.at.hour)
            counts[key] = counts.get(key, 0) + 1
    top = max(counts.values(), default=1)
    cell, left, head = 13, 52, 16
    width, height = left + 24 * cell, head + len(dates) * cell
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="activity by hour and date">']
    for hour in range(0, 24, 3):
        parts.append(f'<text x="{left + hour * cell}" y="11" class="axis">{hour:02d}</text>')
    for i, day in enumerate(dates):
        y = head + i * cell
        parts.append(f'<text x="0" y="{y + 10}" class="axis">{day:%a %d}</text>')
        for hour in range(24):
            n = counts.get((day, hour), 0)
            shade = 0.06 + 0.94 * math.sqrt(n / top) if n else 0
            title = f"{day:%a %d %b} {hour:02d}:00: {n} sign{'s' if n != 1 else ''} of life"
            parts.append(
                f'<rect x="{left + hour * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}"'
                f' fill="rgba(38,110,160,{shade:.2f})" class="cell"><title>{title}</title></rect>'
            )
    parts.append("</svg>")
    return (
        "<h2>When there was life at home</h2>\n"
        + "".join(parts)
        + ('\n<p class="note">Each square is an hour; the darker, the more the sensors saw.</p>')
    )


def _alert_line(
    rows: Sequence[Row],
    detector: InactivityDetector,
    detection: DetectionConfig | None,
    model: RoutineModel | None,
    note: str,
) -> str:
    said = f"<p>{html.escape(DETECTION_OFF)}</p>" if detection is not None and not detection.enabled else ""
    said += f"<p>{html.escape(note)}</p>" if note else ""
    if model is None:
        needs = f"<p>Still learning the routine ({detector.warmup.min_days:g} days are needed).</p>"
        return f"<h2>The alert line</h2>{said}{needs}"
    hours = [line for _, line in slot_lines(rows, model, detection)]
    by_rooms = forced_by_rooms(rows, detection.rooms, model.days, model.params) if detection is not None else 0.0
    finite = [h for h in hours if math.isfinite(h)]
    top = max(finite, default=3600.0)
    cell, height = 13, 90
    parts = [f'<svg viewBox="0 0 {24 * cell + 52} {height + 16}" role="img" aria-label="alert line by hour">']
    for hour, line in enumerate(hours):
        x = 52 + hour * cell
        if math.isfinite(line):
            bar = height * line / top
            title = f"{hour:02d}:00: an alert after {duration(line)} of quiet"
            parts.append(
                f'<rect x="{x}" y="{height - bar:.1f}" width="{cell - 1}" height="{bar:.1f}" class="line">'
                f"<title>{title}</title></rect>"
            )
        if hour % 3 == 0:
            parts.append(f'<text x="{x}" y="{height + 13}" class="axis">{hour:02d}</text>')
    parts.append(f'<text x="0" y="10" class="axis">{duration(top)}</text></svg>')
    night = ""
    if model.night is not None:
        n = model.night
        night = (
            f" The usual night: from {clock_after_noon(n.bed_from)} to {clock_after_noon(n.usually_up)},"
            f" up by {clock_after_noon(n.up_by)} at the latest."
        )
    return (
        f"<h2>How long a quiet spell may last</h2>\n{said}"
        + "".join(parts)
        + f'\n<p class="note">Learned from the last'
        f" {model.days:.0f} days, for where the resident usually is at each hour; a quiet spell longer than the bar"
        f" raises an alert.{night} {html.escape(expected_words(model, by_rooms))}</p>"
    )


def _quiet_spells(rows: Sequence[Row], name: str) -> str:
    signs = [r for r in rows if r.is_activity]
    spells = []
    for before, after in itertools.pairwise(signs):
        if before.kind == "door":
            continue  # after the front door: an outing, below
        spells.append(((after.at - before.at).total_seconds(), before, after))
    spells.sort(key=lambda s: s[0], reverse=True)
    items = "".join(
        f"<li>{duration(seconds)}: from {before.at:%a %H:%M} (after {_where(before)}) to {after.at:%H:%M}</li>"
        for seconds, before, after in spells[:TOP_QUIET]
    )
    return f"<h2>The longest quiet spells at home</h2><ul>{items or '<li>none</li>'}</ul>" + (
        f'<p class="note">Nights are among them: {html.escape(name)} sleeps.</p>'
    )


def _outings(rows: Sequence[Row]) -> str:
    signs = [r for r in rows if r.is_activity]
    outings = []
    for before, after in itertools.pairwise(signs):
        if before.kind == "door" and after.kind == "door" and (after.at - before.at) > timedelta(minutes=5):
            outings.append((before.at, after.at))
    items = "".join(
        f"<li>{a:%a %d %b %H:%M} to {b:%H:%M} ({duration((b - a).total_seconds())})</li>" for a, b in outings
    )
    return f"<h2>Outings</h2><ul>{items or '<li>none recorded</li>'}</ul>"


def _alerts(alerts: Sequence[AlertRecord], start: datetime, end: datetime) -> str:
    shown = [a for a in alerts if start <= a.raised_at <= end]
    items = "".join(
        f"<li><b>{a.raised_at:%a %d %b %H:%M}</b> {html.escape(a.kind.replace('_', ' '))}: {html.escape(a.reason)}"
        + (
            f" <i>Closed {a.closed_at:%H:%M} by {html.escape(a.closed_by or 'someone')}.</i>"
            if a.closed_at
            else " <i>Still open.</i>"
        )
        + "</li>"
        for a in shown
    )
    return f"<h2>Alerts</h2><ul>{items or '<li>none</li>'}</ul>"


def _kit(rows: Sequence[Row], detector: InactivityDetector, now: datetime) -> str:
    last: dict[str, Row] = {}
    count: dict[str, int] = {}
    for row in rows:
        last[row.sensor] = row
        count[row.sensor] = count.get(row.sensor, 0) + 1
    silent = {s.sensor for s in detector.silent_sensors(now)} if rows else set()
    items = "".join(
        f"<li>{html.escape(sensor)} ({html.escape(row.room or row.kind)}): last {row.at:%a %d %b %H:%M},"
        f" {count[sensor]} events"
        + (' <b class="warn">silent far longer than usual: check it</b>' if sensor in silent else "")
        + "</li>"
        for sensor, row in sorted(last.items())
    )
    return f"<h2>The kit</h2><ul>{items}</ul>"


def _where(row: Row) -> str:
    return html.escape(f"{row.sensor} ({row.room})" if row.room else row.sensor)


STYLE = """
body{font-family:system-ui,sans-serif;margin:1rem;max-width:44rem;color:#222;line-height:1.4}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}svg{width:100%;height:auto}
.axis{font-size:9px;fill:#555}.line{fill:#c0392b}.note{color:#555;font-size:.9rem}.warn{color:#c0392b}
li{margin:.2rem 0}
"""


def _page(name: str, body: str) -> str:
    who = html.escape(name)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>sentinel: {who}</title><style>{STYLE}</style></head>"
        f"<body><h1>sentinel: the last days at {who}'s</h1>\n{body}\n</body></html>\n"
    )
