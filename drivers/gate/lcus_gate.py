"""The LCUS-1/2/4/8 USB serial relay as a gate output (protocol in :mod:`drivers.gate.lcus`).

Commands are at least 100 ms apart (the board misses faster ones). The board never
answers, so an unplug is noticed when a write fails; the watchdog re-sends the current
state about every 5 s while idle to notice it, and retries with backoff until the board
is back. ``inverted`` swaps on/off for boards whose "on" opens the contact.
"""

from __future__ import annotations

import time

from drivers.gate.base import TimedGate
from drivers.gate.lcus import encode_switch
from drivers.seriallink import SerialLink

MIN_GAP_S = 0.1
REFRESH_S = 5.0


class LcusGate(TimedGate):
    """Gate relay on channel ``channel`` of an LCUS board at ``url``."""

    def __init__(self, url: str, channel: int = 1, inverted: bool = False, max_on_s: float = 30.0,
                 baud: int = 9600) -> None:
        super().__init__(max_on_s)
        self.channel = channel
        self.inverted = inverted
        self.link = SerialLink(url, baud, "gate relay")
        self._last_write = 0.0

    def _apply(self, on: bool) -> bool:
        if not self.link.ensure_open():
            return False
        gap = self._last_write + MIN_GAP_S - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        ok = self.link.write(encode_switch(self.channel, on != self.inverted))
        self._last_write = time.monotonic()
        return ok

    def _connected(self) -> bool:
        return self.link.is_open

    def _refresh(self) -> None:
        if time.monotonic() - self._last_write >= REFRESH_S or not self.link.is_open:
            self._sync(force=True)

    def _shutdown(self) -> None:
        self.link.close()
