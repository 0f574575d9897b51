"""The resident's own phone: 'Are you all right?' while the monitor asks first, and 'I'm OK today'.

The notifier follows each home's retained status. When it becomes ``checking`` (unusual quiet; the agent
waits ``checkin.wait`` before it raises the alert), a home whose circle names the resident's topic sends
them a signed 'I'm OK' button. A press publishes the agent's own ``cmd/ok``: the check ends exactly as a
press of the button at home would end it. No answer: the agent raises the alert as always.

'I'm OK today' is a check-in the resident may make from a daily note. It also goes to the agent as
``cmd/ok`` (the agent records it as ``last_checkin``), but never while an alert is open: a note pressed hours
after it came must not close an alert raised since. Presses are checked and recorded like every other.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sentinel.config.circle import CircleConfig, HomeCircle, MemberConfig, resident_id
from sentinel.config.rhythm import DAY
from sentinel.core.protocol import MAX_OUTINGS, believable
from sentinel.notifier import messages
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.schedule import Schedule, next_at
from sentinel.notifier.store import when
from sentinel.notifier.tokens import Ack

log = logging.getLogger(__name__)

ANSWER_FOR = timedelta(hours=2)  # the check's 'I'm OK' works this long: the check, and the alert it may lead to
LATE_KINDS = ("inactivity", "not_up", "not_back")  # the alerts a check-in's silence can raise
Outing = tuple[datetime, datetime]  # left, back
@dataclass(frozen=True, slots=True)
class Seen:
    """A home's retained status, as last heard (``up`` and ``out`` only from an agent with ``share_day``)."""

    state: str
    since: datetime | None
    last_activity: datetime | None
    last_checkin: datetime | None
    at: datetime
    up: datetime | None = None
    out: tuple[Outing, ...] = ()


def residents(cfg: CircleConfig) -> list[MemberConfig]:
    """Each home's resident with a phone, as a member the deliveries can address (never in a tier)."""
    return [MemberConfig(resident_id(h.id), h.name, h.resident.topic) for h in cfg.homes if h.resident is not None]


def read_status(body: dict[str, Any], now: datetime, home: str = "") -> Seen:
    """The parts of a status the circle uses; a field that cannot be read is None."""

    def at(key: str) -> datetime | None:
        value = body.get(key)
        if not isinstance(value, str):
            return None
        found = when(value, now, f"status {key}")
        if not believable(found):
            log.warning("ignored the %r in the status of %.40s: %.40r", key, home, value)
            return None
        return found

    up, out = read_day(body, home)
    return Seen(str(body.get("state", ""))[:20], at("since"), at("last_activity"), at("last_checkin"), now, up, out)


def read_day(body: dict[str, Any], home: str) -> tuple[datetime | None, tuple[Outing, ...]]:
    """The day a home shares (``up``, ``out``); what cannot be read is ignored, said in the log, never raised."""
    up: datetime | None = None
    out: tuple[Outing, ...] = ()
    if "up" in body:
        try:
            up = _instant(body["up"])
        except (TypeError, ValueError, OverflowError) as exc:
            log.warning("ignored the 'up' in the status of %.40s (%s): %.80r", home, exc, body["up"])
    if "out" in body:
        try:
            out = _outings(body["out"])
        except (TypeError, ValueError, OverflowError) as exc:
            log.warning("ignored the 'out' in the status of %.40s (%s): %.80r", home, exc, body["out"])
    return up, out


def _outings(value: Any) -> tuple[Outing, ...]:
    if not isinstance(value, list) or len(value) > MAX_OUTINGS:
        raise ValueError(f"not a list of at most {MAX_OUTINGS} outings")
    found = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise ValueError("an outing is not [left, back]")
        left, back = _instant(item[0]), _instant(item[1])
        if back < left:
            raise ValueError("back before it left")
        found.append((left, back))
    return tuple(found)


