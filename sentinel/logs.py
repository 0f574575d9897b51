"""Logging to stderr only: the journal under systemd, the terminal otherwise."""

from __future__ import annotations

import logging
import os
import sys


def setup(level: str = "info") -> None:
    """Configure the root logger once."""
    # journald stamps every line itself; a terminal user wants the time.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
