"""The ``health`` loop: retention, the disk floor and the clock check, the log probe, the lists reload.

Every ``[health] check_interval_s`` a :class:`edge.health.Housekeeper` round purges synced old entries and
checks the free space and the clock (faults :data:`HEALTH_FAULTS`, set and cleared by each full round).
Every turn (:data:`TURN_S`) the loop probes a failing local log (:meth:`edge.entry_recorder.EntryRecorder.
probe_log`), reloads the lists when their version changed (:mod:`edge.lists_policy`), and notes which faults are
on (:class:`edge.fault_history.FaultHistory`), writing them to the sync state (``edge_faults``: the sync process
reports them to central with every upload).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from edge.entry_recorder import EntryRecorder
from edge.fault_history import FaultHistory
from edge.faults import LOG_FAULTS
from edge.health import Housekeeper
from edge.lists_policy import ListsAndPolicy
from edge.loops import LoopRunner
from edge.settings import HealthSection
from edge.store import LocalStore
from gatepass.clock import Clock
from sync import state as sync_state
from sync.timekeeping import AGREE_S

log = logging.getLogger(__name__)

#: Faults the health checks own (set and cleared by each full round).
HEALTH_FAULTS = ("disk_low", "clock_untrusted")
#: Seconds between two turns of the loop.
TURN_S = 2.0


class HealthLoop:
    """The ``health`` loop over the store, the recorder's log faults and the lists."""

    def __init__(self, health: HealthSection, store: LocalStore, recorder: EntryRecorder, lists: ListsAndPolicy,
                 runner: LoopRunner, clock: Clock, history: FaultHistory | None = None,
                 faults_now: Callable[[], Iterable[str]] | None = None) -> None:
        self.history = history or FaultHistory()
        self.faults_now = faults_now or runner.faults.codes
        self.health = health
        self.store = store
        self.recorder = recorder
        self.lists = lists
        self.runner = runner
        self.clock = clock

    def loop(self) -> None:
        """Run until the stop event is set."""
        if self.store.locallog is None:
            raise RuntimeError("the health loop needs the open local log")
        keeper = Housekeeper(self.store.locallog, self.store.settings.data_dir, self.health.retention_days,
                             self.health.disk_floor_mb, clock_floor=self.lists.clock_floor)
        next_full = 0.0
        while not self.runner.stopped:
            if self.clock.monotonic() >= next_full:
                next_full = self.clock.monotonic() + self.health.check_interval_s
                self.round(keeper)
            if self.runner.faults.any_of(LOG_FAULTS):
                self.recorder.probe_log()
            self.lists.reload()
            self.check_clock_step()
            self.note_faults()
            self.runner.stop_event.wait(TURN_S)

    def note_faults(self) -> None:
        """Note the faults on now; when that changed, tell the sync process (``edge_faults``). Never raises."""
        try:
            if not self.history.observe(self.faults_now(), self.clock.time()) or self.store.db is None:
                return
            faults = [{"code": f.code, "since": f.since} for f in self.history.active()]
            with self.store.lock:
                sync_state.write(self.store.db, edge_faults=faults)
        except Exception:  # noqa: BLE001 - a report of faults must never become one
            log.exception("cannot note the faults")

    def round(self, keeper: Housekeeper) -> None:
        """One full round of the checks; its faults replace the last round's."""
        with self.store.lock:
            best = self.lists.now()  # central's time carried on the monotonic clock when there is one this boot
            report = keeper.run(best.t if best.trusted else None, now=best.t)
        for code in HEALTH_FAULTS:
            if code in report.faults:
                self.runner.faults.raise_(code, code)
            else:
                self.runner.faults.clear(code)

    def check_clock_step(self) -> None:
        """Raise ``clock_off`` (and log it as an alarm once) while the system clock is more than
        :data:`sync.timekeeping.AGREE_S` from central's time carried forward; entries then carry central's time."""
        off = self.lists.clock_off_s()
        if off is not None and abs(off) > AGREE_S:
            if "clock_off" not in self.runner.faults:
                log.error("ALARM: the system clock is %+.0f s off central's time; stamping by central's time", off)
            self.runner.faults.raise_("clock_off", f"{off:+.0f} s")
        else:
            self.runner.faults.clear("clock_off")
