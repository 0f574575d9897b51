"""The ``sentinel`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sentinel import __version__, logs, systemd
from sentinel.config import Config, load_config
from sentinel.demo.options import broker, speed
from sentinel.errors import ConfigError, CsvFormatError, SentinelError
from sentinel.statedir import AGENT_DB as DATABASE

if TYPE_CHECKING:
    from sentinel.store import Store

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
CARERS_TOOLS = ("routine", "replay", "backtest", "report", "import", "export")
MOST_DAYS = 3660  # ten years: far more would reach back before the calendar begins


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentinel", description="A private home-wellbeing monitor.")
    parser.add_argument("--version", action="version", version=f"sentinel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the agent on the Pi")
    run.add_argument("-c", "--config", required=True, help="the agent's YAML config")

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config", help="the YAML config to check")

    demo = sub.add_parser("demo", help="a simulated day on a street of two homes, with a broker of its own")
    demo.add_argument(
        "--speed", type=speed, default=720.0, help="how much faster than real time the story is told (default 720)"
    )
    demo.add_argument("--seed", type=int, default=7, help="seed of the simulated resident")
    demo.add_argument(
        "--broker", type=broker, metavar="HOST[:PORT]", help="use this broker instead of an embedded one (port 1883)"
    )

    replay = sub.add_parser("replay", help="list the inactivity alerts the detector would have raised")
    replay.add_argument("events", help="an event CSV (timestamp,sensor,kind,value,room)")
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.add_argument("--name", default="the resident", help="how to call the resident in reasons")

    backtest = sub.add_parser("backtest", help="measure detection on an event CSV (docs/detection.md)")
    backtest.add_argument("events", help="an event CSV (timestamp,sensor,kind,value,room)")
    backtest.add_argument("--json", action="store_true", help="print JSON")
    backtest.add_argument("--seed", type=int, default=7, help="seed for the injected incidents")
    backtest.add_argument("--conditions", action="store_true", help="also under failing sensors and untidy days")

    routine = sub.add_parser("routine", help="show the routine learned from an event CSV or the agent's store")
    source = routine.add_mutually_exclusive_group(required=True)
    source.add_argument("events", nargs="?", help="an event CSV")
    source.add_argument("-c", "--config", help="the agent's YAML config (reads its store)")
    routine.add_argument("--plot", metavar="FILE.png", help="also draw the routine as a picture")
    routine.add_argument("--name", default="the resident", help="how to call the resident")

    report = sub.add_parser("report", help="one page for a carer: the last days at a home (HTML)")
    origin = report.add_mutually_exclusive_group(required=True)
    origin.add_argument("events", nargs="?", help="an event CSV")
    origin.add_argument("-c", "--config", help="the agent's YAML config (reads its store, alerts included)")
    report.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the page to write")
    report.add_argument("--days", type=int, default=14, help="how many days back (default 14)")
    report.add_argument("--name", help="how to call the resident (default: the config's home.name)")

    notify = sub.add_parser("notify", help="run the notifier that tells the circle")
    notify.add_argument("-c", "--config", required=True, help="the notifier's YAML config (circle.yaml)")

    check_circle = sub.add_parser("check-circle", help="validate a notifier config and exit")
    check_circle.add_argument("config", help="the notifier's YAML config to check")

    incidents = sub.add_parser("incidents", help="list incidents, or show one with every step")
    incidents.add_argument("-c", "--config", required=True, help="the notifier's YAML config")
    incidents.add_argument("alert_id", nargs="?", help="show this incident in full")
    incidents.add_argument("--open", action="store_true", help="only those still open")

    health = sub.add_parser("circle-health", help="per member: agreed, last notice and press, drills, absences")
    health.add_argument("-c", "--config", required=True, help="the notifier's YAML config")

    test = sub.add_parser("test-notify", help="send a test notification to members' phones, through ntfy, now")
    test.add_argument("-c", "--config", required=True, help="the notifier's YAML config")
    test.add_argument("members", nargs="*", help="members' ids (default: every member)")

    importer = sub.add_parser("import", help="seed the agent's database from an event CSV (a backup, a new Pi)")
    importer.add_argument("events", help="an event CSV, e.g. written by `sentinel export`")
    importer.add_argument("-c", "--config", required=True, help="the agent's YAML config")
    importer.add_argument(
        "--merge", action="store_true", help="the database has history: add the rows from before it begins"
    )

    export = sub.add_parser("export", help="write the stored events as an event CSV")
    export.add_argument("-c", "--config", required=True, help="the agent's YAML config")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    return parser


def _unwritable(args: argparse.Namespace) -> str | None:
    """Why a file the command is to write cannot be, found before any work is done."""
    from sentinel.outpath import problem

    output, plot = getattr(args, "output", None), getattr(args, "plot", None)
    return (problem(output) if output else None) or (problem(plot, picture=True) if plot else None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    wrong = _unwritable(args)
    if wrong:
        print(f"sentinel: {wrong}", file=sys.stderr)
        return EXIT_USAGE
    if args.command in CARERS_TOOLS and argv is None:  # from the command line, not a caller's own process
        from sentinel.giveway import give_way

        give_way()  # on the Pi, a long history's few hundred MB must not cost the agent its place
    try:
        if args.command == "check-config":
            return _check_config(args.config)
        if args.command == "run":
            return _run(load_config(args.config, run=True))
        if args.command == "demo":
            from sentinel.demo.story import run_demo

            return run_demo(speed=args.speed, seed=args.seed, broker=args.broker)
        if args.command == "export":
            return _export(args.config, args.output)
        if args.command == "report":
            return _report(args)
        if args.command == "import":
            from sentinel.export import import_file

            return import_file(args.events, args.config, args.merge)
        if args.command in ("notify", "check-circle", "incidents", "circle-health", "test-notify"):
            from sentinel.notifier import commands as notify_commands

            return notify_commands.run(args)
        if args.command in ("replay", "backtest", "routine"):
            from sentinel.backtest import commands

            return commands.run(args)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return EXIT_USAGE
    except CsvFormatError as exc:
        print(f"sentinel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SentinelError as exc:
        print(f"sentinel: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:  # e.g. `sentinel replay home.csv | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return EXIT_USAGE


def _check_config(path: str) -> int:
    warnings: list[str] = []
    config = load_config(path, warnings=warnings)
    for warning in warnings:
        print(warning, file=sys.stderr)
    print(
        f"{path}: OK: home {config.home.id!r}, {len(config.sensors)} sensors, "
        f"broker {config.mqtt.host}:{config.mqtt.port}"
    )
    return EXIT_OK


def _state_dir(config: Config) -> Path:
    from sentinel.store import default_state_dir

    return Path(config.state_dir) if config.state_dir else default_state_dir()


def _run(config: Config) -> int:
    from sentinel.agent.app import Agent
    from sentinel.agent.gpio import make_factory
    from sentinel.store import Store

    logs.setup(config.log_level)
    store = Store(_state_dir(config) / DATABASE, keep_going=True)  # a failing card must not stop the help button
    agent = Agent(config, store, pin_factory=make_factory(config.gpio.pin_factory))
    stop = systemd.stop_on_signals()
    try:
        agent.run(stop)
    finally:
        store.close()
    return EXIT_OK


def load_config_for_reading(path: str) -> Config:
    """The agent's config as a carer's tool needs it: every key checked, not the broker's secrets or files."""
    from sentinel.config import read_text, validate

    # The tools read only state_dir; demanding the broker password would make a carer hold it to read records.
    return validate(read_text(path), path, Config, lambda *_: None)


