"""The device-side sync loop (``gatepass sync run``)."""

from __future__ import annotations

import logging
import threading

from sync.settings import SyncSettings

log = logging.getLogger(__name__)


def run(settings: SyncSettings, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set (or forever)."""
    stop = stop or threading.Event()
    log.info("sync to %s", settings.central_url)
    while not stop.wait(settings.interval_s):
        pass
