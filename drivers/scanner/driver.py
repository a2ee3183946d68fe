"""The serial QR scanner driver: :class:`Scanner` over any pyserial URL (GM65/GM805 family).

``open()`` starts the reader thread (reconnects with backoff like every serial driver);
``read(timeout)`` returns the next decoded text. Binary setting replies are counted in
``replies`` and not returned as texts. ``trigger()`` asks for one scan (modules in
command-triggered mode).
"""

from __future__ import annotations

import logging
from typing import Any

from drivers.config import ScannerConfig
from drivers.scanner import gm65
from drivers.serialdevice import SerialDevice

log = logging.getLogger(__name__)

SUFFIXES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n", "tab": b"\t"}


class Scanner(SerialDevice[str]):
    """A serial QR scanner module; see the module docstring."""

    device_kind = "scanner"
    #: A scanner is silent until someone shows a code: silence is not a fault.
    stale_after_s = float("inf")

    def __init__(self, config: ScannerConfig) -> None:
        self.config = config
        super().__init__(config.url, config.baud, gm65.ScannerDecoder(SUFFIXES[config.suffix]))
        self.replies = 0
        self._pending = b""

    def read(self, timeout: float) -> str | None:
        """The next decoded text, or None within ``timeout`` seconds. Never raises on disconnect."""
        return self._get(timeout)

    def trigger(self) -> bool:
        """Ask the module for one scan (only meaningful in command-triggered mode)."""
        with self._cond:
            self._pending += gm65.trigger_command()
        return True

    def _on_idle(self, now: float) -> None:
        with self._cond:
            pending, self._pending = self._pending, b""
        if pending:
            self.link.write(pending)

    def _on_message(self, message: Any, t_monotonic: float) -> None:
        if isinstance(message, gm65.ScanText):
            self._put(message.text)
        else:
            self.replies += 1