def _instant(value: Any) -> datetime:
    """An ISO time with its UTC offset, as UTC, between ``EARLIEST`` and ``LATEST``."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("not a time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("no UTC offset")
    instant = parsed.astimezone(UTC)
    if not believable(instant):
        raise ValueError("not a time a monitor could have stamped")
    return instant


def check_id(since: datetime) -> str:
    """The alert_id slot of the 'I'm OK' button for the check that began at ``since``."""
    return f"check-{since.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def check_began(check: str) -> datetime:
    return datetime.strptime(check, "check-%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


class CheckIns(Part):
    """Asks each resident's phone and takes its answers; the caller holds the transaction."""

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self.latest: dict[str, Seen] = {}
        self.today = {
            h.id: Schedule(self.store, f"resident_today:{h.id}", h.resident.daily, DAY)
            for h in self.cfg.homes
            if h.resident is not None and h.resident.daily
        }

    def wanted(self) -> bool:
        """Whether the homes' statuses are needed at all (a phone to ask, or a daily note to write)."""
        return any(h.resident is not None or h.daily_note for h in self.cfg.homes)

    def status(self, home_id: str, body: dict[str, Any], now: datetime) -> None:
        """A home's retained status: remembered; a new check-in is asked on the resident's phone."""
        home = self.homes.get(home_id)
        if home is None:
            return
        seen = read_status(body, now, home_id)
        self.latest[home_id] = seen
        if seen.state == "checking" and home.resident is not None and home.resident.check_in:
            self._ask(home, seen.since or now, now)

    def _ask(self, home: HomeCircle, since: datetime, now: datetime) -> None:
        check = check_id(since)
        if not self.store.resident_asked(home.id, check, "check", now):
            return  # the same status again (a reconnect, a restart): asked already
        resident = self.resident(home)
        expires = int((now + ANSWER_FOR).timestamp())
        body = messages.resident_check_note(self.cfg, home, resident, check, self.secret, expires)
        self.store.deliver(None, home.id, resident.id, body, now)
        self.store.log_member(now, home.id, resident.id, "asked", check)
        log.info("%s's monitor is asking first: asking on their phone too", home.name)
        self._wake()

    def tick(self, now: datetime) -> None:
        """The residents' 'I'm OK today' notes that are due."""
        for home_id, schedule in self.today.items():
            if schedule.due(now):
                self._today(self.homes[home_id], now)

    def _today(self, home: HomeCircle, now: datetime) -> None:
        day = f"today-{now:%Y-%m-%d}"
        if not self.store.resident_asked(home.id, day, "today", now):
            return
        midnight = next_at(now, "24:00")  # 'today' means today: the button stops at midnight
        resident = self.resident(home)
        body = messages.resident_today_note(self.cfg, home, resident, day, self.secret, int(midnight.timestamp()))
        self.store.deliver(None, home.id, resident.id, body, now)
        self.store.log_member(now, home.id, resident.id, "asked", day)
        self._wake()

    def resident(self, home: HomeCircle) -> MemberConfig:
        assert home.resident is not None
        return MemberConfig(resident_id(home.id), home.name, home.resident.topic)

    def press(self, ack: Ack, now: datetime) -> str | None:
        """A genuine, unused 'I'm OK' or 'I'm OK today'; the refusal reason, or None."""
        home = self.homes.get(ack.home)
        if home is None or home.resident is None or ack.member != resident_id(home.id):
            return "not this home's resident"
        kind = "check" if ack.action == "ok" else "today"
        check = self.store.resident_check(home.id, ack.alert_id)
        if check is None or check.kind != kind:
            return "no such check-in"
        outcome = self._check(home, ack.alert_id, now) if kind == "check" else self._checked_in(home, now)
        self.store.resident_answered(home.id, ack.alert_id, now, outcome)
        log.info("%s answered on their phone (%s): %s", home.name, ack.alert_id, outcome)
        self.store.deliver(
            None, home.id, ack.member, messages.resident_thanks(home, messages.CHECK_OUTCOMES[outcome]), now
        )
        self._wake()
        return None

    def _check(self, home: HomeCircle, check: str, now: datetime) -> str:
        """'I'm OK' to 'Are you all right?': end the check, or the alert its silence raised; else nothing to do."""
        seen = self.latest.get(home.id)
        if seen is not None and seen.state == "checking" and check_id(seen.since or now) == check:
            self._ok(home, check)
            return "cancelled"
        began = check_began(check)
        open_here = [i for i in self.store.incidents(open_only=True) if i.home == home.id]
        if open_here and all(i.kind in LATE_KINDS and i.raised_at >= began for i in open_here):
            self._ok(home, check)  # a late answer: as her press at home would, it closes the alert and tells all
            return "late"
        return "ended"

    def _checked_in(self, home: HomeCircle, now: datetime) -> str:
        """'I'm OK today': a check-in at the agent too, unless an alert is open there."""
        seen = self.latest.get(home.id)
        if any(i.home == home.id for i in self.store.incidents(open_only=True)) or (seen and seen.state == "alert"):
            return "open"
        self._ok(home, f"today-{now:%Y-%m-%d}")
        return "noted"

    def _ok(self, home: HomeCircle, transaction: str) -> None:
        """The agent's own 'I'm OK' command, in the resident's name."""
        body = {"who": f"{home.name}'s phone", "transaction": transaction}
        self._publish(f"{self.cfg.mqtt.base_topic}/{home.id}/cmd/ok", json.dumps(body, ensure_ascii=False))

    def checked_in_today(self, home_id: str, now: datetime) -> datetime | None:
        """When the resident last said 'I'm OK' today, from their phone or (as the agent says) at home."""
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        times = [c.answered_at for c in self.store.resident_checks(home_id, start) if c.answered_at]
        seen = self.latest.get(home_id)
        if seen is not None and seen.last_checkin is not None:
            times.append(seen.last_checkin)
        today = [t for t in times if t >= start]
        return max(today) if today else None
