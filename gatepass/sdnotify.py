"""Telling systemd how a service is doing (``sd_notify``), without libsystemd.

A unit with ``Type=notify`` hands the service the path of a datagram socket in
``NOTIFY_SOCKET``; the service sends ``READY=1`` once it can do its job,
``WATCHDOG=1`` at least every ``WatchdogSec`` (systemd restarts it otherwise),
``STATUS=...`` lines shown by ``systemctl status`` and ``STOPPING=1`` on the way
out. Outside systemd (no ``NOTIFY_SOCKET``) every call is a cheap no-op, so the
same code runs in the demo, the tests and on the Pi.

Usage::

    notifier = Notifier.from_environment()
    notifier.ready("scanning")
    while running:
        ...
        notifier.watchdog()      # rate-limited: call it every loop turn
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(raw: str) -> str | bytes:
    """The socket address in ``NOTIFY_SOCKET``: a path, or ``@name`` for the abstract namespace."""
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    return raw


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog period systemd expects (``WATCHDOG_USEC``), or None when there is no watchdog.

    ``WATCHDOG_PID``, when set, must be this process (a child must not ping for its parent).
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdecimal() or int(usec) <= 0:
        return None
    if pid and (not pid.isdecimal() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1e6


class Notifier:
    """Sends sd_notify messages to ``NOTIFY_SOCKET``; a no-op when ``address`` is None.

    Sending never raises: a lost notification must not stop the gate (systemd's
    watchdog then restarts the service, which is the intended outcome).
    """

    def __init__(self, address: str | None, watchdog_s: float | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s
        # Ping at half the period, as sd_watchdog_enabled(3) recommends.
        self._min_gap_s = watchdog_s / 2 if watchdog_s else 0.0
        self._last_ping = float("-inf")
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.sent = 0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """A notifier for ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC`` (no-op if unset)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_interval_s(env))

    @property
    def enabled(self) -> bool:
        """True when running under a service manager that listens."""
        return self.address is not None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; True if it was sent."""
        if self.address is None:
            return False
        message = "\n".join(assignments).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(message, _address(self.address))
            except OSError as exc:
                log.warning("could not notify the service manager at %s: %s", self.address, exc)
                return False
            self.sent += 1
        return True

    def ready(self, status: str = "") -> bool:
        """``READY=1`` (with an optional status line): the service does its job now."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """``STATUS=text``: one line shown by ``systemctl status``."""
        return self.notify(f"STATUS={text.splitlines()[0] if text else ''}")

    def watchdog(self, now: float | None = None) -> bool:
        """``WATCHDOG=1``, at most once per half watchdog period; call it from the loop that must not hang."""
        if self.address is None or self.watchdog_s is None:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last_ping < self._min_gap_s:
            return False
        self._last_ping = now
        return self.notify("WATCHDOG=1")

    def extend_start(self, status: str, seconds: float = 60.0) -> bool:
        """``EXTEND_TIMEOUT_USEC``: still starting, give me ``seconds`` more (a long database recovery)."""
        return self.notify(f"EXTEND_TIMEOUT_USEC={int(seconds * 1e6)}", f"STATUS={status}")

    def stopping(self, status: str = "") -> bool:
        """``STOPPING=1``: the service is shutting down on purpose."""
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        """Close the socket (further calls reopen it)."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


class LoopWatch:
    """Pings the watchdog from inside the service's loops, but only while *every* loop turns.

    Each loop calls :meth:`beat` with its name on every turn (the checkpoint's frames,
    scanner, thermometer and decide loops each wake at least every 0.5 s). A loop that has
    beaten once and then stays silent for ``stale_s`` stops the pings, so systemd's
    ``WatchdogSec`` restarts the service even though the other loops are healthy.
    """

    def __init__(self, notifier: Notifier, stale_s: float | None = None) -> None:
        self.notifier = notifier
        period = notifier.watchdog_s or 30.0
        self.stale_s = stale_s if stale_s is not None else max(5.0, period / 3)
        self._last: dict[str, float] = {}
        self._reported: list[str] = []
        self._lock = threading.Lock()

    def beat(self, name: str, now: float | None = None) -> bool:
        """Record a turn of loop ``name``; returns True if the watchdog was pinged."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._last[name] = now
            stale = [n for n, t in self._last.items() if now - t > self.stale_s]
        if stale:
            if stale != self._reported:
                log.error("loop(s) %s have not turned for %.0f s: not pinging the watchdog", ", ".join(stale),
                          self.stale_s)
                self._reported = stale
            return False
        self._reported = []
        return self.notifier.watchdog(now)

    def stale(self, now: float | None = None) -> list[str]:
        """Names of the loops that have stopped turning."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return sorted(n for n, t in self._last.items() if now - t > self.stale_s)


def announce_when_ready(notifier: Notifier, is_ready: Callable[[], bool], stop: threading.Event,
                        status: str = "ready", tick: Callable[[], object] | None = None,
                        tick_every_s: float = 60.0) -> threading.Thread:
    """Start a daemon thread that sends ``READY=1`` once ``is_ready()`` holds, then calls ``tick`` periodically."""

    def run() -> None:
        while not stop.is_set() and not is_ready():
            stop.wait(0.02)
        if stop.is_set():
            return
        notifier.ready(status)
        log.info("ready: %s", status)
        while tick is not None and not stop.wait(tick_every_s):
            try:
                tick()
            except Exception:  # a periodic chore must not end the thread
                log.exception("periodic service chore failed")

    thread = threading.Thread(target=run, name="gatepass-sdnotify", daemon=True)
    thread.start()
    return thread


_default: Notifier | None = None


def default() -> Notifier:
    """The process-wide notifier built from the environment at first use."""
    global _default
    if _default is None:
        _default = Notifier.from_environment()
    return _default
