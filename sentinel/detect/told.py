"""An inactivity alert's reason as the watch tells it: what the routine says, and what held the alert back.

Making the words must never keep an alert from going out: if it fails, the alert goes out with a plain reason.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sentinel.core.windows import within
from sentinel.detect.explain import Place, alone_words, capital, duration, explain
from sentinel.detect.lines import Limit, RoutineModel
from sentinel.detect.silent import Run

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig

log = logging.getLogger(__name__)


def alert_reason(
    name: str,
    since: datetime,
    now: datetime,
    context: str,
    place: Place,
    value: int | None,
    limit: Limit,
    model: RoutineModel | None,
    outing: bool,
    cfg: DetectionConfig,
    run: Run,
    places: dict[str, Place],
    counted_from: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The reason and its facts; a plain one, logged, if making them fails (a fault here must not silence the watch)."""
    try:
        reason, facts = explain(
            name, since, now, context, place, value, limit, model, outing, cfg.checkin.enabled, cfg.learn_days,
            counted_from,
        )
        crossed = since + timedelta(seconds=limit.seconds)
        window = next((w for w in cfg.quiet_windows if within(crossed, w.start, w.end, w.days)), None)
        if window is not None:  # why the quiet lasted longer than the line
            reason += f" sentinel waited for the end of the quiet time set from {window.start} to {window.end}."
            facts["waited_for_quiet_window"] = f"{window.start}-{window.end}"
        if cfg.checkin.enabled:
            wait = cfg.checkin.wait
            reason += f" {capital(name)} did not answer the check-in for {duration(wait)}."
            facts["checkin_min"] = int(wait // 60) if wait % 60 == 0 else round(wait / 60, 1)  # 30 s is 0.5, not 0
        facts["sensor"] = place.sensor
        if run.alone and run.sensor is not None and run.since is not None:  # why its reports did not end the quiet
            words = alone_words(places.get(run.sensor), run.sensor, run.signs, run.since, now)
            reason += f" {words}, far more than ever before, so sentinel does not take its reports for {name}'s."
            facts["alone_sensor"], facts["alone_signs"] = run.sensor, run.signs
        return reason, facts
    except Exception:
        log.exception("making the reason of %s's alert failed; it goes out with a plain one", name)
        return plain_reason(name, since, now, context, place.sensor, limit, model is None, counted_from)


def plain_reason(
    name: str,
    since: datetime,
    now: datetime,
    context: str,
    sensor: str,
    limit: Limit,
    learning: bool,
    counted_from: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """What is sure without the routine's words: since when it is quiet, the last sensor, and the line."""
    quiet = max(0.0, (now - since).total_seconds())
    line_min = max(0, round(limit.seconds / 60)) if math.isfinite(limit.seconds) else None
    minutes = round(quiet / 60)
    if counted_from:  # as ``explain`` says it: the quiet is counted from the all clear, not from a sign
        reason = f"No sign of activity {minutes} min after {counted_from} at {since:%H:%M};"
    else:
        reason = f"No sign of activity since {since:%H:%M} ({minutes} min);"
    reason += f" {name} was last noticed by {sensor}."
    if line_min is not None:
        reason += f" sentinel alerts once the quiet lasts {line_min} min here."
    facts = {
        "last_activity": since.isoformat(timespec="seconds"),
        "quiet_min": round(quiet / 60),
        "line_min": line_min,
        "line_cause": limit.cause,
        "context": context,
        "learning": learning,
        "sensor": sensor,
    }
    if counted_from:
        facts["counted_from"] = counted_from
    return reason, facts
