"""Work the dashboard does on threads of its own (model training, the forecast's backtest points): at the lowest
CPU priority, so the page reruns of every session go first on a machine with few cores."""

from __future__ import annotations

import os
import threading

NICE = 19  # added to the thread's niceness (Linux: per thread); the pages' threads keep theirs


def lower_priority() -> None:
    """This thread only, on Linux (a thread's niceness is its own there); elsewhere nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE))
    except (AttributeError, OSError):
        pass
