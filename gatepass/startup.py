"""Checks a gatepass service makes before it starts serving.

- :func:`check_not_root`: services run as the dedicated ``gatepass`` user; root is
  refused unless ``GATEPASS_ALLOW_ROOT=1`` (tests, the demo, CI containers).
- :class:`ClockGuard`: a Pi has no real-time clock; until NTP sets it, the time can
  be 1970 or whatever ``fake-hwclock`` saved. A clock earlier than the build-time
  floor or the last known good time (kept in the data dir) is *untrusted*: entries
  are still logged, flagged ``clock_trusted=0``, instead of being dated 1970. Within one
  boot the last good time is also carried on the monotonic clock: a wall clock that
  steps more than :data:`STEP_S` ahead of or behind it while NTP does not vouch for the
  new time (a bad RTC write, a person setting the date) is untrusted and alarmed.
- Whether NTP keeps the clock synchronised: the kernel flag, systemd-timesyncd's flag
  file, or chrony (``chronyc -c tracking``, :func:`chrony_synchronized`).
- :func:`raise_alarm`: alarms a person must see (logged at CRITICAL, kept in the data dir).

The device database's own start-up check and salvage is :mod:`sync.salvage`.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import ctypes.util
import json
import logging
import math
import os
import subprocess
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
#: A wall clock more than this far (s) from the last good time carried on the monotonic clock has stepped.
STEP_S = 300.0
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
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


#: Runs a command with a timeout: its exit code and standard output, or None when it could not run in time.
Runner = Callable[[list[str], float], "tuple[int, str] | None"]
#: chrony's leap status while it keeps the clock synchronised ("Not synchronised" otherwise).
CHRONY_SYNCED = frozenset({"Normal", "Insert second", "Delete second"})
CHRONYC_TIMEOUT_S = 2.0


def run_command(argv: list[str], timeout: float) -> tuple[int, str] | None:
    """:data:`Runner` on the real system: None when the program is missing, fails to start or times out."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    return done.returncode, done.stdout


def parse_chrony_tracking(output: str) -> bool | None:
    """Whether ``chronyc -c tracking`` output says chrony keeps the clock synchronised: its 14th CSV field, the leap
    status, is ``Normal`` (or a leap second is announced); False for ``Not synchronised``; None if unreadable."""
    line = next((ln for ln in output.splitlines() if ln.strip()), "")
    fields = next(csv.reader([line]), [])
    if len(fields) < 14:
        return None
    leap = fields[13].strip()
    if leap in CHRONY_SYNCED:
        return True
    return False if leap.lower().startswith("not synchron") else None


def chrony_synchronized(runner: Runner = run_command, timeout: float = CHRONYC_TIMEOUT_S) -> bool | None:
    """What chrony says (:func:`parse_chrony_tracking`); None when ``chronyc`` is missing, fails or hangs."""
    result = runner(["chronyc", "-c", "tracking"], timeout)
    if result is None or result[0] != 0:
        return None
    return parse_chrony_tracking(result[1])


