"""Learning in a process of its own: the summary decides as the learned model does; failures never stop the agent."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from conftest import ROOT, Mosquitto, gated_learning, modules_loaded, wait_for
from sentinel.agent.app import Agent
from sentinel.agent.learner import command
from sentinel.agent.learning import LEARN_RETRY_S, ROUTINE
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.core.events import Event, Row
from sentinel.demo.resident import Resident
from sentinel.detect.contexts import context_of
from sentinel.detect.detector import InactivityDetector
from sentinel.detect.learn import learn
from sentinel.detect.lines import BINS, DAY_S, Params, Warmup
from sentinel.detect.summary import Request, Summary
from sentinel.detect.tracker import Tracker
from sentinel.giveway import give_way
from sentinel.store import Store

START = datetime(2026, 1, 5)
PARAMS = Params(window_days=28.0)
WARMUP = Warmup(min_days=7.0)


def history(days: int, dead_after: int | None = None) -> list[Row]:
    """Days of a resident's life with outings; the bathroom sensor dies after ``dead_after`` days."""
    rows = Resident(seed=5, outing_chance=1.0).days(START, days)
    if dead_after is not None:
        dead = START + timedelta(days=dead_after)
        rows = [r for r in rows if not (r.sensor == "bathroom_pir" and r.at >= dead)]
    return [Row(r.at.replace(tzinfo=UTC), r.sensor, r.kind, r.value, r.room) for r in rows]


def round_trip(summary: Summary) -> Summary:
    """The summary as the agent gets it: printed by the learning process, read back."""
    return Summary.loads(summary.dumps())


def same_lines(model_a, model_b) -> None:
    """Every line, limit and reason-figure of two models agrees, for every place, half hour and day of the week."""
    contexts = [*sorted(set(model_a.lines) | set(model_a.weekend_lines)), "never_seen", "front_door:1"]
    for day in range(7):
        for b in range(BINS):
            at = START + timedelta(days=day, seconds=(b + 0.5) * DAY_S / BINS)
            for context in contexts:
                assert model_a.line(context, at) == model_b.line(context, at), (context, at)
                assert model_a.limit(context, at) == model_b.limit(context, at), (context, at)
                assert model_a.in_night(at) == model_b.in_night(at)
    for context, longest in model_a.longest.items():
        assert list(longest) == list(model_b.longest[context])
    assert (model_a.days, model_a.price, model_a.night) == (model_b.days, model_b.price, model_b.night)


@pytest.mark.parametrize("not_back", [False, True])
def test_the_summary_decides_as_the_learned_model_does_at_every_sign_of_life(not_back: bool) -> None:
    # Ten weeks with daily outings; a sensor dies in the eighth, so the routine is also refitted without it.
    learner = InactivityDetector(PARAMS, WARMUP, not_back)  # numpy: learns and refits in place
    tracker = Tracker(PARAMS, WARMUP, not_back)  # the agent's: plain Python, fed the summaries
    refits = silent_refits = 0
    for row in history(70, dead_after=50):
        if not row.is_activity:
            continue
        context = context_of(row.sensor, row.kind, row.value)
        silent_before = set(learner.silent)
        learner.activity(row.at, context, row.kind == "door")
        tracker.activity(row.at, context, row.kind == "door")
        if tracker.wanted is not None:
            assert learner._fitted_on == tracker.wanted.date()  # refitted on the same sign of life
            summary = Summary(row.at, learner._fitted_on, learner.model, learner.outing_model, learner.usual)
            got = round_trip(summary)
            tracker.adopt(got.model, got.outing_model, got.usual, got.fitted_on)
            tracker.wanted = None
            refits += 1
            silent_refits += learner.silent != silent_before
        assert tracker.line_s() == learner.line_s()
        assert tracker.limit() == learner.limit()
        assert tracker.alert_at() == learner.alert_at()
        assert tracker.silent == learner.silent
    assert refits >= 63 and silent_refits >= 1
    assert learner.silent == {"bathroom_pir"}
    assert learner.model is not None and tracker.model is not None
    same_lines(learner.model, tracker.model)
    if not_back:
        assert learner.outing_model is not None and tracker.outing_model is not None
        same_lines(learner.outing_model, tracker.outing_model)


def events_of(rows: list[Row]) -> list[Event]:
    return [Event(r.sensor, r.kind, r.value, r.room, r.at, 0.0) for r in rows]