def open_agent_store(config_path: str) -> Store:
    """The running agent's database, read-only; NoDatabase when there is none (nothing is created)."""
    from sentinel.statedir import AGENT_DB, find_database
    from sentinel.store import Store

    config = load_config_for_reading(config_path)
    return Store(find_database(AGENT_DB, config.state_dir, config_path), read_only=True)


def _report(args: argparse.Namespace) -> int:
    from sentinel.report import AlertRecord, report

    if not 1 <= args.days <= MOST_DAYS:
        print(f"sentinel: --days must be from 1 to {MOST_DAYS}", file=sys.stderr)
        return EXIT_USAGE
    alerts: list[AlertRecord] = []
    name = args.name or "the resident"
    detection = None  # from a file: the default settings, as the other tools use them
    model, note = None, ""
    if args.events:
        from sentinel.backtest.csvio import file_rows

        rows = file_rows(args.events)
    else:
        from sentinel.backtest.commands import _stored_rows, agent_routine

        config = load_config_for_reading(args.config)
        name = args.name or config.home.name
        detection = config.detection  # the lines as this home's agent draws them
        kept = agent_routine(args.config, detection)  # the routine it watches with, once it has learned one
        model, note = kept.model, kept.note
        rows = _stored_rows(args.config)
        store = open_agent_store(args.config)
        try:
            alerts = [AlertRecord(a.raised_at, a.kind, a.reason, closed, by) for a, closed, by in store.alerts()]
        finally:
            store.close()
    page = report(rows, alerts, name, args.days, detection=detection, model=model, note=note)
    with open(args.output, "w", encoding="utf-8") as out:
        out.write(page)
    print(f"wrote the report to {args.output}", file=sys.stderr)
    return EXIT_OK


def _export(config_path: str, output: str | None) -> int:
    from sentinel.export import write_csv

    store = open_agent_store(config_path)
    try:
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = write_csv(store.events(), out)
            print(f"wrote {count} events from {store.path} to {output}", file=sys.stderr)
        else:
            count = write_csv(store.events(), sys.stdout)
            print(f"wrote {count} events from {store.path}", file=sys.stderr)
    finally:
        store.close()
    return EXIT_OK
