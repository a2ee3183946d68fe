"""Waiting after a failed sync round without sleeping through central's return.

:func:`full_jitter` draws the wait after ``n`` failures (AWS's "full jitter": uniform in ``[0, min(cap, base·2ⁿ⁻¹)]``).
:class:`ProbingWait` waits it out but asks a cheap probe (central's ``/healthz``) every few seconds and ends the
wait as soon as central answers, so a backlog drains seconds after the network is back instead of after a backoff
drawn during the outage (up to ``backoff_cap_s``, five minutes by default).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from gatepass.clock import SYSTEM, Clock

log = logging.getLogger(__name__)


def full_jitter(failures: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``failures`` consecutive failures: uniform in [0, min(cap, base * 2^(n-1))]."""
    ceiling = min(cap_s, base_s * 2 ** min(max(failures - 1, 0), 30))
    return (rng or random).uniform(0, ceiling)


class ProbingWait:
    """Wait up to a given time, stopped by ``stop`` or cut short when ``probe()`` returns True.

    ``probe`` is called every ``every_s`` seconds of the wait (0: never); it must be cheap and bounded in time,
    and it must not raise (an exception counts as "not reachable").
    """

    def __init__(self, stop: threading.Event, probe: Callable[[], bool], every_s: float,
                 clock: Clock = SYSTEM) -> None:
        self.stop = stop
        self.probe = probe
        self.every_s = every_s
        self.clock = clock
        self.woken = 0  # waits cut short by a probe (for the log and the tests)

    def wait(self, seconds: float, probing: bool = True) -> bool:
        """Wait; True when a probe found central reachable before the time was up."""
        deadline = self.clock.monotonic() + seconds
        step = self.every_s if probing and self.every_s > 0 else seconds
        while not self.stop.is_set():
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return False
            if self.stop.wait(min(step, left)):
                return False
            if step < seconds and deadline - self.clock.monotonic() > 0 and self._reachable():
                self.woken += 1
                log.info("central answers again; retrying now instead of in %.0f s",
                         deadline - self.clock.monotonic())
                return True
        return False

    def _reachable(self) -> bool:
        try:
            return bool(self.probe())
        except Exception:  # noqa: BLE001 - a probe that breaks means "not reachable"
            log.debug("probe failed", exc_info=True)
            return False
