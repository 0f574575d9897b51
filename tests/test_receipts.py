"""An alert is sent again until a notifier says it received it: a broker's acknowledgement is not delivery."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from test_checkin_phone import RESIDENT, Together
from test_watch import Flat

from conftest import Mosquitto, wait_for
from sentinel.core.sensors import Gesture


def _call_for_help(agent: Any, clock: Any) -> None:
    """A hold of the help button (as a Zigbee button reports it: the gesture itself)."""
    agent._outputs("help_button", [Gesture("help", "long press")], clock.now(), clock.monotonic())


def test_an_alert_no_notifier_received_is_sent_again_until_one_says_so(flat, recorder) -> None:
    _sent_again_until_received(flat(), recorder(["sentinel/mary/alert"]))


def _sent_again_until_received(home: Flat, rec: Any) -> None:
    _call_for_help(home.agent, home.clock)
    home.agent.pump()
    first = rec.wait("sentinel/mary/alert")
    home.advance(59)
    assert len(rec.on("sentinel/mary/alert")) == 1
    home.advance(1)  # a minute, and no notifier has said it has it
    wait_for(lambda: len(rec.on("sentinel/mary/alert")) == 2, 5, "the alert sent again")
    assert rec.on("sentinel/mary/alert")[1] == first  # the same alert, the same id: taken once
    home.advance(120)  # then after 2 minutes
    wait_for(lambda: len(rec.on("sentinel/mary/alert")) == 3, 5, "the alert sent a third time")
    said = {"who": "notifier", "what": "received", "source": "notifier", "alert_id": first["alert_id"]}
    home.agent.link.client.publish(f"sentinel/mary/alert/{first['alert_id']}/ack", json.dumps(said), qos=1)
    wait_for(lambda: (home.agent.pump(), math.isinf(home.agent.receipts.next_due()))[1], 5, "the receipt")
    home.advance(3600)
    assert len(rec.on("sentinel/mary/alert")) == 3  # the receipt, pumped before, stops it: nothing more was sent


def test_a_help_call_the_broker_dropped_before_the_notifier_subscribed_reaches_the_circle(
    tmp_path: Path, broker: Mosquitto, circle: Any
) -> None:
    # The field: a broker restarted without its saved sessions drops an alert the agent publishes before the
    # notifier has subscribed again; the agent's outbox was emptied by the broker's acknowledgement.
    mary = Together(tmp_path, broker, circle, home_extra=RESIDENT, late=True)
    try:
        _call_for_help(mary.agent, mary.clock)
        mary.agent.pump()
        (alert,) = mary.agent.journal.open_alerts()
        wait_for(lambda: (mary.agent.pump(), not mary.agent.journal.outbox)[1], 5, "the broker's acknowledgement")
        mary.join()  # the notifier subscribes only now: the alert went to nobody
        assert mary.c.store.incident(alert.alert_id) is None
        mary.advance(60)  # the agent heard no "received": it sends the alert again
        mary.until(lambda: mary.c.store.incident(alert.alert_id) is not None, "the notifier to take it")
        mary.until(lambda: math.isinf(mary.agent.receipts.next_due()), "the notifier's receipt")
        assert mary.c.alerts_to("ann")  # the circle is told
    finally:
        mary.close()


def test_while_the_broker_is_away_nothing_falls_due_again_and_again() -> None:
    # Before: an alert due again while the broker was away stayed due, and the agent's loop turned without a
    # pause for the whole outage (a core at 100 % on the Pi).
    from sentinel.agent.receipts import FIRST_S, Receipts

    receipts = Receipts()
    assert receipts.due(["mary-help-1"], 0.0) == []  # first seen: due in a minute
    assert receipts.due(["mary-help-1"], 100.0, send=False) == []  # no broker: not sent
    assert math.isinf(receipts.next_due())  # and nothing is due until it is back: the loop waits on other things
    assert receipts.due(["mary-help-1"], 105.0) == ["mary-help-1"]  # back: what fell due meanwhile goes at once
    assert receipts.next_due() == 105.0 + 2 * FIRST_S


def test_a_word_of_the_notifier_on_an_alert_is_its_receipt_also_after_a_restart(flat, recorder) -> None:
    from test_agent import from_the_circle

    first = flat()
    rec = recorder(["sentinel/mary/alert"])
    _call_for_help(first.agent, first.clock)
    first.agent.pump()
    alert_id = rec.wait("sentinel/mary/alert")["alert_id"]
    from_the_circle(first, alert_id, "claim")  # Ann is going: the notifier has it, whatever else it said
    wait_for(lambda: (first.agent.pump(), math.isinf(first.agent.receipts.next_due()))[1], 5, "the claim")
    second = first.restart()  # an update
    second.advance(61)
    # Before: sent again a minute after every restart (a second escalation in a notifiers' shared group).
    assert alert_id in second.agent.receipts.received and math.isinf(second.agent.receipts.next_due())
