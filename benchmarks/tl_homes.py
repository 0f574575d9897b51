"""Convert homes kept as start/length/id files into the event CSV, to measure detection on homes never tuned on.

Run from the repository root: ``python benchmarks/tl_homes.py SOURCE_DIR OUT_DIR``, then
``python benchmarks/detection.py OUT_DIR``. SOURCE_DIR holds ``houseB.sensors`` and ``houseB.sensor_names`` (and
so on): van Kasteren's houses B and C and the two MIT homes of Tapia et al. (2004), as they are commonly passed
around in this form. Each line of a ``.sensors`` file is an event: its start (seconds since 1970, read as the
home's clock), how long the sensor stayed on (seconds) and the sensor's id; each event becomes two rows, on and
off (the front door's the other way round where its events are the door shut). Nothing here is shipped or copied
into the project; the homes stay where they were downloaded.
"""

from __future__ import annotations

import itertools
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

# Which sensor is the front door, by home. House B's door is the sensor with id 4, which its names file leaves out:
# its rows are the ones followed by outings of hours (12 quiet spells over 3 h in 27 days); the id the names file
# calls the front door has no events at all. The MIT homes name no front door: the foyer's door in one, the
# hallway's in the other, the doors after which those homes go quiet for hours.
ENTRANCE = {"houseB": "4", "houseC": "front door reed", "houseD": "Foyer,Door", "houseE": "Hallway,Door"}
DEVELOPED_ON = {"houseA"}  # van Kasteren's house A is kasteren_a, one of the development homes: left out


def kind_of(name: str) -> str:
    """The event CSV's kind for a sensor, from the words of its name."""
    low = name.lower()
    if "pir" in low:
        return "motion"
    if "press" in low or "mat" in low:
        return "pressure"
    if "flush" in low:
        return "flush"
    return "contact"


def convert(sensors: Path, out: Path) -> int:
    """Write one home's event CSV; the number of rows."""
    home = sensors.stem
    names_file = sensors.with_suffix(".sensor_names")
    names: dict[str, str] = {}
    if names_file.exists():
        for line in names_file.read_text(encoding="latin-1").splitlines():
            if line.strip():
                code, name = line.split("\t", 1)
                names[code.strip()] = name.strip()
    rows = []
    for line in sensors.read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        start, length, code = line.split()[:3]
        name = names.get(code, "")
        sensor = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or f"sensor_{code}"
        kind = "door" if ENTRANCE.get(home) in (name, code) else kind_of(name)
        room = {"door": "entrance", "flush": "bathroom"}.get(kind, "")
        at = int(start)
        rows += [(at, sensor, kind, 1, room), (at + max(int(float(length)), 1), sensor, kind, 0, room)]
    rows.sort()
    door = [(at, value) for at, _, kind, value, _ in rows if kind == "door"]
    opened = sorted(b - a for (a, va), (b, vb) in itertools.pairwise(door) if va == 1 and vb == 0)
    shut = sorted(b - a for (a, va), (b, vb) in itertools.pairwise(door) if va == 0 and vb == 1)
    if opened and shut and opened[len(opened) // 2] > shut[len(shut) // 2]:
        # A front door is open for seconds and shut for hours. Where its events last hours (house C, 51 minutes at
        # the median against seconds between them), the home recorded the reed closed: open is the other way.
        rows = sorted((at, s, k, 1 - v if k == "door" else v, r) for at, s, k, v, r in rows)
    with out.open("w") as f:
        f.write("timestamp,sensor,kind,value,room\n")
        for at, sensor, kind, value, room in rows:
            stamp = datetime.fromtimestamp(at, UTC).replace(tzinfo=None).isoformat()
            f.write(f"{stamp},{sensor},{kind},{value},{room}\n")
    return len(rows)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/tl_homes.py SOURCE_DIR OUT_DIR")
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    for sensors in sorted(source.glob("*.sensors")):
        if sensors.stem in DEVELOPED_ON:
            continue
        out = target / f"{sensors.stem}.csv"
        print(f"{out}: {convert(sensors, out)} rows")


if __name__ == "__main__":
    main()
