"""Time as an injected dependency: the parts of gatepass ask a :class:`Clock`, never ``time`` itself.

``monotonic()`` measures intervals (cooldowns, pairing windows, backoffs); ``time()`` is the wall clock that
stamps entries. :data:`SYSTEM` reads the real clocks; :class:`ManualClock` is moved by hand (tests, benches,
simulations), so a test of a 180-second window takes no 180 seconds.
"""

from __future__ import annotations

import threading
import time as _time
from typing import Protocol

__all__ = ["SYSTEM", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Both clocks a part may need."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (intervals only)."""

    def time(self) -> float:
        """The wall clock, unix seconds (may be wrong on a Pi without a real-time clock)."""


class SystemClock:
    """The real clocks."""

    def monotonic(self) -> float:
        """:func:`time.monotonic`."""
        return _time.monotonic()

    def time(self) -> float:
        """:func:`time.time`."""
        return _time.time()


SYSTEM: Clock = SystemClock()


class ManualClock:
    """A clock that moves only when told to (thread-safe). Both clocks move together."""

    def __init__(self, wall: float = 1_780_000_000.0, monotonic: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self._wall = wall
        self._mono = monotonic

    def monotonic(self) -> float:
        """The current monotonic reading."""
        with self._lock:
            return self._mono

    def time(self) -> float:
        """The current wall time."""
        with self._lock:
            return self._wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` (never back)."""
        if seconds < 0:
            raise ValueError("a clock does not go back; use set_wall for a wall-clock jump")
        with self._lock:
            self._mono += seconds
            self._wall += seconds

    def set_wall(self, wall: float) -> None:
        """Set the wall clock (as NTP or a person would; it may jump back); the monotonic clock stays."""
        with self._lock:
            self._wall = wall
