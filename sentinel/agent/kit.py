"""The kit's faults the keepers hear of: a sensor silent, or reporting alone, far beyond its usual; a Zigbee fault.

Each check returns the notices to send, as values; the agent sends them through its outbox. A fault is
told once, and again only after it was right in between, so a restart or a flapping battery is not news.
The Zigbee faults told are kept in the agent's settings: after a restart, one still there is not told
again, and one that ended meanwhile is told as ended when the bridge or the device next reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sentinel.agent.zigbee import Fault
from sentinel.config.model import HomeConfig
from sentinel.core.protocol import MAX_ID, Notice

if TYPE_CHECKING:
    from sentinel.agent.journal import Journal
    from sentinel.detect.watch import Watch

FAULTS_TOLD = "kit_faults"  # the setting: the keys of the Zigbee faults the keepers were told of, as a JSON list
OFFLINE_GRACE_S = 300.0
"""zigbee2mqtt restarting (an update, a changed setting) is offline for seconds: the keepers hear of the bridge or a
device offline only once it has been so this long (the watch takes it into account at once)."""
LASTING = ("bridge_offline", "device_offline")  # the faults told only once they last


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


class Kit:
    """What the keepers have been told of the kit, and what they should be told now."""

    def __init__(self, home: HomeConfig, journal: Journal | None = None, zigbee: Iterable[str] = ()) -> None:
        """``journal``: where the faults told are kept across restarts; ``zigbee``: the Zigbee sensors' names."""
        self.home = home
        self.journal = journal
        self.zigbee = frozenset(zigbee)  # the sensors whose silence says nothing while the bridge is offline
        self.told_silent: set[str] = set()  # sensors the keepers were told are silent, until they report again
        self.faults = self._told_before(self.zigbee)  # zigbee faults the keepers were told of, until right again
        self.pending: dict[str, tuple[Fault, datetime]] = {}  # offline, not told yet: since when
        self.told_alone: datetime | None = None  # the start of the last run the keepers were told was not the resident

    def _told_before(self, zigbee: frozenset[str]) -> set[str]:
        """The Zigbee faults told before the last restart, of the sensors still set up (nothing else could end them)."""
        stored = self.journal.get_setting(FAULTS_TOLD) if self.journal is not None else None
        try:
            keys = json.loads(stored) if stored else []
        except ValueError:
            keys = []
        if not isinstance(keys, list):
            return set()
        return {k for k in keys if isinstance(k, str) and _still_set_up(k, zigbee)}

    def keep_faults(self) -> None:
        """Store the faults told, after their notice is queued: a kill in between tells one twice, never loses it."""
        if self.journal is not None:
            self.journal.set_setting(FAULTS_TOLD, json.dumps(sorted(self.faults)))

    @property
    def down(self) -> set[str]:
        """The bridge and devices offline now, told (``faults``) or not yet (``pending``)."""
        return {k for k in (*self.faults, *self.pending) if k == "bridge" or k.startswith("device:")}

    @property
    def bridge_down(self) -> bool:
        """The Zigbee bridge is offline: its sensors cannot report, so their silence says nothing."""
        return "bridge" in self.faults or "bridge" in self.pending

    def silent(self, watch: Watch, wall: datetime) -> list[Notice]:
        """A notice for each sensor newly silent far beyond its usual gaps (a dead battery, a loose wire)."""
        from sentinel.detect.explain import duration  # with the routine: only where detection is on
        from sentinel.detect.watch import aware

        self.told_silent &= set(watch.detector.silent)  # those that reported again may be told of again
        notices = []
        for found in watch.detector.silent_sensors(aware(wall)):
            if found.sensor in self.told_silent:
                continue
            self.told_silent.add(found.sensor)
            last = wall - timedelta(seconds=found.silent_for)
            room = watch.places[found.sensor].room if found.sensor in watch.places else None
            where = f"the {room} sensor ({found.sensor})" if room else f"the sensor {found.sensor}"
            text = (
                f"{where[0].upper()}{where[1:]} has sent nothing since {last:%a %H:%M} ({duration(found.silent_for)}),"
                f" while {self.home.name} was seen going from one of the other sensors to another"
                f" {found.others_since} times; before, never more than {found.usual_max_others} times between two"
                " of its signs. Check its battery"
                " and wiring. Until it reports again, sentinel does not count on it."
            )
            # Its id names the sensor and its last sign: the same silence is the same notice after a restart.
            notice_id = f"{self.home.id}-silent-{found.sensor}-{last:%Y%m%dT%H%M}"
            notices.append(Notice(notice_id, self.home.id, "sensor_silent", text, iso(wall), found.sensor))
        return notices

    def alone(self, watch: Watch, wall: datetime) -> list[Notice]:
        """A notice when a sensor is found reporting alone far beyond its usual runs (it sees something else)."""
        from sentinel.detect.explain import alone_words, duration  # with the routine: only where detection is on

        run = watch.detector.run
        if not run.alone or run.sensor is None or run.since is None or run.since == self.told_alone:
            return []
        self.told_alone = run.since
        # The runs it was judged by: those before the fault, if it was found before (``silent.Run.faulty``).
        usual = run.faulty[run.sensor][0] if run.sensor in run.faulty else watch.detector.usual.get(run.sensor)
        most, longest = (usual.max_alone, usual.max_alone_s) if usual is not None else (0, 0.0)
        did = alone_words(watch.places.get(run.sensor), run.sensor, run.signs, run.since, wall)
        name = self.home.name
        text = (  # both, as the rule judges both: far more reports in a row, and for far longer
            f"{did}; before, it never did more than {most} times in a row, nor for longer than {duration(longest)}."
            f" It may be seeing something other than"
            f" {name}: a heater, a lamp, curtains in a draught, a pet. Check where it points. Until another sensor"
            f" notices {name}, its reports do not hide a quiet spell."
        )
        # Its id names the sensor and the start of its run: the same run is the same notice after a restart.
        notice_id = f"{self.home.id}-alone-{run.sensor}-{run.since:%Y%m%dT%H%M}"
        return [Notice(notice_id, self.home.id, "sensor_alone", text, iso(wall), run.sensor)]

    def fault(self, fault: Fault, wall: datetime) -> Notice | None:
        """A Zigbee fault, or its end, if the keepers have not heard it yet (offline: ``due`` tells it, if it lasts)."""
        if fault.kind in LASTING:
            if not fault.ok:
                if fault.key not in self.faults:
                    self.pending.setdefault(fault.key, (fault, wall))
                return None
            self.pending.pop(fault.key, None)  # back within the grace: nothing to tell
        if fault.ok and fault.key in self.faults:
            self.faults.discard(fault.key)
            kind = f"{fault.kind}_ok"
        elif not fault.ok and fault.key not in self.faults:
            self.faults.add(fault.key)
            kind = fault.kind
        else:
            return None
        return self._notice(fault, kind, wall, wall)

    def due(self, wall: datetime) -> list[Notice]:
        """The bridge or devices offline for ``OFFLINE_GRACE_S`` now, not told yet: to tell."""
        lasted = [k for k, (_, since) in self.pending.items() if wall - since >= timedelta(seconds=OFFLINE_GRACE_S)]
        notices = []
        for key in lasted:
            fault, since = self.pending.pop(key)
            self.faults.add(key)
            notices.append(self._notice(fault, fault.kind, since, wall))
        return notices

    def _notice(self, fault: Fault, kind: str, since: datetime, wall: datetime) -> Notice:
        # As short as the notifier takes an id (``MAX_ID``): a long home id and sensor name must not lose the notice.
        stamp = f"{since:%Y%m%dT%H%M%S}"
        room = MAX_ID - len(f"{self.home.id}-{kind}--{stamp}")
        slug = re.sub(r"[^A-Za-z0-9_.:-]+", "-", fault.key)[: max(1, room)]
        notice_id = f"{self.home.id}-{kind}-{slug}-{stamp}"
        return Notice(notice_id, self.home.id, kind, fault.text, iso(wall))


def _still_set_up(key: str, zigbee: frozenset[str]) -> bool:
    """Whether a fault (``zigbee.Fault.key``: "bridge", "output", "<what>:<sensor>") can still end."""
    sensor = key.partition(":")[2]
    return sensor in zigbee if sensor else key in ("bridge", "output") and bool(zigbee)
