"""What the kit's keepers are told: a silent monitor, a lost broker, a fault the kit found, a spent ntfy quota."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sentinel.config.circle import HomeCircle
from sentinel.logs import Throttle
from sentinel.notifier import messages
from sentinel.notifier.intake import ALERT_ID
from sentinel.notifier.notification import NOTE_LIMIT, tidy
from sentinel.notifier.ntfy import DeliveryError
from sentinel.notifier.part import Part, Shared
from sentinel.notifier.silence import Change, SilenceWatch
from sentinel.notifier.store import when

log = logging.getLogger(__name__)

NOTICE_TITLES = {
    "sensor_silent": "a sensor is silent",
    "sensor_alone": "a sensor reports on its own",
    "bridge_offline": "the Zigbee bridge is offline",
    "bridge_offline_ok": "the Zigbee bridge is back",
    "device_offline": "a sensor is offline",
    "device_offline_ok": "a sensor is back",
    "battery_low": "a battery is low",
    "battery_low_ok": "a battery is fine again",
    "zigbee_setup": "zigbee2mqtt is not set up as sentinel needs",
    "zigbee_setup_ok": "zigbee2mqtt is set up right again",
    "still_away": "set to away, but someone is at home",
    "still_paused": "still paused",
}


class Keepers(Part):
    """Watches the homes' monitors and the notifier's own link, and tells each home's keepers (``kit:``)."""

    def __init__(self, shared: Shared, silence: SilenceWatch) -> None:
        super().__init__(shared)
        self.silence = silence
        started = self.clock.now()
        # The notifier's own outage is told once, after as long as the shortest grace of a home.
        self.link_notice_after = timedelta(seconds=min((h.grace for h in self.cfg.homes), default=300.0))
        # Set while the keepers have been told the broker was lost, and not yet that it is back (kept across restarts).
        lost = self.store.get_meta("broker_lost")
        self._broker_lost_told = when(lost, started) if lost else None
        self._junk = Throttle()

    def watch_silence(self, now: datetime) -> None:
        """Tell the kit's keepers when a monitor has been silent or offline past its grace, and when it is back.

        While the notifier cannot hear the broker nobody is blamed for the silence; if that lasts, every
        keeper is told once that the notifier lost the broker, and once that it hears it again.
        """
        self._watch_link(now)
        for change in self.silence.check(now):
            with self.store.transaction():
                self._silence(self.homes[change.home], change, now)

    def _watch_link(self, now: datetime) -> None:
        lost_at = self.silence.link_lost_at
        if self._broker_lost_told is None and lost_at is not None and now - lost_at >= self.link_notice_after:
            log.error("the notifier has not heard the broker since %s; telling the keepers", f"{lost_at:%H:%M}")
            with self.store.transaction():
                self.store.set_meta("broker_lost", lost_at.isoformat())
                self._tell_keepers(messages.broker_note(lost_at, now, back=False), now)
            self._broker_lost_told = lost_at
        elif self._broker_lost_told is not None and lost_at is None:
            with self.store.transaction():
                self.store.set_meta("broker_lost", "")
                self._tell_keepers(messages.broker_note(self._broker_lost_told, now, back=True), now)
            self._broker_lost_told = None

    def kit_notice(self, home_id: str, body: dict[str, Any]) -> None:
        """A kit fault the monitor found (a sensor gone silent): to the home's keepers, once per notice."""
        notice_id, text = body.get("notice_id"), body.get("text")
        text = tidy(text, NOTE_LIMIT) if isinstance(text, str) else ""  # it is logged and stored as well as sent
        if not isinstance(notice_id, str) or not ALERT_ID.match(notice_id) or not text:
            if (more := self._junk.allow()) is not None:  # a flood of them must not bury the log
                log.warning("ignored a notice from %s without a usable notice_id or text%s", home_id, more)
            return
        home, now = self.homes[home_id], self.clock.now()
        with self.store.transaction():
            if self.store.get_meta(f"notice:{notice_id}"):
                return  # a re-delivery
            self.store.set_meta(f"notice:{notice_id}", now.isoformat())
            what = NOTICE_TITLES.get(str(body.get("kind")), "the kit")
            note = messages.info_note(f"{home.name}'s monitor: {what}", text, ("wrench",))
            for member in home.kit or home.tiers[0]:
                self.store.deliver(None, home.id, member, note, now)
        log.warning("notice from %s: %s", home_id, text)
        self._wake()

    def _tell_keepers(self, note: dict[str, Any], now: datetime) -> None:
        """A notice to those who look after the kit of every home (each once)."""
        for member in dict.fromkeys(m for home in self.cfg.homes for m in (home.kit or home.tiers[0])):
            self.store.deliver(None, "", member, note, now)
        self._wake()

    def _silence(self, home: HomeCircle, change: Change, now: datetime) -> None:
        previous = self.store.home_state(home.id)
        if change.state != "unsteady":
            self.store.set_home_state(home.id, change.state, change.since)
        note = messages.silence_note(home.name, change, previous[1] if previous else None, now)
        log.warning("%s", note["message"])
        for member in home.kit or home.tiers[0]:
            self.store.deliver(None, home.id, member, note, now)
        self._wake()

    def quota_spent(self, exc: DeliveryError, until: datetime) -> None:
        """ntfy takes no more notifications today: say so loudly, on every open incident and to the keepers."""
        with self.store.transaction():
            self._quota_notice(exc, until)

    def _quota_notice(self, exc: DeliveryError, until: datetime) -> None:
        now = self.clock.now()
        log.error(
            "ntfy refuses every notification (%s); they wait until %s. A self-hosted ntfy server, or an account"
            " with a larger quota, avoids this.",
            exc,
            f"{until:%H:%M}",
        )
        for incident in self.store.incidents(open_only=True):
            self.store.step(
                incident.alert_id, now, "held", None, f"ntfy's daily quota is spent; next try {until:%H:%M}"
            )
        text = (
            f"The ntfy server refused to carry any more notifications today (its daily quota), from {now:%H:%M}."
            " Alerts were held back until it took them again. Ask whoever runs sentinel about a larger quota."
        )
        keepers = dict.fromkeys(m for home in self.cfg.homes for m in (home.kit or home.tiers[0]))
        for member in keepers:
            note = messages.info_note("sentinel could not notify you", text, ("warning",), 4)
            self.store.deliver(None, "", member, note, now)
