"""The gate output contract and the release watchdog every implementation shares.

:class:`GateOutput` is what the edge uses. :class:`TimedGate` implements it on top of one
method, ``_apply(on) -> bool``: ``open()`` starts one watchdog thread which releases the
output when a pulse ends, when an ``on`` has lasted ``max_on_s`` (whatever the caller
does), and retries the wanted state after a failed write (e.g. the USB relay was
unplugged). ``close()`` releases the output in ``finally`` and stops the thread; an
``atexit`` hook releases it on a normal interpreter exit too.

If the process is killed outright (SIGKILL, power cut of the Pi only) nothing can run:
- GPIO: the kernel frees the line; on a Raspberry Pi the pin keeps its last level until
  someone drives it again, so an energised relay stays energised until ``gatepass edge``
  (or ``gatepass doctor --release-gate``, meant for systemd ``ExecStopPost=``) starts and
  drives it off (``initial_value=False``). Wire lock/turnstile controllers that act on a
  pulse edge, and fit a pull-down/pull-up so an unpowered pin means "off".
- LCUS: the board's own MCU latches the relay; it stays as last commanded until the next
  command or until the board loses USB power. ``open()`` always sends "off" first.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Protocol, runtime_checkable

from drivers.texts import status_text
from drivers.worker import stop_worker

log = logging.getLogger(__name__)

RETRY_S = 0.2


@runtime_checkable
class GateOutput(Protocol):
    """A relay or output line that opens the gate."""

    def open(self) -> None:
        """Claim the output, drive it off (the safe state) and start the release watchdog."""

    def close(self) -> None:
        """Release the output (always) and free it."""

    def set(self, on: bool) -> None:
        """Energise or release; an ``on`` is released after ``max_on_s`` whatever the caller does."""

    def pulse(self, seconds: float) -> None:
        """Energise now and release after ``seconds`` (non-blocking, release guaranteed)."""

    @property
    def status(self) -> str:
        """"ok" or "disconnected"."""

    @property
    def status_text(self) -> str:
        """The status in plain zh-CN words for the guard screen."""


class TimedGate:
    """Base with the release watchdog; subclasses implement ``_apply`` (and may override ``_connected``)."""

    def __init__(self, max_on_s: float = 30.0) -> None:
        self.max_on_s = max_on_s
        self.is_on = False
        self._want = False
        self._release_at: float | None = None
        self._hold_s: float | None = None  # a pulse's length, counted from when the output is really on
        self._dirty = False
        self._last_ok = True
        self._cond = threading.Condition()
        self._io = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._atexit_hooked = False

    # -- GateOutput --------------------------------------------------------------------------
    def open(self) -> None:
        """Drive the output off and start the watchdog."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._want_state(False, None)
        self._sync(force=True)
        self._thread = threading.Thread(target=self._watch, name="gatepass-gate", daemon=True)
        self._thread.start()
        if not self._atexit_hooked:  # once per gate, however often it is reopened
            atexit.register(_release_at_exit, weakref.ref(self))
            self._atexit_hooked = True

    def close(self) -> None:
        """Release the output (always) and stop the watchdog."""
        try:
            self._want_state(False, None)
            stop_worker(self._stop, self._cond, self._thread)
            self._thread = None
        finally:
            self._want_state(False, None)
            self._sync(force=True)
            self._shutdown()

    def set(self, on: bool) -> None:
        """Energise (True) or release the output; an ``on`` is released after ``max_on_s`` regardless."""
        if on:
            self._ensure_watchdog()
        self._want_state(on, time.monotonic() + self.max_on_s if on else None)
        self._sync()

    def pulse(self, seconds: float) -> None:
        """Energise now and release after ``seconds`` (non-blocking; the watchdog releases it)."""
        self._ensure_watchdog()
        seconds = min(max(0.0, seconds), self.max_on_s)
        with self._cond:
            if self.is_on and not self._dirty:  # already on: the pulse runs from now
                self._want, self._release_at, self._hold_s = True, time.monotonic() + seconds, None
            else:  # counted from the moment the output is on (so it is never shorter); max_on_s bounds it meanwhile
                self._want, self._release_at, self._hold_s = True, time.monotonic() + self.max_on_s, seconds
            self._cond.notify_all()
        self._sync()

    @property
    def status(self) -> str:
        """"ok" or "disconnected"."""
        return "ok" if self._last_ok and self._connected() else "disconnected"

    @property
    def status_text(self) -> str:
        """The status in plain zh-CN words."""
        return status_text("gate", self.status)

    # -- for subclasses --------------------------------------------------------------------------
    def _apply(self, on: bool) -> bool:
        """Drive the hardware; True on success."""
        raise NotImplementedError

    def _connected(self) -> bool:
        return True

    def _shutdown(self) -> None:
        """Free the hardware after the final release."""

    def _refresh(self) -> None:
        """Called by the watchdog about once a second while idle (e.g. to notice an unplug)."""

    # -- internals -------------------------------------------------------------------------------
    def _ensure_watchdog(self) -> None:
        """Never energise without the watchdog that releases: ``on`` before ``open()``/after ``close()`` opens."""
        if self._thread is None:
            log.warning("gate output switched on while not open: opening it (and its release watchdog) first")
            self.open()

    def _want_state(self, on: bool, release_at: float | None) -> None:
        with self._cond:
            self._want, self._release_at, self._hold_s = on, release_at, None
            self._cond.notify_all()

    def _sync(self, force: bool = False) -> None:
        """Bring the hardware to the wanted state (serialised; the last writer writes the latest wish)."""
        with self._io:
            with self._cond:
                target = self._want
                if not force and not self._dirty and target == self.is_on:
                    return
            try:
                ok = self._apply(target)
            except Exception:  # a failing output must not crash the gate; the watchdog retries
                log.exception("gate output: setting %s failed", "on" if target else "off")
                ok = False
            self._last_ok = ok
            if ok:
                self.is_on = target
            with self._cond:
                self._dirty = not ok
                if ok and target and self._hold_s is not None:
                    self._release_at, self._hold_s = time.monotonic() + self._hold_s, None
                self._cond.notify_all()

    def _next_action(self) -> bool:
        """Wait for something to do; True when the hardware must be written now."""
        with self._cond:
            now = time.monotonic()
            if self._release_at is not None and now >= self._release_at:
                self._want, self._release_at = False, None
                return True
            if self._dirty or self.is_on != self._want:
                return True
            wait = 1.0 if self._release_at is None else min(1.0, self._release_at - now)
            self._cond.wait(max(0.0, wait))
            return False

    def _watch(self) -> None:
        last_refresh = time.monotonic()
        while not self._stop.is_set():
            if self._next_action():
                self._sync()
                if self._dirty:
                    self._stop.wait(RETRY_S)
            elif time.monotonic() - last_refresh >= 1.0:
                last_refresh = time.monotonic()
                self._refresh()


def _release_at_exit(ref: weakref.ReferenceType) -> None:
    gate = ref()
    if gate is not None and gate.is_on:
        gate.close()
