"""Bounding credential checks: failures counted before the check, and hashing one at a time.

A PIN or password check costs an argon2 hash (tens of MiB and tens of ms each). Two small objects keep bursts of
sign-in attempts harmless, on the gate (guard PINs) and at central (staff passwords):

- :class:`FailureCounter` counts an attempt as a failure *before* the expensive check, under a lock, and takes it
  back on success. Forty concurrent attempts therefore see the counter one after the other: once ``limit`` attempts
  are in flight or failed within the window, the next is refused (:class:`Locked`) without hashing.
- :class:`HashQueue` lets at most ``workers`` checks hash at once; the rest wait in a bounded queue (at most
  ``per_key`` waiting per client address) and are refused with :class:`Busy` beyond it. Memory stays at ``workers``
  hashes whatever the burst.

Both take an injected clock (:mod:`gatepass.clock`) and hold bounded state (``max_keys`` keys, the oldest forgotten
first).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gatepass.clock import SYSTEM, Clock
from gatepass.errors import GatepassError

log = logging.getLogger(__name__)


class ThrottleError(GatepassError):
    """A credential check refused before it ran; ``retry_after_s`` says when trying again makes sense."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Locked(ThrottleError):
    """Too many failed attempts for this key within the window."""


class Busy(ThrottleError):
    """Too many checks waiting (in all, or from this key)."""


@dataclass(frozen=True)
class Attempt:
    """One attempt counted by :meth:`FailureCounter.begin`; give it back to :meth:`FailureCounter.succeeded`."""

    key: str
    at: float


class FailureCounter:
    """Failed attempts per key within ``window_s``; at ``limit`` the key is locked for ``lockout_s``.

    :meth:`begin` counts the attempt as failed at once (atomically), so concurrent attempts cannot all pass a
    check made before any of them failed; :meth:`succeeded` takes the attempt back and clears the key.
    """

    def __init__(self, limit: int, window_s: float, lockout_s: float, *, clock: Clock = SYSTEM,
                 max_keys: int = 10_000) -> None:
        self.limit, self.window_s, self.lockout_s = limit, window_s, lockout_s
        self.clock, self.max_keys = clock, max_keys
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._locked_until: dict[str, float] = {}

    def begin(self, key: str) -> Attempt:
        """Count an attempt for ``key``; :class:`Locked` when the key is locked or at its limit."""
        with self._lock:
            now = self.clock.monotonic()
            left = self._locked_until.get(key, 0.0) - now
            if left > 0:
                raise Locked(f"{key}: locked for {left:.0f} s", left)
            times = self._recent(key, now)
            if len(times) >= self.limit:  # lock; after the lock-out the key gets ``limit`` fresh attempts
                self._locked_until[key] = now + self.lockout_s
                times.clear()
                raise Locked(f"{key}: {len(times)} failed attempts", self.lockout_s)
            times.append(now)
            return Attempt(key, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt was right: forget the key's failures."""
        with self._lock:
            self._failures.pop(attempt.key, None)
            self._locked_until.pop(attempt.key, None)

    def take_back(self, attempt: Attempt) -> None:
        """Stop counting this one attempt (it was right, or never checked); the key's other failures stay."""
        with self._lock:
            times = self._failures.get(attempt.key)
            if times is not None and attempt.at in times:
                times.remove(attempt.at)

    def clear(self, key: str) -> None:
        """Unlock ``key`` (an administrator's unlock)."""
        with self._lock:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)

    def failures(self, key: str) -> int:
        """Attempts counted as failed for ``key`` within the window (in-flight ones included)."""
        with self._lock:
            return len(self._recent(key, self.clock.monotonic()))

    def locked_for(self, key: str) -> float:
        """Seconds ``key`` stays locked (0: not locked)."""
        with self._lock:
            return max(0.0, self._locked_until.get(key, 0.0) - self.clock.monotonic())

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            times = self._failures[key] = deque()
            while len(self._failures) > self.max_keys:
                old, _ = self._failures.popitem(last=False)
                self._locked_until.pop(old, None)
        else:
            self._failures.move_to_end(key)
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times


class HashQueue:
    """At most ``workers`` hash checks at once; at most ``max_waiting`` waiting, ``per_key`` of them per key.

    Use ``with queue.slot(client_address): verify(...)``; :class:`Busy` when the queue (or the key's share of it)
    is full, or when no worker came free within ``wait_s``.
    """

    def __init__(self, workers: int = 1, max_waiting: int = 32, per_key: int = 2, wait_s: float = 10.0) -> None:
        self.workers, self.max_waiting, self.per_key, self.wait_s = workers, max_waiting, per_key, wait_s
        self._cond = threading.Condition()
        self._running = 0
        self._waiting: dict[str, int] = {}
        self.refused = 0

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of the workers for the body of the ``with``."""
        self._enter(key)
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()

    def stats(self) -> dict[str, int]:
        """Checks running, waiting and refused so far."""
        with self._cond:
            return {"running": self._running, "waiting": sum(self._waiting.values()), "refused": self.refused}

    def _enter(self, key: str) -> None:
        with self._cond:
            if sum(self._waiting.values()) >= self.max_waiting or self._waiting.get(key, 0) >= self.per_key:
                self.refused += 1
                raise Busy(f"{key}: too many checks waiting", 1.0)
            self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                got = self._cond.wait_for(lambda: self._running < self.workers, timeout=self.wait_s)
            finally:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]
            if not got:
                self.refused += 1
                raise Busy(f"{key}: no worker free in {self.wait_s:.0f} s", self.wait_s)
            self._running += 1
