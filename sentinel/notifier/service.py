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
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
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
from sentinel.notifier import messages
from sentinel.notifier.acks import AckReader
from sentinel.notifier.delivery import Deliverer
from sentinel.notifier.escalation import Progress, take_step
from sentinel.notifier.intake import ALERT_ID, MAX_PACKET, Unreadable, decode, read_alert
from sentinel.notifier.ntfy import DeliveryError, Ntfy, cut
from sentinel.notifier.silence import Change, SilenceWatch
from sentinel.notifier.store import Incident, NotifierStore, when
from sentinel.notifier.tokens import Ack, check

log = logging.getLogger(__name__)

NEVER = timedelta(days=36500)
JUMP_S = 60.0  # wall and monotonic clocks disagreeing by more than this: the wall clock was set
NOTICE_TITLES = {
    "sensor_silent": "a sensor is silent",
    "bridge_offline": "the Zigbee bridge is offline",
    "bridge_offline_ok": "the Zigbee bridge is back",
    "device_offline": "a sensor is offline",
    "device_offline_ok": "a sensor is back",
    "battery_low": "a battery is low",
    "battery_low_ok": "a battery is fine again",
}
NOTE_LIMIT = 500  # a note that goes to the phones from a message (an ack's note)
__all__ = ["ALERT_ID", "Notifier"]


FLOOD_PER_MINUTE = 20  # unreadable messages a minute from one home that are each kept; more are only counted
TELL_PARKED_EVERY = timedelta(hours=1)  # the keepers hear of unreadable messages at most this often per home