def _adjtimex_synchronized() -> bool | None:
    """The kernel's flag: ``adjtimex`` returns ``TIME_ERROR`` (5) while ``STA_UNSYNC`` is set; None if unknown."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex is ~208 bytes; modes=0 reads only
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != 5


def kernel_clock_synchronized(timesyncd_flag: Path = TIMESYNCD_FLAG,
                              chrony: Callable[[], bool | None] = chrony_synchronized,
                              kernel: Callable[[], bool | None] = _adjtimex_synchronized) -> bool | None:
    """Whether NTP keeps the clock synchronized: systemd-timesyncd's flag file, the kernel's flag, or, where the
    kernel flag is unavailable or not set (chrony without ``rtcsync`` leaves ``STA_UNSYNC`` on), chrony's own
    tracking status; None if nothing can tell.
    """
    if timesyncd_flag.exists():
        return True
    flag = kernel()
    if flag:
        return True
    said = chrony()
    return said if said is not None or flag is None else flag


def boot_id() -> str:
    """This kernel boot's id ("" where the kernel does not tell)."""
    try:
        return BOOT_ID_FILE.read_text().strip()
    except OSError:
        return ""


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
    raises the floor. The file also holds the monotonic time and boot id it was taken at, so
    within one boot (this process or the next one) the last good time is carried on the
    monotonic clock: a wall clock more than :data:`STEP_S` ahead of or behind that is a step
    (untrusted, alarmed once as ``clock_step``) unless NTP says synchronized or the time is
    confirmed from elsewhere, which then becomes the new reference.
    """

    def __init__(self, data_dir: str | os.PathLike, build_floor: float = BUILD_FLOOR_TS,
                 save_every_s: float = 600.0, synchronized: Callable[[], bool | None] = kernel_clock_synchronized,
                 wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic,
                 boot: str | None = None) -> None:
        self.path = Path(data_dir) / LAST_GOOD_TIME_FILE
        self.build_floor = build_floor
        self.save_every_s = save_every_s
        self._synchronized = synchronized
        self._wall = wall
        self._mono = mono
        self.boot = boot_id() if boot is None else boot
        self._ref: tuple[float, float] | None = None  # (good wall time, its monotonic time) in this boot
        self._last_saved = self._read()
        self._was_trusted: bool | None = None

    def _read(self) -> float:
        try:
            parts = self.path.read_text().split()
            value = float(parts[0])
            if len(parts) == 3 and parts[2] == self.boot and math.isfinite(float(parts[1])) and math.isfinite(value):
                self._ref = (value, float(parts[1]))
        except (OSError, ValueError, IndexError):
            return 0.0
        return value if math.isfinite(value) else 0.0  # "inf" would distrust every clock for ever

    @property
    def floor(self) -> float:
        """No trustworthy clock reads earlier than this (unix seconds)."""
        return max(self.build_floor, self._last_saved)

    def reference(self) -> tuple[float, float, str] | None:
        """The last good time of this boot, its monotonic time and the boot id (None before one)."""
        return None if self._ref is None else (*self._ref, self.boot)

    def stepped_s(self, now: float, mono: float) -> float | None:
        """How far (s) ``now`` is from the last good time of this boot carried to ``mono`` (None: no reference)."""
        if self._ref is None or mono < self._ref[1]:
            return None
        return now - (self._ref[0] + (mono - self._ref[1]))

    def check(self, now: float | None = None, confirmed: bool = False) -> ClockState:
        """Classify the clock now; logs when the verdict changes (and raises a ``clock_step`` alarm on a step).

        ``confirmed``: ``now`` is known good from elsewhere (central's time carried on the monotonic clock)."""
        now = self._wall() if now is None else now
        mono = self._mono()
        synced = self._synchronized()
        step = None if confirmed or synced else self.stepped_s(now, mono)
        if now < self.build_floor:
            state = ClockState(False, now, self.floor, synced, "earlier than this software's build: the clock is unset")
        elif now < self._last_saved:
            state = ClockState(False, now, self.floor, synced, "earlier than the last known good time")
        elif step is not None and abs(step) > STEP_S:
            where = "ahead of" if step > 0 else "behind"
            state = ClockState(False, now, self.floor, synced, f"stepped {abs(step):.0f} s {where} the last good "
                               "time carried on the monotonic clock")
        else:
            state = ClockState(True, now, self.floor, synced, "not earlier than the build date or the last known "
                               "good time")
            self._ref = (now, mono)
        self._note(state, step)
        return state

    def _note(self, state: ClockState, step: float | None) -> None:
        """Log a change of verdict; alarm a step."""
        if state.trusted == self._was_trusted:
            return
        (log.info if state.trusted else log.error)("%s", state.describe())
        if not state.trusted and step is not None and abs(step) > STEP_S:
            raise_alarm(self.path.parent, "clock_step", f"系统时钟跳变 {step:+.0f} 秒，记录时间不可信 / "
                        f"the system clock stepped {step:+.0f} s; entry times are not trusted", step_s=step)
        self._was_trusted = state.trusted

    def remember(self, now: float | None = None, force: bool = False, confirmed: bool = False) -> bool:
        """Store ``now`` as the last known good time if the clock is trusted; True if written.

        ``confirmed``: ``now`` is known good from elsewhere (central's time carried on the monotonic clock, see
        :mod:`sync.timekeeping`), so the kernel's NTP flag need not agree (a Pi whose NTP is blocked).
        """
        state = self.check(now, confirmed=confirmed)
        if not state.trusted or (state.synchronized is False and not confirmed):
            return False
        if not force and state.now - self._last_saved < self.save_every_s:
            return False
        _atomic_write(self.path, f"{state.now:.3f} {self._mono():.3f} {self.boot or '-'}\n")
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
