"""The checkpoint's threads: one per loop, all stopped through one ``threading.Event``.

A loop that raises is logged, reported (fault ``loop_failed``) and restarted after
:data:`RESTART_DELAY_S`; its next turn clears the fault. Every turn of every loop calls
:meth:`LoopRunner.beat`, which feeds the watchdog hook ``heartbeat(loop_name)`` (systemd's
``WATCHDOG=1``, see :mod:`edge.service`). Which loops run is decided by :mod:`edge.checkpoint`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from edge.faults import FaultBoard

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
JOIN_TIMEOUT_S = 10.0

#: A loop: its name and the function that runs it until the stop event is set.
Loop = tuple[str, Callable[[], None]]


class LoopRunner:
    """Starts, restarts and stops the loops; the stop event and the heartbeats."""

    def __init__(self, faults: FaultBoard, stop_event: threading.Event | None = None,
                 restart_delay_s: float = RESTART_DELAY_S) -> None:
        self.faults = faults
        self.stop_event = stop_event or threading.Event()
        self.restart_delay_s = restart_delay_s
        #: Called as ``heartbeat(loop_name)`` on every turn of every loop (the systemd watchdog); None: nothing.
        self.heartbeat: Callable[[str], object] | None = None
        self._threads: list[threading.Thread] = []

    @property
    def stopped(self) -> bool:
        """Whether the loops were told to stop."""
        return self.stop_event.is_set()

    @property
    def running(self) -> int:
        """How many loop threads were started and not yet joined."""
        return len(self._threads)

    def beat(self, name: str) -> None:
        """Tell the watchdog hook that loop ``name`` is alive (never raises); a restarted loop that turns
        again clears its ``loop_failed`` fault."""
        if self.heartbeat is not None:
            try:
                self.heartbeat(name)
            except Exception:  # the watchdog must never break a loop
                log.exception("heartbeat failed")
        if self.faults.clear("loop_failed", name):
            log.info("the %s loop turns again", name)

    def start(self, loops: Iterable[Loop]) -> None:
        """Run each loop in its own daemon thread."""
        for name, target in loops:
            thread = threading.Thread(target=self.guarded(name, target), name=f"gatepass-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float = JOIN_TIMEOUT_S) -> None:
        """Set the stop event and wait for every loop to end (logged when one does not)."""
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout)
            if thread.is_alive():
                log.error("the %s thread did not stop within %.0f s", thread.name, timeout)
        self._threads = []

    def guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        """``target`` restarted after an exception (fault ``loop_failed``) until the stop event is set."""
        def run() -> None:
            while not self.stop_event.is_set():
                try:
                    target()
                    return
                except Exception:  # a loop must never die silently: report, log and restart it
                    self.faults.raise_("loop_failed", name)  # cleared by the loop's next turn (see beat)
                    log.exception("the %s loop failed; restarting it", name)
                    self.stop_event.wait(self.restart_delay_s)
        return run