@dataclass(slots=True)
class Flood:
    """Unreadable messages from one home: how many lately, and when the keepers were last told."""

    recent: deque[datetime] = field(default_factory=deque)
    skipped: int = 0
    told_at: datetime | None = None

    def heavy(self, now: datetime) -> bool:
        """Whether this one is past the minute's allowance (it is counted either way)."""
        while self.recent and now - self.recent[0] > timedelta(minutes=1):
            self.recent.popleft()
        self.recent.append(now)
        return len(self.recent) > FLOOD_PER_MINUTE

    def may_tell(self, now: datetime) -> bool:
        if self.told_at is not None and now - self.told_at < TELL_PARKED_EVERY:
            return False
        self.told_at = now
        return True


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
        self._offset = self._wall_offset()
        told = {h.id: (self.store.home_state(h.id) or ("online", self.started))[0] for h in cfg.homes}
        self.deliverer = Deliverer(store, ntfy, cfg.members, self.clock, self._quota_spent)
        self.silence = SilenceWatch({h.id: h.grace for h in cfg.homes}, told, self.started)
        # The notifier's own outage is told once, after as long as the shortest grace of a home.
        self.link_notice_after = timedelta(seconds=min((h.grace for h in cfg.homes), default=300.0))
        # Set while the keepers have been told the broker was lost, and not yet that it is back (kept across restarts).
        lost = self.store.get_meta("broker_lost")
        self._broker_lost_told = when(lost, self.started) if lost else None
        self._homes = {h.id: h for h in cfg.homes}
        self._stuck: set[str] = set()  # incidents whose step failed (said once in the log)
        self._deliver = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.subscribed = threading.Event()  # the broker has confirmed our subscriptions
        self._floods: dict[str | None, Flood] = {}  # per home: unreadable messages (paho's thread only)
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
        self.silence.link_back(self.clock.now())  # every home gets its full grace again from now
        alerts = f"{self.base}/+/alert"
        if self.cfg.shared_group:
            alerts = f"$share/{self.cfg.shared_group}/{alerts}"
        notices = f"{self.base}/+/notice"
        if self.cfg.shared_group:
            notices = f"$share/{self.cfg.shared_group}/{notices}"
        topics = [(alerts, 1), (f"{self.base}/+/alert/+/ack", 1), (notices, 1)]
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
        self.silence.link_lost(self.clock.now())  # not hearing the homes now says nothing about them

    def _message(self, client, userdata, message) -> None:
        """paho's thread: alerts are stored before the broker hears they arrived; the rest is queued.

        Nothing that one message does may end this thread (every later alert would go unheard), and
        a message that cannot be handled is parked, so the broker does not hand it to us again.
        """
        try:
            self._take(message)
        except Exception as exc:
            try:
                self._park_message(message, f"could not be handled: {type(exc).__name__}: {exc}")
            except Exception:
                log.exception("could not take or park a message; it is skipped")

    def _take(self, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            log.warning("ignored a message on a topic that is not UTF-8")
            return
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != self.base:
            return
        home, leaf = parts[1], "/".join(parts[2:])
        if home not in self._homes:
            log.debug("ignored a message for %.40s, a home this notifier does not serve", home)
            return
        now = self.clock.now()
        if leaf == "heartbeat":
            self.silence.heartbeat(home, now)
            return
        if leaf == "availability":
            text = message.payload[:16].decode("utf-8", "replace")  # "online" or "offline"; the rest is noise
            self.queue.put(("availability", home, text, now))
            return
        is_ack = len(parts) == 5 and parts[2] == "alert" and parts[4] == "ack"
        if leaf not in ("alert", "notice") and not is_ack:
            return
        try:
            body = decode(bytes(message.payload))
            if is_ack:
                self.queue.put(("mqtt_ack", home, parts[3], body))
            elif leaf == "notice":
                self.queue.put(("notice", home, body))
            else:
                self.receive_alert(home, body)
        except Unreadable as exc:
            self._park_message(message, str(exc))

    def _park_message(self, message: mqtt.MQTTMessage, error: str) -> None:
        topic = message.topic
        parts = topic.split("/")
        home = parts[1] if len(parts) > 1 and parts[1] in self._homes else None
        self.park(topic, home, bytes(message.payload), error)

    def park(self, topic: str, home: str | None, payload: bytes, error: str) -> None:
        """Keep a message that cannot be used, and tell the home's keepers (at most hourly), whatever comes again.

        A flood of junk is counted, not kept one by one: it must not bury the next real alert behind it.
        """
        now = self.clock.now()
        flood = self._floods.setdefault(home, Flood())
        if flood.heavy(now):
            flood.skipped += 1
            if flood.skipped == 1 or flood.skipped % 1000 == 0:
                log.warning("%s: %d unreadable messages in a flood are counted, not kept", home, flood.skipped)
            return
        error = error.encode("utf-8", "backslashreplace").decode("utf-8")[:300]  # it is shown and stored
        if flood.skipped:
            error = f"{error} (and {flood.skipped} more in a flood before it)"
            flood.skipped = 0
        with self.store.transaction():
            if not self.store.park(topic, home, payload, error, now):
                log.warning("ignored a message on %.120s again (%s); it was parked before", topic, error)
                return
            log.warning("ignored a message on %.120s that cannot be read (%s); it is parked", topic, error)
            circle = self._homes.get(home) if home else None
            if circle is None or not flood.may_tell(now):
                return
            what = "an answer to an alert" if topic.endswith("/ack") else "an alert"
            note = messages.parked_note(circle.name, what, error, now)
            for member in circle.kit or circle.tiers[0]:
                self.store.deliver(None, circle.id, member, note, now)
        self._deliver.set()

    def receive_alert(self, home: str, body: dict[str, Any]) -> bool:
        """Record an alert (once, whatever the broker re-delivers); True when new. Unreadable: it is no alert."""
        now = self.clock.now()
        alert, notes = read_alert(body, now)
        with self.store.transaction():
            new = self.store.open_incident(alert, home, now)
            for note in notes if new else ():
                self.store.step(alert["alert_id"], now, "note", None, note)
        if new:
            log.warning("ALERT %s from %s: %s", alert["alert_id"], home, alert["reason"])
            for note in notes:
                log.warning("%s: %s", alert["alert_id"], note)
            self.queue.put(("wake",))
        else:
            log.info("alert %s was already received; ignored", alert["alert_id"])
        return new

    # life cycle
    def start(self, threaded: bool = True) -> None:
        """Connect, and start delivering."""
        cfg = self.cfg.mqtt
        properties = None
        if cfg.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 7 * 86400  # keep our alerts queued through a week's outage
            # The broker drops anything larger before it is sent to us: paho would hold a huge message
            # in memory several times over before our own size check could park it.
            properties.MaximumPacketSize = MAX_PACKET
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
                try:
                    self.step(timeout=0.5)
                except Exception:  # a restart would meet the same trouble: say it, and keep the rest going
                    log.exception("the notifier's main loop failed; it goes on")
                    stop.wait(1.0)
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
        jump = self._wall_offset() - self._offset
        if abs(jump) > JUMP_S:
            self._offset += jump
            self._clock_jumped(jump)
        now = self.clock.now()
        self.escalate(now)
        if self.cfg.watch_silence:
            self.watch_silence(now)

    def _wall_offset(self) -> float:
        """The wall clock less the monotonic one: it changes only when the wall clock is set."""
        return self.clock.now().timestamp() - self.clock.monotonic()

    def _clock_jumped(self, seconds: float) -> None:
        """NTP set the clock (a Pi without a real-time clock): the circle's waits keep their real length."""
        way = "forward" if seconds > 0 else "back"
        log.warning(
            "the clock was set %s by %s; escalation and silence keep their real timing", way, duration(abs(seconds))
        )
        delta = timedelta(seconds=seconds)
        self.store.shift_due(delta)
        self.silence.shift(delta)
        if self.deliverer.hold_until is not None:
            self.deliverer.hold_until += delta

    def _handle(self, item: tuple[Any, ...]) -> None:
        """One queued input; whatever goes wrong with it, the loop goes on with the next."""
        kind = item[0]
        try:
            if kind == "availability":
                _, home, text, at = item
                self.silence.announce(home, text, at)
            elif kind == "mqtt_ack":
                _, home, alert_id, body = item
                with self.store.transaction():  # all it changes, or nothing: a crash redoes it whole
                    self.mqtt_ack(home, alert_id, body)
            elif kind == "press":
                with self.store.transaction():  # the press, what it changes and where reading goes on
                    self.press(item[1])
            elif kind == "notice":
                _, home, body = item
                self.kit_notice(home, body)
        except Exception:
            log.exception("could not handle a %s message; it is skipped", kind)

    # escalation
    def escalate(self, now: datetime) -> None:
        """Take every incident's due step."""
        for incident in self.store.due_incidents(now):
            home = self._homes.get(incident.home)
            if home is None:
                continue
            # The step's notifications and the move to the next step commit together: a crash between
            # them would take the same step again after a restart, and notify everyone twice.
            try:
                with self.store.transaction():
                    self._take_step(incident, home, now)
            except Exception:  # one incident that cannot go on must not stop the others
                if incident.alert_id not in self._stuck:
                    self._stuck.add(incident.alert_id)
                    log.exception("%s: could not take its next step; the others go on", incident.alert_id)

    def _take_step(self, incident: Incident, home: HomeCircle, now: datetime) -> None:
        progress = Progress(incident.next_index, incident.next_at)
        step, audience, after = take_step(self.cfg, home, incident.severity, progress, now)
        if step is None:
            self.store.advance(incident.alert_id, after.next_index, now + NEVER)
            if not self.store.notified(incident.alert_id):
                # Everyone is away: say so loudly in the log and the record, it needs a human.
                log.error("%s: nobody in %s's circle is available to be told", incident.alert_id, home.name)
                self.store.step(incident.alert_id, now, "nobody available")
            return
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
            note = cut(ack.note, NOTE_LIMIT) if ack.note else f"{name} called: all OK"
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
        who, what = str(body.get("who")), str(body.get("what"))  # compared below with known words only
        if incident is None or incident.closed_at is not None or incident.home != home_id:
            return
        note = cut(body["note"], NOTE_LIMIT) if isinstance(body.get("note"), str) else f"closed by the {who!s:.40}"
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
        """Tell the kit's keepers when a monitor has been silent or offline past its grace, and when it is back.

        While the notifier cannot hear the broker nobody is blamed for the silence; if that lasts, every
        keeper is told once that the notifier lost the broker, and once that it hears it again.
        """
        self._watch_link(now)
        for change in self.silence.check(now):
            with self.store.transaction():
                self._silence(self._homes[change.home], change, now)

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
        if not isinstance(notice_id, str) or not ALERT_ID.match(notice_id) or not isinstance(text, str):
            log.warning("ignored a notice from %s without a usable notice_id or text", home_id)
            return
        home, now = self._homes[home_id], self.clock.now()
        with self.store.transaction():
            if self.store.get_meta(f"notice:{notice_id}"):
                return  # a re-delivery
            self.store.set_meta(f"notice:{notice_id}", now.isoformat())
            what = NOTICE_TITLES.get(str(body.get("kind")), "the kit")
            note = messages.info_note(f"{home.name}'s monitor: {what}", cut(text, NOTE_LIMIT), ("wrench",))
            for member in home.kit or home.tiers[0]:
                self.store.deliver(None, home.id, member, note, now)
        log.warning("notice from %s: %s", home_id, text)
        self._deliver.set()

    def _tell_keepers(self, note: dict[str, Any], now: datetime) -> None:
        """A notice to those who look after the kit of every home (each once)."""
        for member in dict.fromkeys(m for home in self.cfg.homes for m in (home.kit or home.tiers[0])):
            self.store.deliver(None, "", member, note, now)
        self._deliver.set()

    def _silence(self, home: HomeCircle, change: Change, now: datetime) -> None:
        previous = self.store.home_state(home.id)
        if change.state != "unsteady":
            self.store.set_home_state(home.id, change.state, change.since)
        note = messages.silence_note(home.name, change, previous[1] if previous else None, now)
        log.warning("%s", note["message"])
        for member in home.kit or home.tiers[0]:
            self.store.deliver(None, home.id, member, note, now)
        self._deliver.set()

    def _quota_spent(self, exc: DeliveryError, until: datetime) -> None:
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

    # delivery
    def _delivery_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # this thread ending would silence every notification after it
                log.exception("delivering notifications failed; trying again")
            self._deliver.wait(timeout=self.clock.real_seconds(1.0))
            self._deliver.clear()

    def deliver_due(self) -> int:
        """Send the notifications that are due now; how many were sent."""
        return self.deliverer.deliver_due()
