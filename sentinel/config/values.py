"""Checks of one config value each: names, topic parts, ranges, times of day, days and addresses."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from sentinel.config.scalars import Seconds, _show

# fullmatch throughout: "$" lets a final line break through ("id: |" in YAML), and it would end up in a topic.
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def _slug(value: str) -> str | None:
    if not _SLUG.fullmatch(value):
        return f"{value!r} must be 1-40 lower-case letters, digits, '-' or '_'"
    return None


def _topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "#+\0") or value.startswith("/") or value.endswith("/"):
        return f"{value!r} is not a usable MQTT topic prefix"
    return None


def _friendly_name(value: str) -> str | None:
    if not value.strip() or any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/"):
        return f"{value!r} is not a zigbee2mqtt friendly name that can be a topic"
    return None


def _room(value: str) -> str | None:
    # '' is no room, as the key left out (the history counts it with the others); spaces would be said in
    # alerts as a room: "the    sensor".
    if value and not value.strip():
        return "is blank: say where it is (e.g. 'kitchen'), or remove the line for none"
    return None


class _Range:
    """A check that a number lies in a range, saying the value back as it was typed."""

    echoes = True  # ``build`` passes the typed text: '-30', not '-30000ms'; '.inf', not 'infs'

    def __init__(self, low: float, high: float, what: str) -> None:
        self.low, self.high, self.what = low, high, what

    def __call__(self, value: float, typed: str | None = None) -> str | None:
        if self.low <= value <= self.high:
            return None
        duration = isinstance(value, Seconds)
        shown = typed if typed is not None else _show(value) if duration else f"{value:g}"
        if value != value:
            return f"{shown} is not a number"
        if duration:
            # A duration's range is said as one, in the units the docs use: '(5m-6h)', not '(300-21600)'.
            limits = f"{_show(Seconds(self.low))}-{_show(Seconds(self.high))}"
        else:
            limits = f"{self.low:g}-{self.high:g}"
        return f"{shown} is {self.what or 'out of range'} ({limits})"


def _between(low: float, high: float, what: str = "") -> Callable[..., str | None]:
    return _Range(low, high, what)


_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: str) -> str | None:
    return None if _CLOCK.fullmatch(value) else f"{value!r} is not a time of day like '07:30'"


def _days(value: list[str]) -> str | None:
    if not value:  # the window would never come: nobody on call, nobody quiet, and no word of it
        return "is empty: name the days (mon ... sun), or leave days out for every day"
    wrong = [d for d in value if d not in DAYS]
    return f"{', '.join(map(repr, wrong))}: days are {', '.join(DAYS)}" if wrong else None


def _http_url(value: str) -> str | None:
    if not re.match(r"^https?://[^/\s]+", value):
        return f"{value!r} is not an http:// or https:// address, e.g. http://nas.local:8086"
    return _server(value)


def _server(url: str) -> str | None:
    """What keeps an http(s) address from being connected to: no server's name in it, a space, a wrong port."""
    if any(c.isspace() for c in url):
        return f"{url!r} has a space: an address has none (write %20 for one in a path)"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": a '[' without its ']', or what is inside is no address
        return f"{url!r} is no address that can be connected to ({exc}): an IPv6 address goes in [ ], as [fd00::5]"
    if not parts.hostname:
        return f"{url!r} names no server: the server's name or address goes after //"
    if not _NETLOC.fullmatch(parts.netloc):  # 'http://[fd00::5]x/': urlsplit reads the server and drops the 'x'
        return f"{url!r} is no address that can be connected to: after an IPv6 address's ']' comes ':' and the port"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:  # 0 is no port; a port left out after ':' reads as None, and means the usual one
        return f"{url!r}: the port after the server's name must be a number from 1 to 65535"
    return None


_NETLOC = re.compile(r"([^@/]*@)?(\[[^\]]*\]|[^\[\]]*)(:\d*)?")  # user@, then a name or [IPv6], then :port
_HOST_PORT = re.compile(r"([^:]+):(\d+)")  # an IPv6 address has two ':' at least
_BRACKETED = re.compile(r"\[([^\]]*)\](:\d+)?")  # an IPv6 address as a URL writes it: '[::1]' or '[::1]:1883'


def _host(value: str) -> str | None:
    """A broker's host name or address, as the MQTT client takes it: the name alone, no scheme and no port."""
    scheme, sep, rest = value.partition("://")
    if sep:
        host, port = _port_apart(rest.split("/")[0])
        return f"{value!r}: give the host alone ({host!r}), without {scheme}://{port}"
    if any(c.isspace() for c in value):
        return f"{value!r} has a space: a host name or address has none"
    if "/" in value:
        return f"{value!r} is not a host name or address"
    bracketed = _BRACKETED.fullmatch(value)
    if bracketed:  # paho takes the address bare: '[::1]' is looked up as a name, and never found
        port = f", and {bracketed.group(2)[1:]} as port" if bracketed.group(2) else ""
        return f"{value!r}: give the address without [ ] ({bracketed.group(1)!r}){port}"
    host, port = _port_apart(value)
    return f"{value!r}: give the host alone ({host!r}){port}" if port else None


def _port_apart(value: str) -> tuple[str, str]:
    """A host written with its port ('broker.lan:1883'), and what to say of the port; no port: ''."""
    match = _HOST_PORT.fullmatch(value)
    return (match.group(1), f", and {match.group(2)} as port") if match else (value, "")


def _absolute(value: str) -> str | None:
    """A place for a database: the same whoever starts the program, from wherever (systemd starts it in /)."""
    if not value.startswith("/"):
        return (
            f"{value!r} is not a full path from /, e.g. /var/lib/sentinel: '~' and relative paths change with"
            " who starts the program, and where"
        )
    return None
