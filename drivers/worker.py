"""Stopping the one background thread a driver owns (capture loop, release watchdog)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0


def stop_worker(stop: threading.Event, cond: threading.Condition, thread: threading.Thread | None,
                timeout_s: float = JOIN_TIMEOUT_S) -> None:
    """Set ``stop``, wake whoever waits on ``cond`` and join ``thread`` (if any) for up to ``timeout_s``."""
    stop.set()
    with cond:
        cond.notify_all()
    if thread is not None:
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("thread %s did not stop within %.0f s", thread.name, timeout_s)
