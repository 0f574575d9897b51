"""A monitor left away or paused: reminders to the keepers, since only the help button raises an alert then.

Away and paused end only when someone sets the monitor back to home. A holiday that ended, or work on the kit
that was finished, without that, would leave the resident unwatched for as long as nobody noticed. So the
keepers are told (pure: the notices are returned as values, the agent sends them):

- away, when someone is seen at home (``BACK_AFTER_S`` after it was set, so not the packing): the resident may
  be back; again at most once a day, each time someone is seen again (a neighbour watering the plants once is
  told once, not every day of a fortnight away);
- paused, a day after it was set, and every day after that.

Each notice's id names the mode, when it was set and the day, so a restart tells nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sentinel.core.protocol import Notice

BACK_AFTER_S = 3600.0  # movement within the hour after "away" was set is the leaving, not a return
AGAIN_S = 86400.0  # a reminder a day while it lasts: the keepers may be away themselves


@dataclass(slots=True)
class ModeWatch:
    """When the mode was set, the first sign of someone at home not yet told, and when the keepers were last told."""

    mode: str
    since: datetime
    seen: datetime | None = None
    told: datetime | None = None

    def activity(self, at: datetime) -> None:
        """A sign of life while away (the first not yet told is kept)."""
        if self.mode == "away" and self.seen is None and at >= self.since + timedelta(seconds=BACK_AFTER_S):
            self.seen = at

    def due(self, home_id: str, name: str, now: datetime) -> Notice | None:
        """The reminder due now, if any (it is then counted as told)."""
        if self.told is not None and now < self.told + timedelta(seconds=AGAIN_S):
            return None
        set_at = f"{self.since:%a %d %b %H:%M}"
        if self.mode == "away" and self.seen is not None and now >= self.seen:
            text = (
                f"{name}'s monitor was set to away on {set_at}, but someone has been at home since"
                f" {self.seen:%a %H:%M}. If {name} is back, set it to home: until then only the help button"
                " raises an alert."
            )
            notice_id = f"{home_id}-away-{self.since:%Y%m%dT%H%M}-{self.seen:%Y%m%dT%H%M}"
            self.seen = None  # told: the next reminder needs someone seen again
        elif self.mode == "paused" and now >= self.since + timedelta(seconds=AGAIN_S):
            days = int((now - self.since).total_seconds() // AGAIN_S)
            text = (
                f"{name}'s monitor has been paused since {set_at}: only the help button raises an alert. Set it to"
                " home when the work on the kit is done."
            )
            notice_id = f"{home_id}-paused-{self.since:%Y%m%dT%H%M}-{days}"
        else:
            return None
        self.told = now
        return Notice(notice_id, home_id, f"still_{self.mode}", text, now.isoformat(timespec="seconds"))
