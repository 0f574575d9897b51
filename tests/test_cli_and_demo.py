"""The command line as a user meets it: --version, the demo, systemd notifications."""

from __future__ import annotations

import difflib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT, Mosquitto, agent_yaml, sentinel_cmd
from sentinel import __version__
from sentinel.agent.app import Agent
from sentinel.config import parse_config
from sentinel.store import Store


def test_version() -> None:
    result = subprocess.run(sentinel_cmd("--version"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"sentinel {__version__}"


def test_no_command_is_a_usage_error() -> None:
    result = subprocess.run(sentinel_cmd(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "usage: sentinel" in result.stderr


def test_a_file_the_carers_tools_cannot_write_is_said_before_any_work(tmp_path: Path, capsys) -> None:
    from sentinel.cli import main

    history = tmp_path / "h.csv"
    row = "2026-01-05T08:00:00+00:00,hall,motion,1,hall"
    history.write_text("timestamp,sensor,kind,value,room\n" + "\n".join([row, row]) + "\n")  # the same row twice
    (tmp_path / "out").mkdir()
    for args, said in [
        (["report", str(history), "-o", str(tmp_path / "no" / "r.html")], f"the folder {tmp_path / 'no'} does not"),
        (["report", str(history), "-o", str(tmp_path / "out")], "is a folder; give a file name"),
        (["routine", str(history), "--plot", str(tmp_path / "p.txt")], "cannot draw a picture as .txt; name it .png"),
        (["report", str(history), "-o", str(tmp_path / "r.html"), "--days", "100000000"], "--days must be from 1 to"),
    ]:
        assert main(args) == 2
        assert said in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
    assert main(["report", str(history), "-o", os.devnull]) == 0  # a file that is there needs its own permission only
    assert main(["replay", str(history)]) == 0
    assert "note: " + f"{history}: 1 row(s) repeat a row of the same time exactly" in capsys.readouterr().err


def test_the_carers_tools_give_way_to_the_agent_for_memory_and_time(tmp_path: Path) -> None:
    history = tmp_path / "h.csv"
    history.write_text("timestamp,sensor,kind,value,room\n2026-01-05T08:00:00+00:00,hall,motion,1,hall\n")
    code = (
        "import os, sys; from sentinel.cli import main; before = os.nice(0); sys.argv[0] = 'sentinel'; main();"
        " print(open('/proc/self/oom_score_adj').read().strip(), os.nice(0) - before, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "routine", str(history)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Still learning: 1 event so far" in done.stdout
    # The kernel takes the tool, not the agent, when a long history fills a Pi Zero; and the agent runs first.
    assert done.stderr.split()[-2:] == ["1000", "10"]


def demo(speed: str) -> subprocess.Popen[str]:
    """The demo, started at ``speed`` (its output is read by ``communicate``)."""
    return subprocess.Popen(
        sentinel_cmd("demo", "--speed", speed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )


@pytest.mark.long(6)
def test_the_demo_tells_the_story_and_the_same_story_at_another_pace() -> None:
    # Two runs at once, at paces ten times apart: the story's clock is its own, so the same lines at the same
    # times, in the same order, on a quiet machine or a busy one (the story waits for the neighbour to hear the
    # broker before a phone is told anything).
    runs = [demo("100000"), demo("1000000")]
    outs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outs
    stories = [out.splitlines()[1:] for out, _ in outs]  # all but the broker's port
    assert stories[0] == stories[1], "\n".join(difflib.unified_diff(*stories, lineterm="")) + outs[1][1][-3000:]
    out = outs[0][0]
    for line in [
        "Tuesday 03 March 2026",
        "broker       | Mary's monitor is online",
        # Joining is consent: each member is asked once per home, Bob for both homes on the street.
        "Ann's phone  | Will you look out for Mary?: Mary has asked you to look out for them",
        "Bob's phone  | Will you look out for Mary?",
        "Bob's phone  | Will you look out for Ann?",
        "Bob's phone  | > Bob taps 'I agree'",
        "Sue's phone  | > Sue taps 'I agree'",
        "Mary's home  | Mary gets up (bedroom motion)",
        # The resident checks in from her own phone; the monitor hears it as her "I'm OK".
        "Mary's phone | Hello Mary: If you like, tap 'I'm OK today'",
        "Mary's phone | > Mary taps 'I'm OK today'",
        "Mary's phone | Thank you, Mary: Noted",
        # Ann is watched too: her own help button reaches Bob, and while it is open she is not asked to go to Mary's.
        "Ann's home   | Ann feels faint and holds her help button (3 s)",
        "Bob's phone  | Ann: pressed the help button [loud]: Ann pressed the help button in the hall",
        "broker       | ALERT [critical] Mary pressed the help button in the living room",
        "Bob's phone  | Mary: pressed the help button [loud]: Mary pressed the help button",
        "notifier     | Mary's alert, step 1: told bob, sue (ann: needs help at home, not asked)",
        "Sue's phone  | Mary: pressed the help button [loud]",  # the help button wakes her in her quiet hours
        "broker       | alert closed by resident: Mary pressed 'I'm OK' (short press).",
        "Bob's phone  | Mary: all clear: Mary pressed 'I'm OK' (short press).",
        "Bob's phone  | > Bob taps 'I called, all OK'",
        "broker       | status: CHECKING (Unusually quiet; asking Mary first.)",
        "Mary's phone | Are you all right, Mary?",
        "broker       | ALERT [high] No sign of activity since 11:3",
        "Ann's phone  | Mary: unusually quiet: No sign of activity since 11:3",
        # first_tier: nearest: Bob is first in Mary's tiers as written, but Ann has a key and is 2 min away.
        "notifier     | Mary's alert, step 1: told ann, the nearest (a key, 2 min away; bob is first as written)",
        "| Ann (next door) has a key and is 2 min away.",  # told to Bob, not to Ann herself
        "Bob's phone  | > Bob taps 'I can't go'",
        "Bob's phone  | Mary: thank you: You will be asked again only if nobody can go.",  # Ann was told first
        "Bob's phone  | Mary: Ann (next door) is going",
        # The buttons are signed: a copied button turned into 'All OK' closes nothing.
        "a stranger   | copies a button from Ann's notification, makes it 'All OK' and posts it to the circle",
        "notifier     | refused 'All OK' in Ann's name: forged token",
        "Bob's phone  | Mary: Ann (next door) is there",
        # Ann's own steps do not close the alert: she is asked, and she says when all is well.
        "Ann's phone  | Mary: movement at home: Movement again: movement in the living room",
        "Bob's phone  | Mary: Ann (next door) is with them",
        "broker       | alert closed by Ann (next door): Ann (next door) is with Mary: all is well.",
        "Bob's phone  | Mary: all clear: Ann (next door) is with Mary: all is well.",
        # The evening: the test notice, away from the phone, the keepers' note and the daily note.
        "Ann's phone  | sentinel test: please tap Received",
        # A test is never urgent: Sue's waits for her quiet hours to end.
        "notifier     | the test notice to sue goes at 18:30, after their quiet hours",
        "Bob's phone  | > Bob taps 'Received'",
        "18:30:00  Sue's phone  | sentinel test: please tap Received",
        "Sue's phone  | > Sue taps 'Received'",
        "Bob's phone  | > Bob taps 'Away until Sun 08 Mar'",
        "Bob's phone  | sentinel: are you around?: You are away until Sun 08 Mar",
        "Bob's phone  | Mary's circle this week:",
        "Away: Bob (son) until 2026-03-08.",
        # Mary shares her day (share_day): when she got up and was out, as the morning above told it.
        "Bob's phone  | Your circle today: All well at Mary's now: up at 07:24, out 09:10\u201310:45, 2 alerts today",
        "| All well at Ann's now: 1 alert today",
        # The night: nobody answers Mary's help button (Bob is away, the others do not see it). The loudest
        # message says whom to ring, then the last resort e-mails Tom through ntfy, with a copy to the keeper.
        "Wednesday 04 March 2026",
        "notifier     | Mary's alert, step 1: told ann, sue (bob is away)",
        "Sue's phone  | URGENT, nobody is going yet. Mary: pressed the help button [loud]:",
        "If you cannot reach Mary, call 112.",
        "Bob's phone  | Mary: nobody is going, please check on them [loud]:",
        "e-mail       | to tom@example.org (through ntfy): Mary: nobody is going, please check on them",
        "Mary's home  | Tom reads the e-mail and rings Mary",
        # The next morning: the silent phone named to the keepers, and the question to the one who went.
        "Bob's phone  | Mary's circle: Ann (next door) did not answer the test",
        "Ann's phone  | How is Mary today?",
        "Ann's phone  | > Ann taps 'Call me'",
        "Bob's phone  | Mary: Ann (next door) asks for a call: Ann (next door) would like a call about how Mary is"
        " today. Ann (next door)'s number: +44 7700 900123. [Call Ann (next door)]",
        "Bob's phone  | > Bob taps 'Needs help'",
        "Sue's phone  | How Ann is today: Bob (son) says Ann needs some help today: can you help?",
        "Sue's phone  | Ann: needs some help today: Bob (son) says Ann needs some help today, after yesterday's",
        "Sue's phone  | > Sue taps 'I'm going'",
        "Bob's phone  | > Bob taps 'Back'",
        # A claim released: Bob cannot go after all, the others are asked again, and Sue goes.
        "notifier     | Mary's alert, step 1: told bob, sue (ann: needs help at home, not asked)",
        "Bob's phone  | > Bob taps 'I'm going'",
        "Bob's phone  | > Bob taps 'I can't go after all'",
        "broker       | Bob (son) cannot go after all: the alert stays open",
        "Sue's phone  | Mary: Bob (son) cannot go after all [loud]: Nobody is going to Mary now. Can you?",
        "notifier     | refused 'I'm going' in Bob's name: replayed token",
        "broker       | Sue (over the road) is going",
        "Bob's phone  | Mary: Sue (over the road) is going",
        "broker       | alert closed by Sue (over the road): Sue (over the road) is with Mary: all is well.",
        "Bob's phone  | Mary's monitor is offline",
        # The fall's whole story, as `sentinel incidents` tells it from the notifier's records.
        "What `sentinel incidents` tells of Mary's fall",
        "  Told:        ann at 13:",
        "  Can't go:    bob at 13:",
        "  Closed:      Tue 03 Mar 14:0",
        "  Follow-up:   ann answered Wed 09:02: Ann (next door) would like a call about how Mary is today.",
        "  Refused:     1 button presses",
        # Per member, as `sentinel circle-health` prints it: agreed, last notice and press, the drill, away.
        "What `sentinel circle-health` tells whoever set up the circle",
        "  Sue (over the road) (sue)",
        "    Ann's circle: agreed 2026-03-03 06:55 (tapped 'I agree')",
        "    last button pressed: 2026-03-04 09:02 Call me",
        "    last drill: sent 2026-03-03 18:00, NOT ANSWERED (keepers told 2026-03-04 08:00)",
        "    last drill: sent 2026-03-03 18:30, answered 2026-03-03 18:31",
        "    away: no",
        # The routine is relearned at start.
        "status learning -> ok -> alert -> ok -> checking -> alert -> ok -> alert -> ok -> alert -> ok.",
        "demo OK",
    ]:
        assert line in out, line + "\n" + out
    assert "closed by sensors" not in out
    tuesday = out[: out.index("Wednesday 04 March 2026")]
    assert "Ann's phone  | Mary: pressed the help button" not in tuesday  # her own alarm was open
    # The circle's notes speak of the day in words, never as a list of rooms.
    notes = [line for line in out.splitlines() if "phone" in line.split("|")[0] and "Your circle today" in line]
    daily = out[out.index(notes[0]) :].splitlines()[:2]
    for room in ("kitchen", "bedroom", "bathroom", "living room", "hall"):
        assert room not in " ".join(daily), daily


def test_the_demo_refuses_a_speed_that_is_not_above_zero() -> None:
    for speed in ("0", "-3", "fast", "inf"):
        result = subprocess.run(sentinel_cmd("demo", "--speed", speed), capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "is not a number above 0" in result.stderr, speed


def test_the_demo_says_plainly_when_the_broker_it_is_given_is_wrong_or_not_there() -> None:
    for wrong in (":abc", "host:99999", "host:"):
        result = subprocess.run(sentinel_cmd("demo", "--broker", wrong), capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "is not HOST or HOST:PORT" in result.stderr, wrong
    with socket.socket() as taken:  # a port nothing listens on
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
    result = subprocess.run(
        sentinel_cmd("demo", "--broker", f"127.0.0.1:{port}"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot reach the broker at 127.0.0.1:{port}" in result.stderr


SKIPS_19_28 = """\
import sys
from sentinel.demo.story import run_demo
from sentinel.notifier.rhythm import Rhythm
sharp = Rhythm.tick
def tick(self, now):  # the notifier looked at its times of day just before 19:28, and next 30 s later
    if (now.hour, now.minute, now.second) != (19, 28, 0):
        sharp(self, now)
Rhythm.tick = tick
sys.exit(run_demo(100000.0, broker=sys.argv[1]))
"""


@pytest.mark.long(5)
def test_the_demo_waits_for_the_status_question_whenever_the_notifier_asks_it(broker: Mosquitto) -> None:
    # The notifier looks at its times of day every 30 s: on a busy machine its look fell just before 19:28 now and
    # then, and the story stood still at 19:28 waiting for answers to a question not yet asked ("demo FAILED").
    command = [sys.executable, "-c", SKIPS_19_28, f"127.0.0.1:{broker.port}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo OK" in result.stdout


@pytest.mark.long(5)
def test_the_demo_uses_a_given_broker(broker: Mosquitto) -> None:
    result = subprocess.run(
        sentinel_cmd("demo", "--speed", "100000", "--broker", f"127.0.0.1:{broker.port}"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"broker 127.0.0.1:{broker.port}" in result.stdout


def test_the_agent_tells_systemd_it_is_ready_and_feeds_the_watchdog(
    tmp_path: Path, broker: Mosquitto, monkeypatch
) -> None:
    sock_path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # WatchdogSec=0.4: a ping every 0.2 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    from gpiozero.pins.mock import MockFactory

    agent = Agent(parse_config(agent_yaml(broker.port)), Store(tmp_path / "a.db"), pin_factory=MockFactory())
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    try:
        received = [server.recv(100).decode() for _ in range(4)]
    finally:
        stop.set()
        thread.join(10)
    assert received[0] == "READY=1"
    assert received[1:] == ["WATCHDOG=1"] * 3
    assert server.recv(100).decode() in ("WATCHDOG=1", "STOPPING=1")
    server.close()
