"""The checkpoint core: frames or scanner -> decode -> verify -> pair temperature -> decide -> log -> gate.

:class:`Checkpoint` implements :class:`edge.events.CheckpointAPI` for the guard page. It is assembled
from parts named for what they hold:

* :mod:`edge.scan_input`: the ``frames``, ``scanner``, ``thermometer`` and demo ``feeder`` loops;
* :mod:`edge.scan_decide`: the ``decide`` loop: verify, pair a temperature, decide (one scan at a time);
* :mod:`edge.commit`: commit the entry durably, and only then pulse the gate, light up and publish;
* :mod:`edge.upkeep`: lists and central's policy, the ``health`` loop (retention, disk floor, clock);
* :mod:`edge.guard_desk`: shifts, overrides, visitors, the direction at "both" gates (:mod:`edge.direction`);
* :mod:`edge.checkpoint_status`: what the guard screen shows.

One thread per concern, all stopped through one ``threading.Event``; a loop that raises is logged and
restarted. The scan queue is bounded: when it is full the oldest scan is dropped and counted. Nothing
here opens hardware or starts threads before :meth:`Checkpoint.start`.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from edge.checkpoint_base import CheckpointError, boot_id, safely
from edge.checkpoint_status import StatusView
from edge.commit import Commit
from edge.decision import parse_hours
from edge.decode import QrDecoder
from edge.dedupe import Deduper
from edge.direction import ensure_index
from edge.events import Fanout, Outcome
from edge.guard_desk import OVERRIDE_REASONS, GuardDesk
from edge.indicators import Indicators, NoIndicators
from edge.scan_decide import ScanDecide
from edge.scan_input import Scan, ScanInput
from edge.settings import EdgeSettings
from edge.shifts import ShiftBook
from edge.upkeep import POLICY_KEYS, Upkeep
from sync.locallog import LocalLog
from sync.passes import DEFAULT_CLOCK_FLOOR

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
JOIN_TIMEOUT_S = 10.0


class Checkpoint(ScanInput, ScanDecide, Commit, Upkeep, GuardDesk, StatusView):
    """The checkpoint; see the module docstring. Devices are optional (None: not used)."""

    def __init__(self, settings: EdgeSettings, *, frame_source: Any = None, scanner: Any = None,
                 thermometer: Any = None, gate: Any = None, indicators: Indicators | None = None,
                 stop_event: threading.Event | None = None) -> None:
        self.settings = settings
        self.frame_source, self.scanner, self.thermometer, self.gate = frame_source, scanner, thermometer, gate
        self.indicators = indicators or NoIndicators()
        self.decoder = QrDecoder(settings.scan.decoder, settings.scan.window)
        self.dedupe = Deduper(settings.scan.same_scan_gap_s, settings.scan.cooldown_s)
        self.open_hours = parse_hours(settings.policy.open_hours)
        self.stop_event = stop_event or threading.Event()
        self.dropped_scans = self.decode_errors = self.frames_decoded = 0
        self.latencies = collections.deque(maxlen=20000)  # scan seen -> committed (s)
        self.db = None
        self.locallog = None
        self.shifts = None
        self._scans = queue.Queue(maxsize=settings.scan.queue_size)
        self._db_lock = threading.RLock()
        self._dedupe_lock = threading.Lock()
        self._temp_cond = threading.Condition()
        self._samples = collections.deque(maxlen=256)
        self._temp_used_until = None
        self._high = {}  # person -> (t, entry uuid, temp)
        self._faults = {}
        self._outcomes: Fanout[Outcome] = Fanout()  # every decision, for the guard page
        self._last_outcome: Outcome | None = None
        self._last_frame = None
        self._preview = None
        self._threads: list[threading.Thread] = []
        self._snapshot = None
        self._policy = self._policy_defaults()
        self._direction_choice = None
        self._recent_visitors = {}
        self._notices = Fanout()  # re-scan and direction notices for the guard page (edge.events.Notice)
        self._decided = {}  # pass text -> its recorded outcome, within the cooldown (re-scan notices)
        self._noticed = {}  # pass text -> when its last re-scan notice went out (monotonic)
        self.boot_id = boot_id()
        #: The earliest believable wall time (unix s); set by the service from its start-up clock check.
        self.clock_floor = DEFAULT_CLOCK_FLOOR
        #: Called as ``heartbeat(loop_name)`` on every turn of every loop (the systemd watchdog); None: nothing.
        self.heartbeat: Callable[[str], Any] | None = None

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the database and the devices, then start the loops."""
        self._open_db()
        self._reload_lists(force=True)
        for device in (self.gate, self.thermometer, self.scanner, self.indicators):
            if device is not None:
                safely(device.open, f"opening {type(device).__name__}")
        if self.frame_source is not None:
            safely(self.frame_source.start, "starting the camera")
        for name, target in self._loops():
            thread = threading.Thread(target=self._guarded(name, target), name=f"gatepass-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("checkpoint %s started (%s, %s)", self.settings.gate.id, self.settings.gate.mode,
                 self.settings.gate.direction)

    def _open_db(self) -> None:
        from sync.devicedb import open_db

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = open_db(self.settings.db_path)
        ensure_index(self.db)
        self.locallog = LocalLog(self.db)
        self.shifts = ShiftBook(self.db, self.settings.guards.pins)

    def _loops(self) -> list[tuple[str, Callable[[], None]]]:
        loops = [("decide", self._decide_loop), ("health", self._health_loop)]
        if self.frame_source is not None:
            loops.append(("frames", self._frames_loop))
        if self.scanner is not None:
            loops.append(("scanner", self._scanner_loop))
        if self.thermometer is not None:
            loops.append(("thermometer", self._thermo_loop))
        if self.settings.demo.passes_file and hasattr(self.frame_source, "present"):
            loops.append(("feeder", self._feeder_loop))
        return loops

    def stop(self) -> None:
        """Stop the loops, release the gate and close the devices and the database."""
        self.stop_event.set()
        with self._temp_cond:
            self._temp_cond.notify_all()
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.error("the %s thread did not stop within %.0f s", thread.name, JOIN_TIMEOUT_S)
        self._threads = []
        if self.frame_source is not None:
            safely(self.frame_source.stop, "stopping the camera")
        for device in (self.scanner, self.thermometer, self.indicators, self.gate):
            if device is not None:
                safely(device.close, f"closing {type(device).__name__}")
        if self.db is not None:
            with self._db_lock:
                self.db.conn.close()
            self.db = None

    def _guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stop_event.is_set():
                try:
                    target()
                    return
                except Exception:  # a loop must never die silently: report, log and restart it
                    self._faults["loop_failed"] = name  # cleared by the loop's next turn (see _beat)
                    log.exception("the %s loop failed; restarting it", name)
                    self.stop_event.wait(RESTART_DELAY_S)
        return run

    # -- outcomes (CheckpointAPI) -----------------------------------------------------------------------
    def _publish(self, outcome: Outcome) -> None:
        self._last_outcome = outcome
        self._outcomes.publish(outcome)

    def subscribe(self) -> queue.Queue[Outcome]:
        """A bounded queue receiving every new outcome (oldest dropped when full)."""
        return self._outcomes.subscribe()

    def unsubscribe(self, q: queue.Queue[Outcome]) -> None:
        """Stop delivering to ``q``."""
        self._outcomes.unsubscribe(q)

    def last_outcome(self) -> Outcome | None:
        """The newest outcome, if any."""
        return self._last_outcome


__all__ = ["OVERRIDE_REASONS", "POLICY_KEYS", "Checkpoint", "CheckpointError", "Scan"]
