"""The replay, backtest and routine subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sentinel.backtest.csvio import read_rows
from sentinel.backtest.tools import ReplayedAlert, backtest_all, format_backtest, replay, routine_summary
from sentinel.core.events import Row

if TYPE_CHECKING:
    from sentinel.config.detection import DetectionConfig
    from sentinel.detect.lines import RoutineModel


def run(args: argparse.Namespace) -> int:
    """Dispatch one of the detection subcommands; returns the exit code."""
    if args.command == "replay":
        replayed = replay(read_rows(args.events), args.name)
        if args.json:
            # The pending alert is listed last, with kind "pending": it is not an alert that was raised.
            pending = [replayed.pending] if replayed.pending else []
            print(json.dumps([a.as_dict() for a in replayed.alerts + pending], indent=2))
        else:
            for alert in replayed.alerts:
                print(f"{alert.at:%Y-%m-%d %H:%M}  {alert.reason}")
            if replayed.pending is not None and replayed.ends is not None:
                print(_pending_text(replayed.pending, replayed.ends))
            print(f"{len(replayed.alerts)} inactivity alert(s)", file=sys.stderr)
        return 0
    if args.command == "backtest":
        measured = backtest_all(
            read_rows(args.events),
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
    model = None if args.events else agent_routine(args.config)
    rows = read_rows(args.events) if args.events else _stored_rows(args.config)
    print(routine_summary(rows, detection, model) if rows else "No events yet.")
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


def agent_routine(config_path: str) -> RoutineModel | None:
    """The routine the agent watches with: the last it learned, kept in its database (None before the first)."""
    from sentinel.agent.learning import ROUTINE
    from sentinel.cli import open_agent_store
    from sentinel.detect.summary import Summary

    store = open_agent_store(config_path)
    try:
        text = store.get_setting(ROUTINE)
    finally:
        store.close()
    if text is None:
        return None
    try:
        return Summary.loads(text).model
    except ValueError as exc:  # then it is learned here, as before the agent's first
        print(f"sentinel: the agent's routine could not be read ({exc}); learning one from its events", file=sys.stderr)
        return None


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
