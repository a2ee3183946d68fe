"""The reader thread shared by serial input devices (thermometers, scanners).

:class:`SerialDevice` owns a :class:`~drivers.seriallink.SerialLink` and a codec. ``open()``
starts one thread that connects (with backoff), runs the device's start-up commands,
feeds every received byte to the codec and hands complete messages to the subclass,
which turns them into items for a bounded queue (oldest dropped and counted in
``dropped``). ``close()`` stops it through a ``threading.Event``. Nothing here raises on
a disconnect: ``status`` tells "ok", "disconnected" or "no data".
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Generic, TypeVar

from drivers.codec import Codec
from drivers.seriallink import SerialLink
from drivers.texts import status_text
from drivers.worker import stop_worker

log = logging.getLogger(__name__)

T = TypeVar("T")


class SerialDevice(Generic[T]):
    """Base of the serial input drivers; subclasses define the codec and the message handling."""

    device_kind = "device"
    #: No valid message for this long while connected means "no data".
    stale_after_s = 2.0

    def __init__(self, url: str, baud: int, codec: Codec, queue_size: int = 16) -> None:
        self.link = SerialLink(url, baud, self.device_kind)
        self.codec = codec
        self.dropped = 0
        self._queue: collections.deque[T] = collections.deque(maxlen=queue_size)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._last_message = 0.0
        self._connected_at = 0.0

    # -- public API ------------------------------------------------------------------------------
    def open(self) -> None:
        """Start the reader thread (which connects and keeps reconnecting)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"gatepass-{self.device_kind}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and close the port."""
        self._stop.set()
        self.link.cancel_read()  # wake a blocked read at once
        stop_worker(self._stop, self._cond, self._thread)  # also wakes read() callers waiting for an item
        self._thread = None
        self.link.close()
        self._connected = False

    def __enter__(self) -> SerialDevice[T]:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def status(self) -> str:
        """"ok", "disconnected" or "no data" (connected, but nothing valid recently)."""
        if self._thread is None or not self._connected:
            return "disconnected"
        quiet_s = time.monotonic() - max(self._last_message, self._connected_at)
        return "ok" if quiet_s <= self.stale_after_s else "no data"

    @property
    def status_text(self) -> str:
        """The status in plain zh-CN words for the guard screen."""
        return status_text(self.device_kind, self.status)

    def status_text_in(self, lang: str) -> str:
        """The status in ``lang`` ("zh-CN" or "en")."""
        return status_text(self.device_kind, self.status, lang)

    def _get(self, timeout: float) -> T | None:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self._queue:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            return self._queue.popleft()

    def _put(self, item: T) -> None:
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(item)
            self._cond.notify()

    # -- for subclasses -------------------------------------------------------------------------
    def _on_connect(self) -> None:
        """Send start-up commands (the link is open)."""

    def _on_message(self, message: Any, t_monotonic: float) -> None:
        """Handle one decoded message."""
        raise NotImplementedError

    def _on_idle(self, now: float) -> None:
        """Called at least every read timeout while connected (e.g. to send queries)."""

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # a bug must not kill the gate; log it and carry on
                log.exception("%s: unexpected error in reader thread", self.device_kind)
                self.link.drop("internal error")
                self._connected = False
                self._stop.wait(0.5)

    def _step(self) -> None:
        if not self.link.is_open:
            self._connected = False
            if not self.link.ensure_open():
                self._stop.wait(min(0.1, max(0.01, self.link.seconds_to_retry())))
                return
            self.codec.reset()
            self._connected_at = time.monotonic()
            self._connected = True
            self._on_connect()
            return
        data = self.link.read()
        now = time.monotonic()
        if not self.link.is_open:
            self._connected = False
            return
        if data:
            for message in self.codec.feed(data):
                self._last_message = now
                self._on_message(message, now)
        self._on_idle(now)
