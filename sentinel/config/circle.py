"""The notifier's config schema: the circle, its homes, ntfy and the broker."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sentinel.config.detection import Window
from sentinel.config.model import MqttConfig
from sentinel.config.rhythm import AvailabilityConfig, DrillConfig, FollowUpConfig, HealthReportConfig
from sentinel.config.schema import Seconds, setting
from sentinel.config.values import _absolute, _between, _clock, _server, _slug

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # fullmatch: "$" passes a final line break


def _date(value: str) -> str | None:
    return None if _DATE.fullmatch(value) else f"{value!r} is not a date like '2026-12-24'"


def _topic(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        return f"{value!r} is not an ntfy topic (letters, digits, '-', '_', at most 64)"
    if len(value) < 12:
        return "is too short to be secret: anyone who guesses a topic can read it (use 12+ random characters)"
    return None


_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def _emails(value: list[str]) -> str | None:
    wrong = [e for e in value if not _EMAIL.fullmatch(e)]
    return f"{', '.join(map(repr, wrong))}: not an e-mail address like 'tom@example.org'" if wrong else None


def _phone(value: str) -> str | None:
    if re.fullmatch(r"\+?[0-9][0-9 ]{1,19}", value):
        return None
    return f"{value!r} is not a phone number like '112' or '+44 7700 900123'"


def _url(value: str) -> str | None:
    return None if re.match(r"^https?://[^\s/]+", value) else f"{value!r} is not an http(s) URL"


def _server_url(value: str) -> str | None:
    return _url(value) or _server(value)


@dataclass(frozen=True, slots=True)
class MemberConfig:
    """One person in a circle."""

    id: str = setting(doc="Short name used in acknowledgements.", check=_slug)
    name: str = setting(
        doc="How the others know them, e.g. 'Ann (next door)'.",
        empty="give how the others know them (e.g. 'Ann (next door)')",  # "Ann is going"
    )
    topic: str = setting(doc="Their private ntfy topic (a secret: 12+ random characters).", check=_topic)
    on_call: list[Window] = setting([], doc="When they can be called; none means any time.")
    quiet_hours: Window | None = setting(
        None,
        doc="When only urgent alerts (the help button) reach them. From '00:00' to '24:00' every day: only urgent"
        " alerts, at any hour; a drill or a morning question then comes at its usual time (no end to wait for).",
    )
    phone: str | None = setting(
        None,
        doc="Their phone number, e.g. '+44 7700 900123': given to the others only when they ask for a call.",
        check=_phone,
    )
    away_until: str | None = setting(
        None, doc="Not available until this date (YYYY-MM-DD), e.g. on holiday.", check=_date
    )
    daily: str | None = setting(
        None,
        doc="A short note each day at this time (HH:MM) on how each of their homes with daily_note: true is;"
        " none: no note.",
        check=_clock,
    )
    lives_at: str | None = setting(
        None,
        doc="The id of the home in this file they live at, on a street where neighbours watch each other:"
        " while that home has an open alert they are not asked to go to others'.",
        check=_slug,
    )
    # What they can do, told to the others in an alert ("Ann has a key and is 2 min away"). All optional.
    key: bool = setting(False, doc="They hold a key to the home(s) they look out for.")
    first_aid: bool = setting(False, doc="They know first aid.")
    car: bool = setting(False, doc="They have a car (to drive to hospital, or from further away).")
    minutes_away: int | None = setting(
        None, doc="How many minutes they usually need to get there.", check=_between(0, 600)
    )


@dataclass(frozen=True, slots=True)
class ResidentConfig:
    """The resident's own phone: asked 'Are you all right?' before the circle is told, and 'I'm OK today'."""

    topic: str = setting(doc="The resident's own private ntfy topic (a secret: 12+ random characters).", check=_topic)
    check_in: bool = setting(
        True,
        doc="When the monitor asks first (unusual quiet), also ask on this phone, with an 'I'm OK' button."
        " The monitor needs detection.checkin enabled (with phone: true if it has no buzzer or LED).",
    )
    daily: str | None = setting(
        None,
        doc="A gentle note each day at this time (HH:MM) with an 'I'm OK today' button; none: no note.",
        check=_clock,
    )


@dataclass(frozen=True, slots=True)
class LastResortConfig:
    """When nobody has said 'I'm going' after the final call: e-mail, and what to do in the loudest message."""

    email: list[str] = setting(
        [], doc="Addresses e-mailed through ntfy when nobody is going after the final call.", check=_emails
    )
    call: str = setting(
        "112", doc="The number the final call tells everyone to ring if they cannot reach them.", check=_phone
    )