def test_the_learning_process_learns_from_the_store_what_the_detector_learned_online() -> None:
    rows = history(40)
    online = InactivityDetector(PARAMS, WARMUP)
    for row in rows:
        online.observe(row)
    now = rows[-1].at
    assert online.model is not None
    hint = online.model.price  # the routine in use's: the agent asks for today's near it, as the detector does
    online.refit(now)
    since = now - timedelta(days=PARAMS.window_days)
    stored = [e for e in events_of(rows) if e.wall >= since]  # the window a learning process reads
    summary = round_trip(learn(stored, [], Request(now, PARAMS, WARMUP, price_hint=hint)))
    assert summary.model is not None and online.model is not None
    same_lines(online.model, summary.model)
    assert summary.usual == online.usual
    # Where the spell stood at the last event: a tracker restored from it says what the detector says.
    tracker = Tracker(PARAMS, WARMUP)
    from sentinel.detect.state import restore

    assert summary.state is not None
    restore(tracker, summary.state)
    tracker.adopt(summary.model, summary.outing_model, summary.usual, summary.fitted_on)
    assert tracker.line_s() == online.line_s() and tracker.limit() == online.limit()
    assert summary.last == stored[-1] if stored[-1].is_activity else summary.last is not None


def test_a_state_stored_before_kinds_were_left_unjudged_is_restored() -> None:
    """The stored routine named only the door's sensors as unjudged ("door_sensors"); it still loads as it was."""
    from sentinel.detect.state import restore, state_of

    rows = history(10)
    online = InactivityDetector(PARAMS, WARMUP)
    for row in rows:
        online.observe(row)
    state = state_of(online)
    assert state["unjudged"] == ["front_door"]
    old = {("door_sensors" if key == "unjudged" else key): value for key, value in state.items()}
    tracker = Tracker(PARAMS, WARMUP)
    restore(tracker, old)
    assert state_of(tracker) == state


def test_a_state_stored_when_signs_were_counted_counts_moves_afresh() -> None:
    """Counts of signs and of moves do not mix: a silence is judged from the restore on (later, never sooner)."""
    from sentinel.detect.state import restore, state_of

    online = InactivityDetector(PARAMS, WARMUP)
    for row in history(10):
        online.observe(row)
    state = state_of(online)
    assert state["moves"] > 0 and "signs" not in state
    old = {("signs" if key == "moves" else key): value for key, value in state.items() if key != "moved_from"}
    tracker = Tracker(PARAMS, WARMUP)
    restore(tracker, old)
    again = state_of(tracker)
    assert again["moves"] == 0 and {count for count, _ in again["last_sign"].values()} == {0}
    assert {name: at for name, (_, at) in again["last_sign"].items()} == {
        name: at for name, (_, at) in state["last_sign"].items()
    }


def test_the_summary_does_not_grow_with_history() -> None:
    sizes = []
    for days in (30, 60, 90):
        rows = history(days)
        now = rows[-1].at
        sizes.append(len(learn(events_of(rows), [], Request(now, Params(), WARMUP)).dumps()))
    assert max(sizes) < 80_000
    assert max(sizes) - min(sizes) < 0.05 * max(sizes)  # the same places: the same size, however long the history


