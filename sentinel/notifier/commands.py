"""The notify, check-circle, incidents, circle-health and test-notify subcommands."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from sentinel import logs, systemd
from sentinel.config import load_circle_config
from sentinel.config.circle import CircleConfig
from sentinel.errors import SentinelError
from sentinel.notifier import health, story
from sentinel.notifier.escalation import circle_of
from sentinel.notifier.store import NotifierStore
from sentinel.statedir import NOTIFIER_DB, NoDatabase, find_database
from sentinel.store import default_state_dir


def run(args: argparse.Namespace) -> int:
    """Dispatch one of the notifier subcommands; returns the exit code."""
    if args.command in ("incidents", "circle-health"):
        # Reading the records needs neither the ntfy token nor the key that signs the buttons.
        config = load_circle_config(args.config, check_secrets=False)
        path = find_database(NOTIFIER_DB, config.state_dir, args.config)
        store = NotifierStore(path, read_only=True)
        try:
            if args.command == "circle-health":
                print(health.render(config, health.gather(config, store), datetime.now().astimezone()), end="")
                return 0
            return _incidents(store, args.alert_id, args.open)
        finally:
            store.close()
    if args.command == "test-notify":
        return _test_notify(load_circle_config(args.config), args.members)
    warnings: list[str] = []
    checking = args.command == "check-circle"
    config = load_circle_config(args.config, run=not checking, warnings=warnings if checking else None)
    if checking:
        for warning in warnings:
            print(warning, file=sys.stderr)
        print(
            f"{args.config}: OK: {_count(len(config.homes), 'home')}, {_count(len(config.members), 'member')}, "
            f"ntfy {config.ntfy.server}, broker {config.mqtt.host}:{config.mqtt.port}"
        )
        if urlparse(config.ntfy.server).hostname != PUBLIC_NTFY:
            print(self_hosted_advice(config))
        print(not_agreed(config, args.config))
        return 0
    store = NotifierStore(state_dir(config) / NOTIFIER_DB)
    try:
        return _notify(config, store)
    finally:
        store.close()


PUBLIC_NTFY = "ntfy.sh"


def self_hosted_advice(config: CircleConfig) -> str:
    """What a self-hosted ntfy server needs for the buttons and for iPhones (docs/circle.md)."""
    return (
        "On your own ntfy server:\n"
        "  - the buttons post without logging in (the app sends no password with them). If the server denies\n"
        "    access by default (auth-default-access: deny-all), open the ack topic for writing only:\n"
        f"        ntfy access everyone {config.ntfy.ack_topic} write-only\n"
        "  - members with an iPhone get notifications at once only if server.yml has (else late, up to hours)\n"
        '        upstream-base-url: "https://ntfy.sh"\n'
        "  - a burst of more than about 60 notifications is paced to one every 5 s unless server.yml has\n"
        '        visitor-request-limit-exempt-hosts: "<this notifier\'s address>"'
    )


def not_agreed(config: CircleConfig, config_path: str) -> str:
    """Who has not tapped 'I agree' yet, as the notifier's records say (check-circle)."""
    if config.consent != "required":
        return "Consent: assumed (members are counted on without being asked to agree; see docs/organiser.md)."
    try:
        store = NotifierStore(find_database(NOTIFIER_DB, config.state_dir, config_path), read_only=True)
    except NoDatabase as exc:
        if exc.unreadable:  # as an ordinary user, /var/lib/sentinel is closed: it may well have run
            return (
                "Consent: required. Who has agreed is in the notifier's records, which this user cannot read: run"
                " check-circle as the service's user (sudo -u sentinel ...) or as root to see it."
            )
        return "Consent: required. The notifier has not run yet: every member is asked when it starts."
    except SentinelError as exc:
        return f"Consent: required. Who has agreed is in the notifier's records, which cannot be read here: {exc}"
    try:
        rows = store.consent_rows()
    finally:
        store.close()
    waiting = [
        f"{config.member(m).name} ({home.name})"
        for home in config.homes
        for m in circle_of(home)
        if (row := rows.get((home.id, m))) is None or row.agreed_at is None
    ]
    if not waiting:
        return "Consent: required. Every member has agreed."
    return (
        f"Consent: required. Not agreed yet, so not counted on in a tier: {', '.join(waiting)}."
        " `sentinel circle-health` says when each was asked."
    )


def state_dir(config: CircleConfig) -> Path:
    return Path(config.state_dir) if config.state_dir else default_state_dir()


def _notify(config: CircleConfig, store: NotifierStore) -> int:
    from sentinel.notifier.ntfy import Ntfy
    from sentinel.notifier.service import Notifier

    logs.setup(config.log_level)
    notifier = Notifier(config, store, Ntfy(config.ntfy))
    notifier.run(systemd.stop_on_signals())
    return 0


def _incidents(store: NotifierStore, alert_id: str | None, open_only: bool) -> int:
    if alert_id is None:
        rows = store.incidents(open_only)
        if not rows:
            print("No incidents.")
        for i in rows:
            state = f"closed by {i.closed_by}" if i.closed_at else (f"{i.claimed_by} going" if i.claimed_by else "OPEN")
            print(f"{i.raised_at:%Y-%m-%d %H:%M}  {i.home:12s} {i.kind:10s} {state:24s} {i.alert_id}")
        _parked(store)
        return 0
    incident = store.incident(alert_id)
    if incident is None:
        print(f"no incident {alert_id}")
        return 1
    for line in story.render(store, incident):
        print(line)
    return 0


def _parked(store: NotifierStore) -> None:
    """Messages that could not be read: kept, never retried, listed after the incidents."""
    letters = store.dead_letters()
    if not letters:
        return
    print(f"\n{len(letters)} messages could not be read (parked, not retried):")
    for d in letters:
        again = f", {d.count} times" if d.count > 1 else ""
        print(f"{d.first_seen:%Y-%m-%d %H:%M}  {d.topic}: {d.error} ({d.size:,} bytes{again})")
        print(f"    {d.payload[:120]!r}")


def _count(n: int, what: str) -> str:
    """'1 home', '3 homes'."""
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _test_notify(config: CircleConfig, wanted: list[str]) -> int:
    """One test notification to each member named (none: every member), now, and what ntfy said; the exit code."""
    from sentinel.notifier.delivery import notification
    from sentinel.notifier.messages import info_note
    from sentinel.notifier.ntfy import DeliveryError, Ntfy

    known = {m.id: m for m in config.members}
    if unknown := [w for w in wanted if w not in known]:
        print(f"sentinel: no such member: {', '.join(unknown)} (members: {', '.join(known)})", file=sys.stderr)
        return 2
    ntfy, failed = Ntfy(config.ntfy), 0
    try:
        for member in [known[w] for w in wanted] or config.members:
            text = (
                f"A test from whoever set up sentinel: if you read this, {member.name}, sentinel's notifications reach"
                " this phone. Nothing is wrong, and there is nothing to do."
            )
            body = info_note("sentinel: a test notification", text, ("white_check_mark",))
            try:
                ntfy_id = ntfy.publish(notification(member, body))
            except DeliveryError as exc:  # each on its own: one refused says nothing of the others
                failed += 1
                print(f"{member.id}: NOT sent: {exc}")
            else:
                print(f"{member.id}: sent (ntfy message {ntfy_id}): ask {member.name} whether it arrived")
    finally:
        ntfy.close()
    return 1 if failed else 0
