"""A process that gives way to the agent on the same Pi: killed first when memory runs out, and run after it.

The learning process and the carer's tools (``routine``, ``report`` ...) can take a few hundred MB on a long
history; on a Pi Zero's 512 MB the kernel must kill one of them, not the agent that watches over the resident.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

OOM_SCORE_ADJ = Path("/proc/self/oom_score_adj")


def give_way(path: Path = OOM_SCORE_ADJ, niceness: int = 10) -> None:
    """Be the first the out-of-memory killer takes (1000: the most willing), and the last the CPU serves."""
    try:
        path.write_text("1000")  # raising one's own score needs no privilege
    except OSError as exc:  # not Linux, or /proc not mounted: the work goes on all the same
        log.debug("could not raise this process's out-of-memory score (%s)", exc)
    with contextlib.suppress(OSError):
        os.nice(niceness)  # the agent's loop and the broker come first
