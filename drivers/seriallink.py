"""A serial connection that survives unplugging, opened through ``serial.serial_for_url``.

The URL may be a device path (``/dev/ttyUSB0``, a udev symlink, a pseudo-terminal) or
any pyserial URL (``socket://127.0.0.1:7001``, ``spy:///dev/ttyUSB0?file=log.txt``,
``loop://``). Nothing is opened in the constructor. Failures never propagate: the link
reports itself disconnected and :meth:`SerialLink.ensure_open` retries with exponential
backoff (0.05 s doubling to ``backoff_max_s``, 0.5 s by default), so a device that comes
back is in use again well within 2 s.
"""

from __future__ import annotations

import logging
import time

import serial

log = logging.getLogger(__name__)


class SerialLink:
    """One serial port with reconnect-on-demand; not thread-safe (one owner thread)."""

    def __init__(self, url: str, baud: int, name: str, read_timeout_s: float = 0.05,
                 backoff_min_s: float = 0.05, backoff_max_s: float = 0.5) -> None:
        self.url = url
        self.baud = baud
        self.name = name
        self.read_timeout_s = read_timeout_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.port: serial.SerialBase | None = None
        self.connects = 0
        self.disconnects = 0
        self.last_error = ""
        self._backoff = backoff_min_s
        self._next_try = 0.0
        self._reported_down = False

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        return self.port is not None

    def ensure_open(self) -> bool:
        """Open the port if it is closed and a retry is due; True when open."""
        if self.port is not None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=self.read_timeout_s,
                                              write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            self._failed(f"cannot open {self.url}: {exc}")
            return False
        self.connects += 1
        self._backoff = self.backoff_min_s
        self._reported_down = False
        log.info("%s: connected on %s", self.name, self.url)
        return True

    def seconds_to_retry(self) -> float:
        """How long until the next open attempt is due (0 if open or due now)."""
        return 0.0 if self.port is not None else max(0.0, self._next_try - time.monotonic())

    def read(self) -> bytes:
        """Whatever arrives within the read timeout (b"" if nothing or disconnected)."""
        if self.port is None:
            return b""
        try:
            data = self.port.read(max(1, self.port.in_waiting))
            waiting = self.port.in_waiting if data else 0  # the rest of a frame that arrived meanwhile
            return data + self.port.read(waiting) if waiting else data
        except Exception as exc:  # pyserial raises several types on unplug; none may escape
            self.drop(f"read failed: {exc}")
            return b""

    def write(self, data: bytes) -> bool:
        """Send ``data``; False (and disconnected) on failure."""
        if self.port is None:
            return False
        try:
            self.port.write(data)
            self.port.flush()
            return True
        except Exception as exc:
            self.drop(f"write failed: {exc}")
            return False

    def drop(self, reason: str) -> None:
        """Close after a failure and schedule a reconnect."""
        self._close_port()
        self.disconnects += 1
        self._failed(reason)

    def close(self) -> None:
        """Close for good (no retry is scheduled by this call)."""
        self._close_port()

    def cancel_read(self) -> None:
        """Wake a blocked read (from another thread) so the owner can stop quickly."""
        port = self.port
        if port is not None and hasattr(port, "cancel_read"):
            try:
                port.cancel_read()
            except Exception:  # noqa: BLE001 - best effort only
                pass

    def _close_port(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except Exception as exc:  # closing a vanished device can fail; it is closed either way
                log.debug("%s: close: %s", self.name, exc)

    def _failed(self, reason: str) -> None:
        self.last_error = reason
        if not self._reported_down:
            log.warning("%s: disconnected (%s); retrying with backoff", self.name, reason)
            self._reported_down = True
        else:
            log.debug("%s: %s", self.name, reason)
        self._next_try = time.monotonic() + self._backoff
        self._backoff = min(self.backoff_max_s, self._backoff * 2)
