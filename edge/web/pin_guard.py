"""The sign-in lockout after too many wrong PINs."""

from __future__ import annotations

import time

from edge.web.errors import ScreenError


class PinGuard:
    """Locks sign-in for a while after too many wrong PINs in a row."""

    def __init__(self, attempts: int, lockout_s: float) -> None:
        self.attempts, self.lockout_s = attempts, lockout_s
        self.failures = 0
        self.locked_until = 0.0

    def check(self) -> None:
        """Raise if sign-in is locked."""
        left = self.locked_until - time.monotonic()
        if left > 0:
            raise ScreenError(429, "pin_locked", f"PIN错误次数过多，请{int(left) + 1}秒后再试",
                              f"Too many wrong PINs: try again in {int(left) + 1} s")

    def record(self, ok: bool) -> None:
        """Count a sign-in attempt."""
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.attempts:
            self.failures = 0
            self.locked_until = time.monotonic() + self.lockout_s
