"""Wiring of the checkpoint service: builds the drivers, the :class:`~edge.checkpoint.Checkpoint` and the guard
page (with its voice prompts) from the settings, and runs them until one ``threading.Event`` is set.

SIGTERM / SIGINT (uvicorn's handlers) or a failure anywhere sets that event; the checkpoint loops watch it
and the web server is told to exit, so everything stops together and the gate output is released.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from edge.checkpoint import Checkpoint
from edge.indicators import make_indicators
from edge.settings import EdgeSettings
from gatepass.serve import LOOP
from gatepass.startup import ClockGuard

log = logging.getLogger(__name__)

NO_CAMERA = ("", "none", "off")


def build_checkpoint(settings: EdgeSettings, stop_event: threading.Event | None = None) -> Checkpoint:
    """A checkpoint with the devices the settings name (nothing opened or started yet)."""
    from drivers.camera import make_frame_source
    from drivers.gate import make_gate
    from drivers.thermometer import Thermometer

    frame_source: Any = None
    if settings.camera.source.strip().lower() not in NO_CAMERA:
        frame_source = make_frame_source(settings.camera)
    scanner: Any = None
    if settings.scanner.enabled:
        from drivers.scanner import Scanner

        scanner = Scanner(settings.scanner)
    ind = settings.indicators
    return Checkpoint(settings, frame_source=frame_source, scanner=scanner,
                      thermometer=Thermometer(settings.thermometer), gate=make_gate(settings.relay),
                      indicators=make_indicators(ind.kind, ind.green_pin, ind.red_pin, ind.amber_pin),
                      stop_event=stop_event)


class _Server(uvicorn.Server):
    """uvicorn, but SIGTERM/SIGINT set the service's stop event (and are not re-raised), so the
    checkpoint stops and releases the gate before the process exits."""

    def __init__(self, config: uvicorn.Config, stop: threading.Event) -> None:
        super().__init__(config)
        self.stop = stop

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, lambda *_: self.stop.set()) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def remember_good_time(clock: ClockGuard, checkpoint: Checkpoint) -> None:
    """Keep the last known good time (the floor after a power cut): the system clock while NTP says it is right,
    or central's time carried on the monotonic clock when the sync has anchored it this boot."""
    best = checkpoint.lists.now()
    if best.trusted and checkpoint.lists.anchored():
        clock.remember(now=best.t, confirmed=True)
    else:
        clock.remember()


def run(settings: EdgeSettings, stop_event: threading.Event | None = None) -> None:
    """Run the checkpoint and the guard page until ``stop_event`` is set or a signal arrives."""
    from edge.webapp import create_app
    from gatepass import sdnotify
    from sync import salvage
    from sync.devicedb import open_db

    stop = stop_event or threading.Event()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Not root; quick_check (a damaged edge.db is moved aside and rebuilt); the clock's floor.
    notifier = sdnotify.default()
    clock, _ = salvage.prepare_service(settings.data_dir, settings.db_path, open_db,
                                       progress=lambda: notifier.extend_start("recovering the local database"))
    checkpoint = build_checkpoint(settings, stop)
    checkpoint.clock_floor = clock.floor
    checkpoint.lists.last_good = clock.reference  # a clock stepped away from it within this boot is not trusted
    checkpoint.heartbeat = sdnotify.LoopWatch(notifier).beat  # WATCHDOG=1 from inside the loops
    app = create_app(checkpoint, settings)
    page = settings.guard_page
    tls = page.tls_cert is not None
    config = uvicorn.Config(app, host=page.host, port=page.port, log_config=None, access_log=False, loop=LOOP,
                            ssl_certfile=str(page.tls_cert) if tls else None,
                            ssl_keyfile=str(page.tls_key) if tls else None)
    server = _Server(config, stop)

    def stop_server() -> None:
        stop.wait()
        server.should_exit = True

    watcher = threading.Thread(target=stop_server, name="gatepass-stop", daemon=True)
    checkpoint.start()
    try:
        watcher.start()
        sdnotify.announce_when_ready(notifier, lambda: server.started, stop, f"gate {settings.gate.id} scanning",
                                     tick=lambda: remember_good_time(clock, checkpoint))
        log.info("guard page on %s://%s:%d/", "https" if tls else "http", page.host, page.port)
        server.run()
    finally:
        notifier.stopping()
        stop.set()
        checkpoint.stop()
        log.info("checkpoint stopped")