@dataclass(frozen=True, slots=True)
class HomeCircle:
    """Who looks out for one home, and in what order."""

    id: str = setting(doc="The home's id, as in the agent's home.id.", check=_slug)
    name: str = setting(
        doc="The resident's name, as the circle says it.",
        empty="give the resident's name, as the circle says it (e.g. 'Mary')",
    )
    tiers: list[list[str]] = setting(doc="Member ids in escalation order: [[ann], [bob, carol]].")
    kit: list[str] = setting([], doc="Who is told when the monitor itself goes silent; default the first tier.")
    first_tier: Literal["as_written", "nearest"] = setting(
        "as_written",
        doc="nearest: each round of an alert starts with the one member best placed to go (a key holder first,"
        " then the fewest minutes_away), asked alone before the tiers as written (one step more per round when"
        " they share a tier); a help button press still goes to everyone at once.",
    )
    step: Seconds = setting(
        Seconds(300),
        doc="How long to wait for someone to say 'I'm going' before the next tier.",
        check=_between(30, 3600),
    )
    rounds: int = setting(
        2,
        doc="How many times to go through the tiers before the final call to everyone.",
        check=_between(1, 10),
    )
    arrive_within: Seconds = setting(
        Seconds(1800),
        doc="How long the one who said 'I'm going' may take to tap 'I'm there' (or twice their minutes_away, if"
        " longer, up to 6h): then they are asked whether they have arrived, and with no answer a step later the"
        " others are asked again, as if they could not go.",
        check=_between(300, 6 * 3600),
    )
    grace: Seconds = setting(
        Seconds(300),
        doc="Silent or offline this long means the monitor is down.",
        check=_between(60, 86400),
    )
    resident: ResidentConfig | None = setting(
        None, doc="The resident's own phone, e.g. {topic: ..., check_in: true}; none: the phone is not asked."
    )
    daily_note: bool = setting(
        False,
        doc="The resident agrees that members who ask for it (their 'daily') get a note each day on how the home"
        " is: all well or not, alerts today, the last movement reported. When the resident's monitor shares its"
        " day (share_day: true in the agent's YAML), the note also says when they got up and went out"
        " ('up at 07:40, out 10:00\u201311:30'). Never which rooms.",
    )
    last_resort: LastResortConfig | None = setting(
        None, doc="e.g. {email: [tom@example.org], call: '112'}: e-mail after the final call, and whom to ring."
    )


@dataclass(frozen=True, slots=True)
class NtfyConfig:
    """The ntfy server that carries notifications and button presses."""

    ack_topic: str = setting(
        doc="Private topic the buttons post to; the notifier keeps one subscription to it open.", check=_topic
    )
    server: str = setting(
        "https://ntfy.sh",
        doc="Your own ntfy server, or a public one. Write the address the server really answers on (`https://` if"
        " it sends `http://` on to `https://`): sentinel follows no redirect, and says which address to use instead.",
        check=_server_url,
        empty="give the ntfy server's address (e.g. https://ntfy.sh), or remove the line for https://ntfy.sh",
    )
    token_env: str | None = setting(
        None, doc="Environment variable holding an ntfy access token (tk_...); or username, not both."
    )
    username: str | None = setting(None, doc="Basic-auth user, if the server uses passwords instead of a token.")
    password_env: str | None = setting(None, doc="Environment variable holding that user's password.")
    timeout: Seconds = setting(
        Seconds(10),
        doc="Give up on one request after this long (then retry).",
        check=_between(1, 120),
    )
    incident_url: str | None = setting(
        None, doc="An incident page, opened by a tap on an alert; '{alert_id}' is filled in.", check=_url
    )


