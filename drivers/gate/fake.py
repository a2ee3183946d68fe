"""A recording gate output for tests and the demo."""

from __future__ import annotations

import collections
import logging
import time

from drivers.gate.base import TimedGate

log = logging.getLogger(__name__)


class FakeGate(TimedGate):
    """Records every change as ``(t_monotonic, on)`` in :attr:`history`; nothing else happens.

    Only the newest ``HISTORY_MAX`` changes are kept: the demo and benches run it for hours.
    """

    HISTORY_MAX = 1000

    def __init__(self, max_on_s: float = 30.0) -> None:
        super().__init__(max_on_s)
        self.history: collections.deque[tuple[float, bool]] = collections.deque(maxlen=self.HISTORY_MAX)
        self._level = False

    def _apply(self, on: bool) -> bool:
        if on != self._level or not self.history:
            self.history.append((time.monotonic(), on))
            log.info("fake gate: %s", "open" if on else "closed")
        self._level = on
        return True
