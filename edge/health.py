"""Housekeeping checks of the edge: disk-space floor, log retention, clock.

Each check is a small function returning fault codes (see
:data:`sync.reasons.FAULTS`); :class:`Housekeeper` runs them together and the
checkpoint shows the faults on the guard screen.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field

from sync.locallog import LocalLog
from sync.passes import DEFAULT_CLOCK_FLOOR, effective_now

log = logging.getLogger(__name__)


def free_mb(path: str | os.PathLike) -> float:
    """Free space (MB, for unprivileged users) on the file system holding ``path``."""
    return shutil.disk_usage(path).free / 1e6


def disk_faults(free: float, floor_mb: float) -> list[str]:
    """``["disk_low"]`` when ``free`` MB is below the floor, else nothing."""
    return ["disk_low"] if free < floor_mb else []


def clock_faults(system_time: float, last_server_time: float | None, last_entry_wall_ts: float | None,
                 clock_floor: float = DEFAULT_CLOCK_FLOOR) -> list[str]:
    """``["clock_untrusted"]`` when the clock is known to be unset (before ``clock_floor``, never confirmed by
    central) or went back behind the log."""
    now = effective_now(system_time, last_server_time, clock_floor)
    if not now.trusted:
        return ["clock_untrusted"]
    if last_entry_wall_ts is not None and system_time + 300 < last_entry_wall_ts:
        return ["clock_untrusted"]  # more than 5 minutes behind the newest entry: the clock was set back
    return []


@dataclass
class HealthReport:
    """The outcome of one round of checks."""

    faults: list[str] = field(default_factory=list)
    free_mb: float | None = None
    purged: int = 0
    erased: int = 0


#: The newest time stamped on a trusted clock (entries stamped at 1970 say nothing of the clock now).
NEWEST_TRUSTED_SQL = "SELECT max(wall_ts) FROM entries WHERE clock_trusted = 1"


class Housekeeper:
    """Runs retention and the checks over the local log; call :meth:`run` periodically."""

    def __init__(self, locallog: LocalLog, data_dir: str | os.PathLike, retention_days: float, floor_mb: float,
                 clock_floor: float = DEFAULT_CLOCK_FLOOR) -> None:
        self.locallog = locallog
        self.clock_floor = clock_floor
        self.data_dir = data_dir
        self.retention_days = retention_days
        self.floor_mb = floor_mb

    def run(self, last_server_time: float | None, now: float | None = None) -> HealthReport:
        """Purge synced old entries, erase synced visitor details, check disk and clock."""
        now = time.time() if now is None else now
        report = HealthReport()
        last = self._newest_wall_ts()
        report.faults += clock_faults(now, last_server_time, last, self.clock_floor)
        try:
            if "clock_untrusted" not in report.faults:  # retention by a trusted clock only: never by 1970
                report.purged = self.locallog.purge(self.retention_days, now=now)
            report.erased = self.locallog.erase_synced_personal_data()
        except sqlite3.Error as exc:  # busy or full: try again next round
            log.warning("retention purge failed (will retry): %s", exc)
        try:
            report.free_mb = free_mb(self.data_dir)
            report.faults += disk_faults(report.free_mb, self.floor_mb)
        except OSError as exc:
            log.warning("cannot check free space of %s: %s", self.data_dir, exc)
        if report.faults:
            log.warning("health: %s", ", ".join(report.faults))
        return report

    def _newest_wall_ts(self) -> float | None:
        """The newest time stamped on a trusted clock (None: none, or the log is unreadable now)."""
        try:
            value = self.locallog.db.execute(NEWEST_TRUSTED_SQL).fetchone()[0]
        except sqlite3.Error as exc:
            log.warning("cannot read the newest entry's time: %s", exc)
            return None
        return float(value) if value is not None else None
