"""`sentinel routine --plot`: the routine as a picture a carer can recognise."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sentinel.backtest.waits import learner_of, slot_lines
from sentinel.core.events import Row
from sentinel.detect.lines import RoutineModel
from sentinel.errors import SentinelError

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig


class PlotUnavailable(SentinelError, RuntimeError):
    """matplotlib is not installed."""


def plot_routine(
    rows: Sequence[Row],
    path: str | Path,
    name: str = "the resident",
    detection: DetectionConfig | None = None,
    model: RoutineModel | None = None,
) -> Path:
    """Activity by time of day, the usual night, and the alert line against them (``model``'s, as ``report``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable(
            "drawing the routine needs matplotlib, which is not installed with the agent. Install sentinel with"
            " its plot extra (docs/install.md, \"The carer's tools\"), or run"
            f" {sys.executable} -m pip install matplotlib"
        ) from exc
    if model is None:
        detector = learner_of(detection)
        for row in rows:
            detector.observe(row)
        model = detector.model
    if model is None:
        raise PlotUnavailable("the routine is still being learned: not enough days to draw")
    days = max(1.0, (rows[-1].at - rows[0].at).total_seconds() / 86400)
    per_half_hour = [0.0] * 48
    for row in rows:
        if row.is_activity:
            per_half_hour[row.at.hour * 2 + row.at.minute // 30] += 1 / days
    hours = [i / 2 + 0.25 for i in range(48)]
    waits = [line for _, line in slot_lines(rows, model, detection, slots=48)]
    lines = [math.nan if math.isinf(line) else line / 3600 for line in waits]

    fig, activity = plt.subplots(figsize=(10, 4.5), dpi=100)
    activity.bar(hours, per_half_hour, width=0.45, color="#9db4c0", label="signs of life per day")
    activity.set_xlabel("time of day")
    activity.set_ylabel("signs of life per half hour, per day")
    activity.set_xlim(0, 24)
    activity.set_xticks(range(0, 25, 2))
    if model.night is not None:
        start = (model.night.bed_from / 3600 + 12) % 24
        end = (model.night.usually_up / 3600 + 12) % 24
        spans = [(start, end)] if start < end else [(start, 24), (0, end)]
        for i, (a, b) in enumerate(spans):
            activity.axvspan(a, b, color="#e8e4f3", zorder=0, label="usual night" if i == 0 else None)
    alert = activity.twinx()
    alert.step(hours, lines, where="mid", color="#c0392b", linewidth=2, label="alert after (hours of quiet)")
    alert.set_ylabel("alert after this much quiet (hours)")
    alert.set_ylim(0, max((x for x in lines if not math.isnan(x)), default=1) * 1.15)
    handles = activity.get_legend_handles_labels()
    more = alert.get_legend_handles_labels()
    activity.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right", fontsize=8, framealpha=0.9)
    activity.set_title(f"The routine of {name}, learned from the last {model.days:.0f} days")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
