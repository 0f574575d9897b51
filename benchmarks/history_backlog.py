"""How long a backlog kept while the history database was away takes to reach it once it is back.

Needs Debian's victoria-metrics. 20,000 points (some weeks of a busy kit's hourly counts) wait in a real
SQLite store; the agent's writer reads them a batch at a time, sends each to a real VictoriaMetrics on a
connection and a thread of its own within ``history.timeout``, and deletes what was taken. Baseline, in
the same run: the same batches in plain HTTP POSTs on one kept connection, without the store.
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine, table
from history_memory import victoria

sys.path.insert(0, str(ROOT))

from sentinel.agent.history_http import writer
from sentinel.agent.history_writer import PointWriter
from sentinel.clock import SystemClock
from sentinel.config.model import HistoryConfig
from sentinel.store import Store

POINTS, BATCH, RUNS = 20_000, 1000, 3


def lines(run: int) -> list[str]:
    """POINTS distinct points, an hour apart, as the agent writes them."""
    start = 1_772_442_000_000
    return [
        f"sentinel_activity,home=bench{run},room=hall count={i % 7}i {start + i * 3_600_000}" for i in range(POINTS)
    ]


def through_writer(url: str, run: int, work: Path) -> float:
    """Seconds for the agent's writer to send the backlog kept in its store, a batch at a time."""
    config = HistoryConfig(enabled=True, url=url)
    store = Store(work / f"agent{run}.db")
    store.add_points([(line, int(line.rsplit(" ", 1)[1])) for line in lines(run)])
    points = PointWriter(config, store, SystemClock(), keep_days=90)
    write = writer(config)
    started = time.perf_counter()
    done = points._send(write)  # what the sending thread does once the database is back
    took = time.perf_counter() - started
    assert done and points.written == POINTS and not store.waiting_points(1), (done, points.written)
    store.close()
    return took


def plain(url: str, run: int) -> float:
    """Seconds for the same batches in plain POSTs on one kept connection."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    points = lines(run + 100)
    started = time.perf_counter()
    for i in range(0, POINTS, BATCH):
        connection.request("POST", "/api/v2/write?precision=ms", body="\n".join(points[i : i + BATCH]).encode())
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 204, answer.status
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        proc, url = victoria(Path(work))
        try:
            writer_s, plain_s = [], []
            for run in range(RUNS):  # interleaved, so that the machine's state is shared alike
                writer_s.append(through_writer(url, run, Path(work)))
                plain_s.append(plain(url, run))
        finally:
            proc.terminate()
            proc.wait(10)
    print(machine())
    print()
    print(f"{POINTS:,} points in batches of {BATCH:,}, {RUNS} runs")
    rows = [
        [
            "the agent's writer: from SQLite, a connection and a thread a write",
            f"{statistics.median(writer_s):.2f} s",
            f"{min(writer_s):.2f}-{max(writer_s):.2f} s",
        ],
        [
            "baseline: plain POSTs on one connection",
            f"{statistics.median(plain_s):.2f} s",
            f"{min(plain_s):.2f}-{max(plain_s):.2f} s",
        ],
    ]
    print(table(["sending the backlog", "median", "range"], rows))


if __name__ == "__main__":
    main()
