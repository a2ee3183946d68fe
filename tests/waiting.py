"""The one polling helper of the test suite."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(cond: Callable[[], object], timeout: float = 10.0, every: float = 0.02) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` seconds pass; returns its last truth value.

    A bound for something that happens in another thread or process, never an assertion on speed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return bool(cond())