@dataclass(frozen=True, slots=True)
class CircleConfig:
    """A whole notifier configuration file."""

    ntfy: NtfyConfig = setting(doc="Push notifications.")
    members: list[MemberConfig] = setting(doc="Everyone in any circle.")
    homes: list[HomeCircle] = setting(doc="The homes this notifier serves.")
    mqtt: MqttConfig = setting(MqttConfig(), doc="The broker the agents publish to.")
    secret_env: str = setting("SENTINEL_ACK_SECRET", doc="Environment variable holding the key that signs buttons.")
    shared_group: str | None = setting(
        None, doc="Share alerts with other notifiers in this MQTT shared-subscription group.", check=_slug
    )
    watch_silence: bool = setting(True, doc="Tell the kit's keepers when a monitor goes silent.")
    state_dir: str | None = setting(
        None,
        doc="Where the notifier's database lives (a full path). Default: $STATE_DIRECTORY (/var/lib/sentinel for"
        " the systemd service), else ~/.local/state/sentinel. The notifier makes it if it is missing; it will not"
        " start unless it can write there.",
        check=_absolute,
    )
    log_level: Literal["debug", "info", "warning", "error"] = setting("info", doc="How much to log.")
    consent: Literal["required", "assumed"] = setting(
        "assumed",
        doc="required: each member is asked to tap 'I agree' and is counted on in a tier once they have;"
        " assumed: nobody is asked (everyone is counted on, as before consent was asked).",
    )
    drill: DrillConfig | None = setting(
        None, doc="A test notice to every member, e.g. {every: 30d, answer_within: 1d}; none: no drills."
    )
    health_report: HealthReportConfig | None = setting(
        None, doc="A note to each home's keepers on how its circle stands, e.g. {every: 7d}; none: no note."
    )

    availability: AvailabilityConfig | None = setting(
        None,
        doc="A note to every member now and then with 'Away until ...' and 'Back' buttons, e.g. {every: 7d};"
        " none: no note (away_until is then set here only).",
    )
    follow_up: FollowUpConfig | None = setting(
        None, doc="Ask the one who went how the resident is, e.g. {at: '09:00'}; none: nobody is asked."
    )

    def member(self, member_id: str) -> MemberConfig:
        return next(m for m in self.members if m.id == member_id)

    def home(self, home_id: str) -> HomeCircle | None:
        return next((h for h in self.homes if h.id == home_id), None)


RESIDENT = "resident:"  # a resident's slot among the members: no member id can hold ':'


def resident_id(home_id: str) -> str:
    """The member slot of a home's resident (in deliveries, buttons and the members' log)."""
    return f"{RESIDENT}{home_id}"


def check_phones(config: CircleConfig, raw: dict, errors: Any) -> None:
    """Rules across keys for the residents' phones and the daily notes (called by the circle's validation)."""
    topics = {m.topic: f"members[{i}]" for i, m in enumerate(config.members)}
    topics[config.ntfy.ack_topic] = "ntfy.ack_topic"
    for h, home in enumerate(config.homes):
        if home.resident is None:
            continue
        lines = getattr(raw["homes"][h].get("resident"), "lines", {})
        if home.resident.topic in topics:
            errors.add(
                lines.get("topic", 1), f"homes[{h}].resident.topic", f"is already used by {topics[home.resident.topic]}"
            )
        topics.setdefault(home.resident.topic, f"homes[{h}].resident")
    for i, member in enumerate(config.members):
        mine = [h for h in config.homes if member.id in {m for tier in h.tiers for m in tier} | set(h.kit)]
        if not mine:  # kept for later, perhaps; or a home's tiers are wrong, and that is its own error
            errors.warn(
                raw["members"][i].lines.get("id", 1),
                f"members[{i}]",
                "is in no home's tiers or kit: no alert reaches them",
            )
        elif member.daily and not any(h.daily_note for h in mine):
            errors.add(
                raw["members"][i].lines.get("daily", 1),
                f"members[{i}].daily",
                "none of their homes has daily_note: true (the resident must agree to a daily note)",
            )
