"""What ``sentinel demo`` is told on its command line, read as argparse reads options: a clear refusal."""

from __future__ import annotations

import argparse


def speed(text: str) -> float:
    """A positive, finite number, for ``demo --speed``."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0 (e.g. 720, or 100000 for no pauses)")
    return value


def broker(text: str) -> str:
    """``HOST[:PORT]`` for ``demo --broker`` (port 1883 unless given), as ``host:port``."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    if not port.isdigit() or not 0 < int(port) < 65536 or (":" not in text and not host.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST or HOST:PORT (e.g. localhost, or 192.168.1.5:1883)")
    return f"{host.strip() or '127.0.0.1'}:{int(port)}"
