"""Detection quality on the dataset homes: the protocol's table, other seeds, and sensitivity.

Run from the repository root: ``python benchmarks/detection.py [DATASETS_DIR]``.
Reads ../shared/datasets/*.csv by default; prints Markdown tables.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sentinel.detect.csvio import read_rows
from sentinel.detect.detector import InactivityDetector
from sentinel.detect.protocol import Report, evaluate
from sentinel.detect.routine import Params
from sentinel.detect.tools import DETECTORS

HOMES = ("ordonez_a", "ordonez_b", "kasteren_a")


def pooled(reports: list[Report]) -> float:
    """False alerts per 30 days over all homes' test days together."""
    return sum(r.false_alerts for r in reports) / sum(r.test_days for r in reports) * 30


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "datasets")
    homes = {h: read_rows(folder / f"{h}.csv") for h in HOMES if (folder / f"{h}.csv").exists()}
    if not homes:
        sys.exit(f"no dataset homes in {folder}")

    print("## The protocol, seed 7\n")
    print("| home | detector | false alerts / 30 d | detected ≤ 24 h | median delay | p90 delay | time |")
    print("|---|---|---|---|---|---|---|")
    by_detector: dict[str, list[Report]] = {name: [] for name in DETECTORS}
    for home, rows in homes.items():
        for name, factory in DETECTORS.items():
            started = time.perf_counter()
            r = evaluate(rows, factory, 7)
            took = time.perf_counter() - started
            by_detector[name].append(r)
            print(
                f"| {home} | {name} | {r.false_alerts_per_30d:.1f} | {r.detected_within_24h:.0%} | "
                f"{minutes(r.median_delay_min)} | {minutes(r.p90_delay_min)} | {took:.2f} s |"
            )
    print("\n| detector | pooled false alerts / 30 d |\n|---|---|")
    for name, reports in by_detector.items():
        print(f"| {name} | {pooled(reports):.2f} |")

    print("\n## Other seeds (sentinel): median delay per home\n")
    print("| seed | " + " | ".join(homes) + " |\n|---|" + "---|" * len(homes))
    for seed in (1, 2, 3, 4, 5):
        cells = [minutes(evaluate(rows, DETECTORS["sentinel"], seed).median_delay_min) for rows in homes.values()]
        print(f"| {seed} | " + " | ".join(cells) + " |")

    print("\n## Sensitivity: one setting changed at a time (seed 7)\n")
    print("| setting | pooled FA / 30 d | " + " | ".join(f"{h} median" for h in homes) + " |")
    print("|---|---|" + "---|" * len(homes))
    variants = {
        "defaults": Params(),
        "budget 0.5 / month": Params(false_alerts_per_month=0.5),
        "budget 3 / month": Params(false_alerts_per_month=3),
        "prior weight 0.5": Params(prior_weight=0.5),
        "prior weight 2": Params(prior_weight=2),
        "time-of-day bandwidth 30 min": Params(bandwidth_s=1800),
        "time-of-day bandwidth 2 h": Params(bandwidth_s=7200),
        "floor 20 min": Params(floor_s=1200),
    }
    for label, params in variants.items():
        reports = [evaluate(rows, lambda split, p=params: InactivityDetector(p), 7) for rows in homes.values()]
        cells = [minutes(r.median_delay_min) for r in reports]
        print(f"| {label} | {pooled(reports):.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
