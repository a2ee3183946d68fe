"""The state every part of :class:`edge.checkpoint.Checkpoint` shares, and small helpers they use.

The checkpoint is split by concern into mixins (:mod:`edge.scan_input`, :mod:`edge.scan_decide`,
:mod:`edge.commit`, :mod:`edge.upkeep`, :mod:`edge.guard_desk`, :mod:`edge.checkpoint_status`);
:class:`CheckpointBase` declares the attributes they share (all set in ``Checkpoint.__init__``).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.errors import EdgeError

if TYPE_CHECKING:
    from edge.decision import Decision, GateRules
    from edge.decode import QrDecoder
    from edge.dedupe import Deduper
    from edge.events import Fanout, Notice, Outcome
    from edge.indicators import Indicators
    from edge.pairing import Measurement, Sample, TempStatus
    from edge.scan_input import Scan
    from edge.settings import EdgeSettings
    from edge.shifts import ShiftBook
    from sync import lists as edgelists
    from sync.locallog import LocalLog
    from sync.passes import Lists, Now, TrustList

log = logging.getLogger(__name__)

#: Fault codes of the local log (set when a commit fails, cleared by the next good write).
LOG_FAULTS = ("disk_full", "db_locked", "log_failed")


class CheckpointError(EdgeError):
    """A guard action is not allowed (wrong mode, nobody signed in, unknown entry...)."""


class CheckpointBase:
    """Shared state of the checkpoint's parts (see the module docstring)."""

    settings: EdgeSettings
    frame_source: Any
    scanner: Any
    thermometer: Any
    gate: Any
    indicators: Indicators
    decoder: QrDecoder
    dedupe: Deduper
    stop_event: threading.Event
    db: Any
    locallog: LocalLog | None
    shifts: ShiftBook | None
    dropped_scans: int
    decode_errors: int
    frames_decoded: int
    latencies: collections.deque[float]
    clock_floor: float
    boot_id: str
    heartbeat: Callable[[str], Any] | None
    _scans: queue.Queue[Scan]
    _db_lock: threading.RLock
    _dedupe_lock: threading.Lock
    _temp_cond: threading.Condition
    _samples: collections.deque[Sample]
    _temp_used_until: float | None
    _high: dict[str, tuple[float, str, float]]
    _faults: dict[str, str]
    _policy: dict[str, float]
    _snapshot: tuple[TrustList, Lists, dict[str, Any], edgelists.ListMeta] | None
    _last_frame: Any
    _preview: tuple[int, bytes] | None
    open_hours: Any
    _direction_choice: str | None
    _recent_visitors: dict[tuple[str, str], float]
    _notices: Fanout[Notice]
    _decided: dict[str, Outcome]
    _noticed: dict[str, float]

    def _beat(self, name: str) -> None:
        """Tell the watchdog hook that loop ``name`` is alive (never raises); a restarted loop that turns
        again clears its ``loop_failed`` fault."""
        if self.heartbeat is not None:
            try:
                self.heartbeat(name)
            except Exception:  # the watchdog must never break a loop
                log.exception("heartbeat failed")
        if self._faults.get("loop_failed") == name:
            self._faults.pop("loop_failed", None)
            log.info("the %s loop turns again", name)

    # Implemented by the parts (see the module docstring); declared here so each part can call the others.
    def _publish(self, outcome: Outcome) -> None:
        raise NotImplementedError

    def _commit_and_act(self, fields: dict[str, Any], decision: Decision, now: Now, *,
                        valid_to: float | None = None, guard_id: str | None = None) -> Outcome:
        raise NotImplementedError

    def _shift_guard(self) -> str | None:
        raise NotImplementedError

    def _reload_lists(self, force: bool = False) -> None:
        raise NotImplementedError

    def _probe_log(self) -> None:
        raise NotImplementedError

    def _now(self) -> Now:
        raise NotImplementedError

    def _remember_decided(self, text: str, outcome: Outcome) -> None:
        raise NotImplementedError

    def _measure(self, t_scan: float) -> Measurement:
        raise NotImplementedError

    def _had_high(self, person: str | None) -> bool:
        raise NotImplementedError

    def _remember_temperature(self, person: str | None, status: TempStatus | None, outcome: Outcome,
                              temp_c: float | None) -> None:
        raise NotImplementedError

    def rules(self, direction: str | None = None) -> GateRules:
        raise NotImplementedError


def safely(fn: Callable[[], Any], what: str) -> None:
    """Call ``fn``; log (never raise) what goes wrong."""
    try:
        fn()
    except Exception:
        log.exception("%s failed", what)


def minute_of_day(t: float) -> int:
    """Local minute of the day (0-1439) of the unix time ``t``."""
    lt = time.localtime(t)
    return lt.tm_hour * 60 + lt.tm_min


def boot_id() -> str:
    """The kernel's boot id (a random id when there is none)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return uuidlib.uuid4().hex
