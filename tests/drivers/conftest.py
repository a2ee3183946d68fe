"""Fixtures for the driver tests: device simulators as real child processes (``gatepass sim ...``)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

EOF = "\x00EOF"  # sentinel line: the simulator's stdout closed


class SimProcess:
    """A simulator in a child process; stdout lines are collected with arrival times.

    By default it runs ``python -m drivers.sim ARGS`` (the ``gatepass sim`` group alone, so the
    driver tests do not depend on the other services importing cleanly); ``via_gatepass``
    runs the real ``gatepass sim ARGS``.
    """

    def __init__(self, *args: str, via_gatepass: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
        entry = ["gatepass", "sim"] if via_gatepass else ["drivers.sim"]
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, "-m", *entry, *args], stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, env=env)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = self.next_line(30)
        if first is None:
            self.stop()
            self._stderr.seek(0)
            raise RuntimeError(f"simulator {args} did not start: {self._stderr.read()[-2000:]}")
        self.first_line = first[1]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))
        self.lines.put((time.monotonic(), EOF))

    def next_line(self, timeout: float = 10) -> tuple[float, str] | None:
        """The next stdout line with its arrival time, or None."""
        try:
            item = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if item[1] == EOF:
            self.lines.put(item)  # stay at the end
            return None
        return item

    def wait_for(self, prefix: str, timeout: float = 10) -> tuple[float, str] | None:
        """Skip lines until one starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            item = self.next_line(left)
            if item is None:
                return None
            if item[1].startswith(prefix):
                return item
        return None

    def stop(self) -> int:
        """SIGTERM, wait, return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


@pytest.fixture
def sim():
    """Start simulators with ``sim("thermometer", "--pty", ...)``; all are stopped after the test."""
    started: list[SimProcess] = []

    def start(*args: str, via_gatepass: bool = False) -> SimProcess:
        proc = SimProcess(*args, via_gatepass=via_gatepass)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def write_scenario(path: Path, text: str) -> str:
    """Write a scenario file and return its path as a string."""
    path.write_text(text, encoding="utf-8")
    return str(path)
