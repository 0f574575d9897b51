"""`sentinel notify`: alerts in over MQTT, notifications out over ntfy, acks back in.

Three threads, none of which can block the others: paho's network loop only
records alerts (before the broker is acknowledged) and queues everything else;
the main loop escalates, handles acknowledgements and watches for silence; a
delivery thread talks to ntfy, with timeouts and retries.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sentinel import systemd
from sentinel.clock import Clock, SystemClock
from sentinel.config import read_password
from sentinel.config.circle import CircleConfig, HomeCircle
from sentinel.detect.explain import duration
from sentinel.mqtt import link
from sentinel.notify import messages
from sentinel.notify.acks import AckReader
from sentinel.notify.delivery import Deliverer
from sentinel.notify.escalation import Progress, take_step
from sentinel.notify.ntfy import DeliveryError, Ntfy, cut
from sentinel.notify.silence import SilenceWatch
from sentinel.notify.store import Incident, NotifierStore
from sentinel.notify.tokens import Ack, check

log = logging.getLogger(__name__)

NEVER = timedelta(days=36500)
# Alert ids become MQTT topic levels (alert/<id>/ack) and token fields: nothing that could be a wildcard.
ALERT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


class Notifier:
    """The circle's side of sentinel for one or many homes."""

    def __init__(self, cfg: CircleConfig, store: NotifierStore, ntfy: Ntfy, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.ntfy = ntfy
        self.clock = clock or SystemClock()
        self.secret = os.environ.get(cfg.secret_env, "").encode()
        self.base = cfg.mqtt.base_topic
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.started = self.clock.now()
        told = {h.id: (self.store.home_state(h.id) or ("online", self.started))[0] for h in cfg.homes}
        self.deliverer = Deliverer(store, ntfy, cfg.members, self.clock, self._quota_spent)
        self.silence = SilenceWatch({h.id: h.grace for h in cfg.homes}, told, self.started)
        self._homes = {h.id: h for h in cfg.homes}
        self._deliver = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.subscribed = threading.Event()  # the broker has confirmed our subscriptions
        self._failures = link.Failures(f"{cfg.mqtt.host}:{cfg.mqtt.port}", time.monotonic, link.REPEAT_WARNING)
        self._online = False
        since = self.store.get_meta("ack_since") or "all"
        self.acks = AckReader(ntfy, cfg.ntfy.ack_topic, since, lambda m: self.queue.put(("press", m)))
        self.client = self._client()

    # MQTT
    def _client(self) -> mqtt.Client:
        cfg = self.cfg.mqtt
        client_id = cfg.client_id or f"sentinel-notifier-{socket.gethostname()}"
        v5 = cfg.protocol == "5"
        kwargs: dict[str, Any] = {} if v5 else {"clean_session": False}
        client = link.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, **kwargs
        )
        if cfg.username:
            client.username_pw_set(cfg.username, read_password(cfg))
        if cfg.tls is not None:
            client.tls_set(ca_certs=cfg.tls.ca_file, certfile=cfg.tls.cert_file, keyfile=cfg.tls.key_file)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._connected
        client.on_connect_fail = self._connect_failed
        client.on_disconnect = self._disconnected
        client.on_subscribe = lambda *_: self.subscribed.set()
        client.on_message = self._message
        return client

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._failures.failed(f"the broker refused the connection ({reason_code})")
            return
        self._failures.connected()
        self._online = True
        alerts = f"{self.base}/+/alert"
        if self.cfg.shared_group:
            alerts = f"$share/{self.cfg.shared_group}/{alerts}"
        topics = [(alerts, 1), (f"{self.base}/+/alert/+/ack", 1)]
        if self.cfg.watch_silence:
            topics += [(f"{self.base}/+/heartbeat", 0), (f"{self.base}/+/availability", 1)]
        client.subscribe(topics)
        log.info("connected to the broker; following %d homes", len(self._homes))

    def _connect_failed(self, client, userdata) -> None:
        error = client.last_error
        self._failures.failed(link.describe(error) if error is not None else "the connection failed")

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        if self._online and not self._stop.is_set():
            log.warning("lost the broker (%s); retrying (alerts wait in the broker for us)", reason_code)
        self._online = False

    def _message(self, client, userdata, message) -> None:
        """paho's thread: alerts are stored before the broker hears they arrived; the rest is queued."""
        try:
            self._take(message)
        except Exception:  # one bad message must not end paho's thread, and with it every later alert
            log.exception("could not take a message on %.120s; it is skipped", message.topic)

    def _take(self, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) < 3 or parts[0] != self.base or parts[1] not in self._homes:
            return
        home, leaf = parts[1], "/".join(parts[2:])
        now = self.clock.now()
        if leaf == "heartbeat":
            self.silence.heartbeat(home, now)
            return
        if leaf == "availability":
            self.queue.put(("availability", home, message.payload.decode("utf-8", "replace"), now))
            return
        try:
            body = json.loads(message.payload.decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            log.warning("ignored a malformed message on %s: %.80s", message.topic, exc)
            return
        if leaf == "alert":
            self.receive_alert(home, body)
        elif len(parts) == 5 and parts[2] == "alert" and parts[4] == "ack":
            self.queue.put(("mqtt_ack", home, parts[3], body))

    def receive_alert(self, home: str, body: dict[str, Any]) -> bool:
        """Record an alert (once, whatever the broker re-delivers); True when it is new."""
        if not all(isinstance(body.get(k), str) for k in ("alert_id", "kind", "severity", "reason")):
            log.warning("ignored an alert without alert_id, kind, severity or reason from %s", home)
            return False
        if not ALERT_ID.match(body["alert_id"]):
            log.warning("ignored an alert from %s with an unusable alert_id %.80r", home, body["alert_id"])
            return False
        new = self.store.open_incident(body, home, self.clock.now())
        if new:
            log.warning("ALERT %s from %s: %s", body["alert_id"], home, body["reason"])
            self.queue.put(("wake",))
        else:
            log.info("alert %s was already received; ignored", body["alert_id"])
        return new

    # life cycle
    def start(self, threaded: bool = True) -> None:
        """Connect, and start delivering."""
        cfg = self.cfg.mqtt
        properties = None
        if cfg.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 7 * 86400  # keep our alerts queued through a week's outage
            self.client.connect_async(
                cfg.host, cfg.port, keepalive=int(cfg.keepalive), clean_start=False, properties=properties
            )
        else:
            self.client.connect_async(cfg.host, cfg.port, keepalive=int(cfg.keepalive))
        self.client.loop_start()
        self.acks.start()
        if threaded:
            worker = threading.Thread(target=self._delivery_loop, name="ntfy-delivery", daemon=True)
            worker.start()
            self._threads.append(worker)

    def run(self, stop: threading.Event | None = None) -> None:
        """The main loop, until ``stop`` is set."""
        stop = stop or self._stop
        self.start()
        systemd.notify("READY=1")
        watchdog = systemd.watchdog_interval()
        next_ping = 0.0
        try:
            while not stop.is_set():
                self.step(timeout=0.5)
                if watchdog and time.monotonic() >= next_ping:  # a hung loop gets restarted
                    systemd.notify("WATCHDOG=1")
                    next_ping = time.monotonic() + watchdog
        finally:
            systemd.notify("STOPPING=1")
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._deliver.set()
        self.acks.stop()
        self.client.disconnect()
        self.client.loop_stop()
        for thread in self._threads:
            thread.join(5)
        self.ntfy.close()

    def step(self, timeout: float = 0.0) -> None:
        """Handle what has arrived, then everything due now."""
        try:
            item = self.queue.get(timeout=self.clock.real_seconds(timeout)) if timeout else self.queue.get_nowait()
            self._handle(item)
            while True:
                self._handle(self.queue.get_nowait())
        except queue.Empty:
            pass
        now = self.clock.now()
        self.escalate(now)
        if self.cfg.watch_silence:
            self.watch_silence(now)

    def _handle(self, item: tuple[Any, ...]) -> None:
        """One queued input; whatever goes wrong with it, the loop goes on with the next."""
        kind = item[0]
        try:
            if kind == "availability":
                _, home, text, at = item
                self.silence.announce(home, text, at)
            elif kind == "mqtt_ack":
                _, home, alert_id, body = item
                self.mqtt_ack(home, alert_id, body)
            elif kind == "press":
                self.press(item[1])
        except Exception:
            log.exception("could not handle a %s message; it is skipped", kind)

    # escalation
    def escalate(self, now: datetime) -> None:
        """Take every incident's due step."""
        for incident in self.store.due_incidents(now):
            home = self._homes.get(incident.home)
            if home is None:
                continue
            progress = Progress(incident.next_index, incident.next_at)
            step, audience, after = take_step(self.cfg, home, incident.severity, progress, now)
            if step is None:
                self.store.advance(incident.alert_id, after.next_index, now + NEVER)
                if not self.store.notified(incident.alert_id):
                    # Everyone is away: say so loudly in the log and the record, it needs a human.
                    log.error("%s: nobody in %s's circle is available to be told", incident.alert_id, home.name)
                    self.store.step(incident.alert_id, now, "nobody available")
                continue
            for member_id in audience:
                member = self.cfg.member(member_id)
                body = messages.alert_note(self.cfg, home, member, incident, step, self.secret, now.timestamp())
                self.store.deliver(incident.alert_id, home.id, member_id, body, now)
            what = "final call" if step.final else f"step {step.index + 1}"
            self.store.step(incident.alert_id, now, what, None, ", ".join(audience))
            log.info("%s %s: notifying %s", incident.alert_id, what, ", ".join(audience))
            final = step.final
            self.store.advance(incident.alert_id, after.next_index, now + NEVER if final else after.next_at)
            self._deliver.set()

    # acknowledgements
    def press(self, message: dict[str, Any]) -> None:
        """A message on the ack topic: a button press, or anything else anyone posted there."""
        try:
            ack = Ack.parse(str(message.get("message", "")))
        except ValueError:
            log.warning("ignored a malformed button press: %.80s", message.get("message", ""))
        else:
            self.apply_ack(ack)
        finally:
            self.store.set_meta("ack_since", str(message["id"]))

    def apply_ack(self, ack: Ack) -> str | None:
        """Claim or resolve an incident from a signed button press; the refusal reason, or None."""
        now = self.clock.now()
        incident = self.store.incident(ack.alert_id)
        reason = check(self.secret, ack, now.timestamp())
        if reason is None and (incident is None or incident.home != ack.home):
            reason = "unknown alert"
        if reason is None and not self.store.use_token(ack.token, now):
            reason = "replayed token"
        if reason is not None:
            log.warning("refused a %s from %s for %s: %s", ack.action, ack.member, ack.alert_id, reason)
            if incident is not None:
                self.store.step(ack.alert_id, now, "refused", ack.member, f"{ack.action}: {reason}")
            return reason
        assert incident is not None
        member = self.cfg.member(ack.member) if any(m.id == ack.member for m in self.cfg.members) else None
        name = member.name if member else ack.member
        home = self._homes[incident.home]
        if ack.action == "claim":
            self._claim(incident, home, ack.member, name, now)
        else:
            note = ack.note or f"{name} called: all OK"
            self._close(incident, home, name, "resolve", note, now, skip=ack.member)
        return None

    def _claim(self, incident: Incident, home: HomeCircle, member: str, name: str, now: datetime) -> None:
        if not self.store.claim(incident.alert_id, member, now):
            latest = self.store.incident(incident.alert_id)
            who = self._name(latest.claimed_by) if latest and latest.claimed_by else None
            text = f"{who} is already going." if who else "It is already resolved."
            self.store.deliver(
                incident.alert_id, home.id, member, messages.info_note(f"{home.name}: thank you", text), now
            )
            self._deliver.set()
            return
        log.warning("%s: %s is going", incident.alert_id, name)
        self.store.step(incident.alert_id, now, "claimed", member)
        self._tell(
            incident,
            home,
            f"{home.name}: {name} is going",
            f"{name} is on the way to {home.name}.",
            now,
            skip=member,
            tags=("runner",),
        )
        self._to_agent(incident, {"who": name, "what": "claim"}, now)

    def _close(
        self,
        incident: Incident,
        home: HomeCircle,
        who: str,
        what: str,
        note: str,
        now: datetime,
        skip: str | None = None,
        tell_agent: bool = True,
    ) -> None:
        if not self.store.close_incident(incident.alert_id, who, note, now):
            return
        log.warning("%s resolved by %s: %s", incident.alert_id, who, note)
        self.store.step(incident.alert_id, now, "resolved", skip, note)
        self._tell(incident, home, f"{home.name}: all clear", note, now, skip=skip, tags=("white_check_mark",))
        if tell_agent:
            self._to_agent(incident, {"who": who, "what": what, "note": note}, now)

    def mqtt_ack(self, home_id: str, alert_id: str, body: dict[str, Any]) -> None:
        """An ack on the agent's topic: the resident or the sensors closed it, or a signed press."""
        if body.get("source") == "notifier":
            return  # our own message to the agent
        if "token" in body:
            try:
                ack = Ack.read(body, home_id, alert_id)
            except ValueError:
                log.warning("ignored a malformed ack for %s", alert_id)
                return
            self.apply_ack(ack)
            return
        incident = self.store.incident(alert_id)
        who, what = body.get("who"), body.get("what")
        if incident is None or incident.closed_at is not None or incident.home != home_id:
            return
        note = cut(body["note"], 500) if isinstance(body.get("note"), str) else f"closed by the {who}"
        home, now = self._homes[home_id], self.clock.now()
        if who == "sensors" and what in ("resolve", "activity") and incident.claimed_by:
            # Someone is on the way: the movement may be theirs, not the resident's. Only they can say all is well.
            self._ask_to_confirm(incident, home, note, now)
        elif (who, what) in (("resident", "cancel"), ("sensors", "resolve")):
            self._close(incident, home, who, what, note, now, tell_agent=False)

    def _ask_to_confirm(self, incident: Incident, home: HomeCircle, note: str, now: datetime) -> None:
        """Movement at a home someone is going to: ask them to say when all is well."""
        member = incident.claimed_by
        assert member is not None
        log.info("%s: %s; asking %s to confirm", incident.alert_id, note, member)
        self.store.step(incident.alert_id, now, "movement", None, note)
        body = messages.confirm_note(
            self.cfg, home, self.cfg.member(member), incident, note, self.secret, now.timestamp()
        )
        self.store.deliver(incident.alert_id, home.id, member, body, now)
        self._deliver.set()

    def _to_agent(self, incident: Incident, body: dict[str, Any], now: datetime) -> None:
        """Tell the home's agent (and any other subscriber) what the circle did."""
        message = {**body, "at": now.isoformat(timespec="seconds"), "alert_id": incident.alert_id, "source": "notifier"}
        topic = f"{self.base}/{incident.home}/alert/{incident.alert_id}/ack"
        self.client.publish(topic, json.dumps(message, ensure_ascii=False), qos=1)

    def _tell(
        self,
        incident: Incident,
        home: HomeCircle,
        title: str,
        text: str,
        now: datetime,
        skip: str | None = None,
        tags: tuple[str, ...] = ("information_source",),
    ) -> None:
        """An info notice to everyone who was alerted about this incident."""
        for member in self.store.notified(incident.alert_id):
            if member != skip:
                self.store.deliver(incident.alert_id, home.id, member, messages.info_note(title, text, tags), now)
        self._deliver.set()

    def _name(self, member_id: str) -> str:
        return next((m.name for m in self.cfg.members if m.id == member_id), member_id)

    # silence
    def watch_silence(self, now: datetime) -> None:
        """Tell the kit's keepers when a monitor has been silent or offline past its grace, and when it is back."""
        for change in self.silence.check(now):
            self._silence(self._homes[change.home], change.state, change.since, now)

    def _silence(self, home: HomeCircle, state: str, since: datetime, now: datetime) -> None:
        previous = self.store.home_state(home.id)
        self.store.set_home_state(home.id, state, since)
        keepers = home.kit or home.tiers[0]
        if state == "offline":
            title = f"{home.name}'s monitor is offline"
            silent = duration((now - since).total_seconds())
            text = (
                f"No sign from the monitor at {home.name}'s since {since:%H:%M} ({silent})."
                " Check its power and network; until it is back, it cannot raise alerts."
            )
            tags: tuple[str, ...] = ("electric_plug",)
        else:
            down_for = duration((now - previous[1]).total_seconds()) if previous else "a while"
            title = f"{home.name}'s monitor is back"
            text = f"The monitor at {home.name}'s is back at {now:%H:%M}, after {down_for} offline."
            tags = ("white_check_mark",)
        log.warning("%s", text)
        for member in keepers:
            self.store.deliver(None, home.id, member, messages.info_note(title, text, tags), now)
        self._deliver.set()

    def _quota_spent(self, exc: DeliveryError, until: datetime) -> None:
        """ntfy takes no more notifications today: say so loudly, on every open incident and to the keepers."""
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

    # delivery
    def _delivery_loop(self) -> None:
        while not self._stop.is_set():
            self.deliver_due()
            self._deliver.wait(timeout=self.clock.real_seconds(1.0))
            self._deliver.clear()

    def deliver_due(self) -> int:
        """Send the notifications that are due now; how many were sent."""
        return self.deliverer.deliver_due()
