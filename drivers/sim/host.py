"""Serving a simulated device on a pseudo-terminal or a TCP port (``gatepass sim ...``).

:class:`PtyHost` makes a pseudo-terminal in raw mode and keeps the slave open itself, so
bytes the device sends while no driver listens are simply lost when the buffer is full
(as on a real UART). With ``link`` it keeps a symlink to the current slave, like a udev
rule's ``/dev/gatepass-thermometer``; the ``unplug`` fault closes the pseudo-terminal and
removes the link, and a new pseudo-terminal (and link) appears when the fault ends.
:class:`TcpHost` serves one client at a time on 127.0.0.1 (``socket://`` URLs); ``unplug``
drops the client and stops listening. Both run until the ``stop`` event is set.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from drivers.sim.device import DeviceSim

log = logging.getLogger(__name__)

SPLIT_GAP_S = 0.003
MAX_WAIT_S = 0.02


class _Host:
    def __init__(self, device: DeviceSim, announce: Callable[[str], None]) -> None:
        self.device = device
        self.announce = announce
        self.t0 = time.monotonic()
        self.plugs = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def _timeout(self) -> float:
        return min(MAX_WAIT_S, max(0.0, self.device.next_due() - self.now()))

    def _send(self, data: bytes, write: Callable[[bytes], None]) -> None:
        if not data:
            return
        if "split" in self.device.faults and len(data) > 1:
            cut = max(1, len(data) // 2)
            write(data[:cut])
            time.sleep(SPLIT_GAP_S)
            data = data[cut:]
        write(data)

    def _flush_events(self) -> None:
        for line in self.device.events:
            self.announce(line)
        self.device.events.clear()


class PtyHost(_Host):
    """Serve ``device`` on a pseudo-terminal (see the module docstring)."""

    def __init__(self, device: DeviceSim, announce: Callable[[str], None], link: Path | None = None) -> None:
        super().__init__(device, announce)
        self.link = link
        self.master: int | None = None
        self.slave: int | None = None
        self.path = ""

    def plug(self) -> str:
        """Create a new pseudo-terminal (and point the link at it); returns the slave path."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        self.path = os.ttyname(slave)
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.path)
            os.replace(tmp, self.link)
        self.plugs += 1
        self.announce(f"pty: {self.path}")
        return self.path

    def unplug(self, announce: bool = True) -> None:
        """Remove the link and close the pseudo-terminal (the driver sees a hang-up)."""
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        for fd in (self.master, self.slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = None
        if announce:
            self.announce("unplugged")

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self.master is not None:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                return  # nobody reads: the bytes are lost, as on a real wire
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return
                raise
            view = view[n:]

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        try:
            while not stop.is_set():
                self._step()
        finally:
            self.unplug(announce=False)

    def _step(self) -> None:
        t = self.now()
        tx = self.device.tick(t)
        unplugged = "unplug" in self.device.faults
        if unplugged and self.master is not None:
            self.unplug()
        elif not unplugged and self.master is None:
            self.plug()
        if self.master is None:
            time.sleep(MAX_WAIT_S)
            return
        self._send(tx, self._write)
        self._flush_events()
        ready, _, _ = select.select([self.master], [], [], self._timeout())
        if ready:
            try:
                rx = os.read(self.master, 4096)
            except (BlockingIOError, InterruptedError):
                rx = b""
            except OSError as exc:  # EIO: no slave open; cannot happen while we hold it, but be safe
                if exc.errno != errno.EIO:
                    raise
                rx = b""
            if rx:
                self._send(self.device.handle(rx), self._write)
                self._flush_events()


class TcpHost(_Host):
    """Serve ``device`` to one TCP client at a time on ``host:port``."""

    def __init__(self, device: DeviceSim, announce: Callable[[str], None], port: int = 0,
                 host: str = "127.0.0.1") -> None:
        super().__init__(device, announce)
        self.host = host
        self.port = port
        self.listener: socket.socket | None = None
        self.client: socket.socket | None = None

    def listen(self) -> int:
        """Start listening (again); returns the port."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(1)
        self.port = sock.getsockname()[1]
        self.listener = sock
        if self.plugs == 0:
            self.announce(f"tcp: {self.host}:{self.port}")
        self.plugs += 1
        return self.port

    def unplug(self) -> None:
        """Drop the client and stop listening."""
        for sock in (self.client, self.listener):
            if sock is not None:
                sock.close()
        self.client = self.listener = None

    def _write(self, data: bytes) -> None:
        if self.client is None:
            return
        try:
            self.client.sendall(data)
        except OSError:
            self._drop_client()

    def _drop_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        try:
            if self.listener is None:
                self.listen()
            while not stop.is_set():
                self._step()
        finally:
            self.unplug()

    def _step(self) -> None:
        t = self.now()
        tx = self.device.tick(t)
        unplugged = "unplug" in self.device.faults
        if unplugged and self.listener is not None:
            self.unplug()
        elif not unplugged and self.listener is None:
            self.listen()
        if self.listener is None:
            time.sleep(MAX_WAIT_S)
            return
        self._send(tx, self._write)
        self._flush_events()
        watch = [self.listener] + ([self.client] if self.client is not None else [])
        ready, _, _ = select.select(watch, [], [], self._timeout())
        if self.listener in ready:
            conn, _ = self.listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._drop_client()
            self.client = conn
        if self.client is not None and self.client in ready:
            try:
                rx = self.client.recv(4096)
            except OSError:
                rx = b""
            if not rx:
                self._drop_client()
                return
            self._send(self.device.handle(rx), self._write)
            self._flush_events()
