"""Sign-in throttling: wrong PINs counted before the check, and one argon2 check at a time.

A PIN check costs an argon2 hash (19 MiB, tens of ms on a Pi). :class:`PinGuard` puts the sign-in through the two
objects of :mod:`gatepass.throttle`:

- a :class:`~gatepass.throttle.FailureCounter` for the whole gate (one key: the PIN space is what is guarded):
  each attempt counts as wrong *before* its check and is taken back when right, so however many arrive at once,
  only ``attempts`` are checked before sign-in locks for ``lockout_s``;
- a :class:`~gatepass.throttle.HashQueue`: one check hashes at a time (never on the event loop); at most
  :data:`PER_CLIENT` wait per client address and :data:`WAITING` in all, the rest are refused with a 429. With
  the default 5 attempts a single kiosk's burst fits: exactly 5 PINs are checked.

The hashes themselves all run on one dedicated thread: glibc gives each thread its own malloc arena and keeps
argon2's freed 19 MiB there, so checks spread over the web server's worker threads left one such block behind
per thread (measured: +77 MB after five checks, +230 MB after nineteen; ``bench/bench_guard_pins.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from edge.web.errors import ScreenError
from gatepass.clock import SYSTEM, Clock
from gatepass.throttle import Attempt, Busy, FailureCounter, HashQueue, Locked

KEY = "sign-in"
WINDOW_S = 900.0  # wrong PINs within this long count together
PER_CLIENT = 4    # checks one client address may have waiting
WAITING = 16      # checks waiting in all


class PinGuard:
    """Locks sign-in after ``attempts`` wrong PINs (in flight ones included) for ``lockout_s``."""

    def __init__(self, attempts: int, lockout_s: float, clock: Clock = SYSTEM, queue: HashQueue | None = None) -> None:
        self.failures = FailureCounter(attempts, WINDOW_S, lockout_s, clock=clock)
        self.queue = queue or HashQueue(workers=1, max_waiting=WAITING, per_key=PER_CLIENT, wait_s=10.0)
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatepass-pin-check")

    def begin(self) -> Attempt:
        """Count a sign-in attempt as wrong until it proves right; a 429 while sign-in is locked."""
        try:
            return self.failures.begin(KEY)
        except Locked as exc:
            left = int(exc.retry_after_s) + 1
            raise ScreenError(429, "pin_locked", f"PIN错误次数过多，请{left}秒后再试",
                              f"Too many wrong PINs: try again in {left} s") from None

    def check(self, client: str, verify: Callable[[], bool]) -> bool:
        """``verify()`` on the hashing thread, holding the hash queue's worker (call in a worker thread: it waits
        its turn); a 429 when the queue is full."""
        try:
            with self.queue.slot(client):
                return self._hasher.submit(verify).result()
        except Busy:
            raise ScreenError(429, "pin_busy", "正在核对其他PIN，请稍后再试",
                              "Another PIN is being checked: try again in a moment") from None

    def succeeded(self, attempt: Attempt) -> None:
        """The PIN was right: the wrong ones before it are forgiven."""
        self.failures.succeeded(attempt)

    def close(self) -> None:
        """End the hashing thread (after the check running now, if any)."""
        self._hasher.shutdown(wait=True)