def test_a_damaged_summary_is_refused_with_a_reason() -> None:
    rows = history(10)
    good = learn(events_of(rows), [], Request(rows[-1].at, PARAMS, WARMUP)).dumps()
    for bad in ("", "not json", "{}", good.replace('"version":1', '"version":9'), good[: len(good) // 2]):
        with pytest.raises(ValueError):
            Summary.loads(bad)
    with pytest.raises(ValueError, match="a line per half hour"):
        Summary.loads(good.replace("[", "[1.0,", 3).replace('"lines":{', '"lines":{"x":[1.0],', 1))


# The agent with a learning process that can be held back, killed or made to fail.

CRASHES = "import os; os._exit(3)"
NOW = datetime(2026, 1, 17, 9, 0).astimezone()


def config_yaml(port: int) -> str:
    return f"""\
home: {{id: mary, name: Mary}}
gpio: {{pin_factory: mock}}
mqtt: {{host: 127.0.0.1, port: {port}}}
sensors:
  - {{name: kitchen_pir, kind: motion, pin: 13, room: kitchen}}
  - {{name: living_pir, kind: motion, pin: 19, room: living room}}
  - {{name: bedroom_pir, kind: motion, pin: 5, room: bedroom}}
  - {{name: bathroom_pir, kind: motion, pin: 6, room: bathroom}}
  - {{name: front_door, kind: door, pin: 26, room: hall}}
  - {{name: help_button, kind: button, pin: 21, room: living room, long_press: 0.5s}}
"""


class Kit:
    """An agent over twelve stored days, its learning process started by ``argv`` (the real one by default)."""

    def __init__(self, tmp_path: Path, port: int, argv: list[str] | None = None, timeout: float | None = None) -> None:
        self.store = Store(tmp_path / "agent.db")
        if not any(True for _ in self.store.events()):
            for row in Resident(seed=21).days(START, 12):
                self.store.add_event(Event(row.sensor, row.kind, row.value, row.room, row.at.astimezone(), 0.0))
        self.clock = ManualClock(NOW)
        self.factory = MockFactory()
        self.agent = Agent(parse_config(config_yaml(port)), self.store, self.clock, self.factory)
        learner = self.agent.learner
        assert learner is not None
        if argv is not None:
            learner.argv = argv
        if timeout is not None:
            learner.timeout = timeout
        self.agent.start()

    def pump_until(self, condition, what: str, timeout: float = 30):
        return wait_for(lambda: (self.agent.pump(), condition())[1], timeout, what)

    def up_and_about(self) -> None:
        """Kitchen, living room, bedroom: after a quiet past its line (a day without a sign), one is a stray."""
        for pin in (self.factory.pin(13), self.factory.pin(19), self.factory.pin(5)):
            pin.drive_high()
            self.agent.pump()
            pin.drive_low()
            self.agent.pump()

    def press_for_help(self) -> None:
        pin = self.factory.pin(21)
        pin.drive_low()
        self.agent.pump()
        self.clock.advance(0.6)
        self.agent.pump()
        pin.drive_high()
        self.agent.pump()
        self.pump_until(lambda: self.store.open_alerts("mary"), "the help alert", 10)

    def close(self) -> None:
        self.agent.close()
        self.store.close()


@pytest.fixture
def kits(tmp_path: Path, broker: Mosquitto) -> Iterator:
    made: list[Kit] = []

    def make(**kwargs) -> Kit:
        made.append(Kit(tmp_path, broker.port, **kwargs))
        return made[-1]

    yield make
    for kit in made:
        kit.close()


def test_a_learning_process_killed_leaves_the_agent_watching_and_is_tried_again(kits, tmp_path, caplog) -> None:
    gate = tmp_path / "gate"
    kit = kits(argv=gated_learning(gate))
    learner = kit.agent.learner
    proc = kit.pump_until(lambda: learner.proc, "the learning process")
    os.kill(proc.pid, signal.SIGKILL)
    kit.pump_until(lambda: kit.agent.routine_ready, "the agent to hear of it")
    assert any("learning the routine failed (it ended with exit status -9)" in r.getMessage() for r in caplog.records)
    assert kit.agent.status == "learning" and not learner.running and learner.started == 1
    kit.press_for_help()  # the help path never depended on it
    gate.touch()
    kit.clock.advance(LEARN_RETRY_S[0] - 1)
    kit.agent.pump()
    assert learner.started == 1  # not before its time
    kit.clock.advance(1)
    kit.pump_until(lambda: kit.agent.routine_as_of is not None, "the routine learned at the second try")
    assert learner.started == 2 and kit.agent.watch is not None and not kit.agent.watch.learning
    assert kit.store.get_setting(ROUTINE) is not None


def test_a_learning_process_that_cannot_be_started_is_tried_again(kits, tmp_path, caplog) -> None:
    """No process to be had (on a Pi short of memory fork fails): a failure like any other, tried again later."""
    kit = kits(argv=[str(tmp_path / "no-such-program")])
    learner, learning = kit.agent.learner, kit.agent.learning
    assert learner is not None and learning is not None
    kit.pump_until(lambda: kit.agent.routine_ready, "the agent to hear of it")
    assert any("it could not be started (FileNotFoundError" in r.getMessage() for r in caplog.records)
    assert learner.started == 0 and not learner.running and kit.agent.status == "learning"
    assert learning.meanwhile is None  # movement is no longer held in memory for a routine that is not coming
    kit.press_for_help()
    learner.argv = command()
    kit.clock.advance(LEARN_RETRY_S[0] - 1)
    kit.agent.pump()
    assert learner.started == 0  # not before its time
    kit.clock.advance(1)
    kit.pump_until(lambda: kit.agent.routine_as_of is not None, "the routine learned at the second try")
    watch = kit.agent.watch
    assert learner.started == 1 and watch is not None and not watch.learning

    # The next day's refit cannot be started either: the routine in use goes on, and the refit is tried again.
    learned_as_of = kit.agent.routine_as_of
    learner.argv = [str(tmp_path / "no-such-program")]
    kit.clock.advance(86400)  # its first sign of life asks for a refit
    kit.up_and_about()
    kit.pump_until(lambda: learning.next_learn is not None, "the failed refit")
    assert learner.started == 1 and kit.agent.routine_as_of == learned_as_of and kit.agent.watch is watch
    learner.argv = command()
    kit.clock.advance(LEARN_RETRY_S[0])
    kit.pump_until(lambda: kit.agent.routine_as_of != learned_as_of, "the refit at the second try")
    assert learner.started == 2 and learning.next_learn is None and not kit.agent.watch.learning


def test_a_learning_process_killed_for_memory_leaves_the_stored_routine_watching(kits, tmp_path, caplog) -> None:
    """The kernel's out-of-memory killer (SIGKILL) at a restart: the routine last learned watches, then relearned."""
    first = kits()
    first.pump_until(lambda: first.agent.routine_as_of is not None, "the routine")
    first.agent.journal.flush()
    first.close()
    gate = tmp_path / "gate"
    second = kits(argv=gated_learning(gate))
    learner = second.agent.learner
    assert learner is not None
    proc = second.pump_until(lambda: learner.proc, "the learning process")
    os.kill(proc.pid, signal.SIGKILL)
    second.pump_until(lambda: second.agent.routine_ready, "the agent to hear of it")
    assert any("exit status -9" in r.getMessage() and "routine last learned" in r.getMessage() for r in caplog.records)
    assert second.agent.status == "ok" and second.agent.watch is not None and not second.agent.watch.learning
    second.press_for_help()
    gate.touch()
    second.clock.advance(LEARN_RETRY_S[0])
    second.pump_until(lambda: second.agent.routine_as_of is not None, "the routine relearned at the second try")
    assert learner.started == 2 and second.agent.watch is not None and not second.agent.watch.learning


LEARN_AND_SAY_SCORE = """import sys
from sentinel.agent.learn_process import main
code = main(sys.argv[1:])
sys.stderr.write(open("/proc/self/oom_score_adj").read())
sys.exit(code)
"""


def test_the_learning_process_asks_to_go_first_when_memory_runs_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    for row in Resident(seed=21).days(START, 12):
        store.add_event(Event(row.sensor, row.kind, row.value, row.room, row.at.astimezone(), 0.0))
    store.close()
    request = Request(NOW, PARAMS, WARMUP)
    done = subprocess.run(
        [sys.executable, "-c", LEARN_AND_SAY_SCORE, str(tmp_path / "agent.db"), request.dumps()],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert Summary.loads(done.stdout).model is not None  # it learned, as the most willing victim (1000)
    assert done.stderr.strip() == "1000"
    assert Path("/proc/self/oom_score_adj").read_text().strip() != "1000"  # the agent's side is left as it was


def test_no_out_of_memory_score_to_set_is_no_reason_to_stop(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="sentinel.giveway"):
        give_way(tmp_path / "no-proc" / "oom_score_adj", niceness=0)  # as on a system without /proc
    assert any("could not raise" in r.getMessage() for r in caplog.records)


def test_a_learning_process_that_hangs_is_stopped(kits, tmp_path, caplog) -> None:
    kit = kits(argv=gated_learning(tmp_path / "never"), timeout=0.5)
    learner = kit.agent.learner
    proc = kit.pump_until(lambda: learner.proc, "the learning process")
    kit.pump_until(lambda: kit.agent.routine_ready, "the hung process to be given up")
    assert proc.returncode == -signal.SIGKILL  # stopped, and reaped
    assert any("took longer than 0.5 s and was stopped" in r.getMessage() for r in caplog.records)
    assert kit.agent.status == "learning"
    kit.press_for_help()
    # Tried again after the wait, and again after twice the wait.
    kit.clock.advance(LEARN_RETRY_S[0])
    kit.pump_until(lambda: learner.started == 2, "a second try")
    kit.pump_until(lambda: not learner.running and not kit.agent.queue.qsize(), "the second to be given up")
    kit.agent.pump()
    kit.clock.advance(LEARN_RETRY_S[0])
    kit.agent.pump()
    assert learner.started == 2
    kit.clock.advance(LEARN_RETRY_S[0])
    kit.pump_until(lambda: learner.started == 3, "a third try")


def test_a_failed_relearn_watches_on_the_routine_last_stored(kits, tmp_path, broker, caplog) -> None:
    first = kits()
    first.pump_until(lambda: first.agent.routine_as_of is not None, "the routine")
    first.agent.journal.flush()
    first.close()
    second = kits(argv=[sys.executable, "-c", CRASHES])
    second.pump_until(lambda: second.agent.routine_ready, "the failed relearn")
    assert second.agent.watch is not None and not second.agent.watch.learning
    assert second.agent.status == "ok"
    assert any("watching on the routine last learned" in r.getMessage() for r in caplog.records)


def test_a_damaged_stored_routine_is_relearned(kits, tmp_path, caplog) -> None:
    first = kits()
    first.pump_until(lambda: first.agent.routine_as_of is not None, "the routine")
    first.close()
    store = Store(tmp_path / "agent.db")
    store.set_setting(ROUTINE, '{"version": 1, "model": {"lines": "torn')
    store.close()
    with caplog.at_level(logging.ERROR):
        second = kits(argv=[sys.executable, "-c", CRASHES])
        second.pump_until(lambda: second.agent.routine_ready, "the failed relearn")
    assert any("is unreadable" in r.getMessage() and "relearning it" in r.getMessage() for r in caplog.records)
    assert second.agent.status == "learning"  # no routine to fall back on: learning, and trying again
    learner = second.agent.learner
    learner.argv = [sys.executable, "-m", "sentinel.agent.learn_process"]
    second.clock.advance(LEARN_RETRY_S[0])
    second.pump_until(lambda: second.agent.routine_as_of is not None, "the routine relearned")
    second.agent.journal.flush()
    assert Summary.loads(second.store.get_setting(ROUTINE) or "").model is not None
    assert second.agent.status == "ok"


def test_the_daily_refit_runs_in_the_learning_process(kits) -> None:
    kit = kits()
    kit.pump_until(lambda: kit.agent.routine_as_of is not None, "the routine")
    learner = kit.agent.learner
    assert learner.started == 1
    kit.clock.advance(86400)  # the next day: its first sign of life asks for a refit
    kit.up_and_about()
    kit.pump_until(lambda: kit.agent.routine_as_of == kit.clock.now().replace(microsecond=0), "the refit", 30)
    assert learner.started == 2


AGENT_WITHOUT_NUMPY = """\
import sys, time
from datetime import datetime
from gpiozero.pins.mock import MockFactory
from sentinel.agent.app import Agent
from sentinel.clock import ManualClock
from sentinel.config import parse_config
from sentinel.store import Store
clock = ManualClock(datetime(2026, 1, 17, 9, 0).astimezone())
agent = Agent(parse_config(sys.stdin.read()), Store(sys.argv[1]), clock, MockFactory())
agent.start()
deadline = time.monotonic() + 60
while agent.routine_as_of is None and time.monotonic() < deadline:
    agent.step(0.05)
assert agent.watch is not None and not agent.watch.learning, "not learned"
print(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "scipy")))
agent.close()
"""


def test_the_agent_process_learns_without_numpy(tmp_path: Path, broker: Mosquitto) -> None:
    store = Store(tmp_path / "agent.db")
    for row in Resident(seed=21).days(START, 12):
        store.add_event(Event(row.sensor, row.kind, row.value, row.room, row.at.astimezone(), 0.0))
    store.close()
    database = str(tmp_path / "agent.db")
    assert modules_loaded(AGENT_WITHOUT_NUMPY, database, stdin=config_yaml(broker.port), timeout=90) == []


def test_whether_an_open_alert_is_still_out_after_a_restart_is_judged_in_instants_not_written_times(
    kits, tmp_path: Path
) -> None:
    """The clocks went back: signs at 01:05-01:15 (+00:00) came after an alert at 01:40 (+01:00) in real time."""
    from datetime import timezone

    from sentinel.core.alerts import Alert

    kit = kits()
    summer, winter = timezone(timedelta(hours=1)), UTC
    raised = datetime(2026, 10, 25, 1, 40, tzinfo=summer)
    alert = Alert("mary-inactivity-x", "mary", "inactivity", "high", raised, "quiet", {})
    kit.store.add_alert(alert)
    kit.agent.journal._load_alerts()  # as a start reads them
    learning = kit.agent.learning
    assert learning is not None
    assert learning._still_out([]) == alert.alert_id  # nothing since: its quiet goes on
    for minute in (5, 10, 15):  # three signs since, written with the earlier-looking winter offset
        kit.store.add_event(
            Event("kitchen_pir", "motion", 1, "kitchen", datetime(2026, 10, 25, 1, minute, tzinfo=winter), 0.0)
        )
    assert learning._still_out([]) is None  # her quiet is over: the alert must not stand for the next one
