"""Checks a gatepass service makes before it starts serving.

- :func:`check_not_root`: services run as the dedicated ``gatepass`` user; root is
  refused unless ``GATEPASS_ALLOW_ROOT=1`` (tests, the demo, CI containers).
- :class:`ClockGuard`: a Pi has no real-time clock; until NTP sets it, the time can
  be 1970 or whatever ``fake-hwclock`` saved. A clock earlier than the build-time
  floor or the last known good time (kept in the data dir) is *untrusted*: entries
  are still logged, flagged ``clock_trusted=0``, instead of being dated 1970.
- :func:`raise_alarm`: alarms a person must see (logged at CRITICAL, kept in the data dir).

The device database's own start-up check and salvage is :mod:`sync.salvage`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatepass.errors import GatepassError

log = logging.getLogger(__name__)

ALLOW_ROOT_ENV = "GATEPASS_ALLOW_ROOT"
# No correct clock is earlier than the build of this software (2026-01-01T00:00:00Z).
BUILD_FLOOR_TS = 1767225600.0
LAST_GOOD_TIME_FILE = "last-good-time"
ALARMS_FILE = "alarms.jsonl"
# Tables holding central's lists: restored all together or not at all (then re-synced as a snapshot).
# How far the seq counter jumps when the damaged file's own counter cannot be trusted.


class StartupError(GatepassError):
    """A start-up check failed in a way the service must not run with."""


# -- root ----------------------------------------------------------------------------------------


def check_not_root(environ: dict[str, str] | None = None, euid: int | None = None) -> None:
    """Raise :class:`StartupError` when running as root without ``GATEPASS_ALLOW_ROOT=1``."""
    env = os.environ if environ is None else environ
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        return
    if env.get(ALLOW_ROOT_ENV) == "1":
        log.warning("running as root because %s=1 (only for tests and the demo)", ALLOW_ROOT_ENV)
        return
    raise StartupError("refusing to run as root / 拒绝以 root 身份运行",
                       f"run as the gatepass user (the systemd units do), or set {ALLOW_ROOT_ENV}=1 for tests")


# -- clock ---------------------------------------------------------------------------------------


#: systemd-timesyncd creates this file once it has synchronized the clock (systemd 239 and later).
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")


def kernel_clock_synchronized(timesyncd_flag: Path = TIMESYNCD_FLAG) -> bool | None:
    """Whether NTP keeps the clock synchronized: the kernel's flag (``adjtimex``), or systemd-timesyncd's file
    where the kernel flag is unavailable or not set by the NTP client in use; None if unknown.

    ``adjtimex`` returns ``TIME_ERROR`` (5) while ``STA_UNSYNC`` is set, i.e. until
    systemd-timesyncd or chrony has set the clock.
    """
    if timesyncd_flag.exists():
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex is ~208 bytes; modes=0 reads only
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != 5


@dataclass(frozen=True)
class ClockState:
    """The result of a clock check."""

    trusted: bool
    now: float
    floor: float
    synchronized: bool | None
    reason: str

    def describe(self) -> str:
        """One line for the log and the guard page."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.now))
        state = "trusted" if self.trusted else "UNTRUSTED"
        return f"clock {state} ({self.reason}); now {when}Z, NTP synchronized: {self.synchronized}"


class ClockGuard:
    """Decides whether the wall clock can be believed, and remembers the last good time.

    ``check()`` is cheap: call it per entry. ``remember()`` writes the last known good
    time to the data dir at most every ``save_every_s`` seconds, and only while the
    kernel reports the clock synchronized (or cannot tell), so a wrong clock never
    raises the floor.
    """

    def __init__(self, data_dir: str | os.PathLike, build_floor: float = BUILD_FLOOR_TS,
                 save_every_s: float = 600.0, synchronized: Callable[[], bool | None] = kernel_clock_synchronized,
                 wall: Callable[[], float] = time.time) -> None:
        self.path = Path(data_dir) / LAST_GOOD_TIME_FILE
        self.build_floor = build_floor
        self.save_every_s = save_every_s
        self._synchronized = synchronized
        self._wall = wall
        self._last_saved = self._read()
        self._was_trusted: bool | None = None

    def _read(self) -> float:
        try:
            value = float(self.path.read_text().strip())
        except (OSError, ValueError):
            return 0.0
        return value if math.isfinite(value) else 0.0  # "inf" would distrust every clock for ever

    @property
    def floor(self) -> float:
        """No trustworthy clock reads earlier than this (unix seconds)."""
        return max(self.build_floor, self._last_saved)

    def check(self, now: float | None = None) -> ClockState:
        """Classify the clock now; logs when the verdict changes."""
        now = self._wall() if now is None else now
        synced = self._synchronized()
        if now < self.build_floor:
            state = ClockState(False, now, self.floor, synced, "earlier than this software's build: the clock is unset")
        elif now < self._last_saved:
            state = ClockState(False, now, self.floor, synced, "earlier than the last known good time")
        else:
            state = ClockState(True, now, self.floor, synced, "not earlier than the build date or the last known "
                               "good time")
        if state.trusted != self._was_trusted:
            (log.info if state.trusted else log.error)("%s", state.describe())
            self._was_trusted = state.trusted
        return state

    def remember(self, now: float | None = None, force: bool = False, confirmed: bool = False) -> bool:
        """Store ``now`` as the last known good time if the clock is trusted; True if written.

        ``confirmed``: ``now`` is known good from elsewhere (central's time carried on the monotonic clock, see
        :mod:`sync.timekeeping`), so the kernel's NTP flag need not agree (a Pi whose NTP is blocked).
        """
        state = self.check(now)
        if not state.trusted or (state.synchronized is False and not confirmed):
            return False
        if not force and state.now - self._last_saved < self.save_every_s:
            return False
        _atomic_write(self.path, f"{state.now:.3f}\n")
        self._last_saved = state.now
        return True


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (fsync of the directory itself)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- alarms --------------------------------------------------------------------------------------


def raise_alarm(data_dir: str | os.PathLike, code: str, message: str, **details: Any) -> dict[str, Any]:
    """Log an alarm at CRITICAL and append it to ``<data_dir>/alarms.jsonl`` (read by the guard page)."""
    alarm = {"ts": time.time(), "code": code, "message": message, **details}
    log.critical("ALARM %s: %s %s", code, message, json.dumps(details, ensure_ascii=False) if details else "")
    path = Path(data_dir) / ALARMS_FILE
    created = not path.exists()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(alarm, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if created:  # a new file is durable only once its directory entry is (a power cut right after must keep it)
        fsync_dir(path.parent)
    return alarm


def read_alarms(data_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every alarm raised so far (oldest first); unreadable lines are skipped."""
    path = Path(data_dir) / ALARMS_FILE
    alarms = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                alarms.append(json.loads(line))
    return alarms
