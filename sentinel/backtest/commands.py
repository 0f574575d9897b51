"""The replay, backtest and routine subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sentinel.backtest.csvio import file_rows
from sentinel.backtest.tools import ReplayedAlert, backtest_all, format_backtest, replay, routine_summary
from sentinel.core.events import Row
from sentinel.detect.explain import duration
from sentinel.detect.lines import Params, RoutineModel, params_of

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig


def run(args: argparse.Namespace) -> int:
    """Dispatch one of the detection subcommands; returns the exit code."""
    if args.command == "replay":
        replayed = replay(file_rows(args.events), args.name)
        if args.json:
            # The pending alert is listed last, with kind "pending": it is not an alert that was raised.
            pending = [replayed.pending] if replayed.pending else []
            print(json.dumps([a.as_dict() for a in replayed.alerts + pending], indent=2))
        else:
            for alert in replayed.alerts:
                print(f"{alert.at:%Y-%m-%d %H:%M}  {alert.reason}")
            if replayed.pending is not None and replayed.ends is not None:
                print(_pending_text(replayed.pending, replayed.ends))
            elif replayed.out and replayed.alerts and replayed.ends is not None:
                print(
                    f"The file ends at {replayed.ends:%Y-%m-%d %H:%M} with the alert of "
                    f"{replayed.alerts[-1].at:%Y-%m-%d %H:%M} still out: nothing since was taken for a sign that "
                    f"{args.name} is up and about (one or two isolated signs are not, nor a sensor's reports alone)."
                )
            print(f"{len(replayed.alerts)} inactivity alert(s)", file=sys.stderr)
        return 0
    if args.command == "backtest":
        measured = backtest_all(
            file_rows(args.events),
            args.seed,
            progress=sys.stderr.isatty() and not args.json,
            source=args.events,
            conditions=getattr(args, "conditions", False),
        )
        if args.json:
            print(json.dumps(measured.as_dict(), indent=2))
        else:
            print(f"{Path(args.events).name} (seed {args.seed})")
            print(format_backtest(measured))
        return 0
    # From the agent's store: the routine it watches with, else one learned with the home's config; from a file,
    # one learned with the defaults.
    detection = None if args.events else _detection(args.config)
    kept = None if detection is None else agent_routine(args.config, detection)
    model = kept.model if kept is not None else None
    rows = file_rows(args.events) if args.events else _stored_rows(args.config)
    note = kept.note if kept is not None else ""
    print(routine_summary(rows, detection, model, note) if rows else "No events yet.")
    if args.plot and rows:
        from sentinel.backtest.plot import plot_routine

        print(f"picture written to {plot_routine(rows, args.plot, args.name, detection, model)}", file=sys.stderr)
    return 0


def _pending_text(pending: ReplayedAlert, ends: datetime) -> str:
    """What the quiet at the end of the file would lead to, told apart from the alerts above."""
    head = f"The file ends at {ends:%Y-%m-%d %H:%M}."
    if pending.at is None:
        return f"{head} {pending.reason}"
    return f"{head} If the quiet goes on, the alert would come at {pending.at:%Y-%m-%d %H:%M}:\n  {pending.reason}"


@dataclass(frozen=True, slots=True)
class Kept:
    """The routine the agent keeps in its database, as the carer's tools show it: the model, and where it is from."""

    model: RoutineModel | None  # None: the tools learn one here from the stored events, with the home's config
    note: str  # one line for the carer: the routine the agent watches with, or why one is learned here


def agent_routine(config_path: str, detection: DetectionConfig) -> Kept:
    """The routine the agent watches with: the last it learned, kept in its database."""
    from sentinel.agent.learning import ROUTINE
    from sentinel.cli import open_agent_store
    from sentinel.detect.summary import Summary

    store = open_agent_store(config_path)
    try:
        text = store.get_setting(ROUTINE)
    finally:
        store.close()
    here = "the routine below is learned here from its stored events, with its config."
    if text is None:
        return Kept(None, f"The agent has kept no routine yet: {here}")
    try:
        summary = Summary.loads(text)
    except ValueError as exc:
        return Kept(None, f"The agent's routine could not be read ({exc}): {here}")
    if summary.model is None:
        return Kept(
            None, f"When the agent last kept its routine ({summary.now:%Y-%m-%d %H:%M}) it was still learning: {here}"
        )
    note = f"The routine the agent watches with, learned as of {summary.now:%Y-%m-%d %H:%M}."
    changed = _changed(summary.model.params, params_of(detection))
    if changed:
        note += f" It was learned with {changed}: the agent takes up its config when it next starts."
    return Kept(summary.model, note)


def _changed(learned: Params, now: Params) -> str:
    """The knobs a routine was learned with that the config has changed since, in words ("" if none)."""
    said = []
    for name, words, unit in (
        ("false_alerts_per_month", "a budget of", lambda v: f"{v:g} a month"),
        ("floor_s", "a floor of", duration),
        ("ceiling_s", "a ceiling of", duration),
        ("window_days", "a window of", lambda v: f"{v:g} days"),
    ):
        before, after = getattr(learned, name), getattr(now, name)
        if before != after:
            said.append(f"{words} {unit(before)} (the config now says {unit(after)})")
    return ", ".join(said)


def _detection(config_path: str) -> DetectionConfig:
    """The detection settings of the agent's config, checked as the agent checks them."""
    from sentinel.cli import load_config_for_reading

    return load_config_for_reading(config_path).detection


def _stored_rows(config_path: str) -> list[Row]:
    """The running agent's stored events as CSV rows, read without creating or changing anything."""
    from sentinel.cli import open_agent_store

    store = open_agent_store(config_path)
    try:
        # With their offsets, as an export writes them: a clock change in the history is no jump in time.
        return [Row(e.wall, e.sensor, e.kind, e.value, e.room or "") for e in store.events()]
    finally:
        store.close()
