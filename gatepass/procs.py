"""Starting and stopping the child processes of ``gatepass demo`` (and of tests)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gatepass.errors import GatepassError

log = logging.getLogger(__name__)


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else a free port chosen by the kernel."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise GatepassError("no free TCP port on this machine")


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the parent dies (PR_SET_PDEATHSIG),
    so a killed demo leaves no orphans behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass  # not Linux: the demo's finally-block still stops its children


def gatepass_command(*args: str) -> list[str]:
    """The argv that runs ``gatepass ARGS`` with this very interpreter."""
    return [sys.executable, "-m", "gatepass", *args]


class Child:
    """A named child process whose output goes to a log file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> Child:
        """Start the process (its stdout and stderr go to ``<name>.log``)."""
        env = {**os.environ, **(self.env or {})}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log.info("started %s (pid %d), log %s", self.name, self.proc.pid, self.log_path)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 5) -> str:
        """The last lines of the child's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s`` seconds."""
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_http(url: str, child: Child, timeout_s: float = 30.0) -> None:
    """Wait until ``url`` answers 200, failing early if ``child`` dies."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise GatepassError(f"{child.name} exited early:\n{child.tail()}", f"see {child.log_path}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise GatepassError(f"{child.name} did not answer at {url} within {timeout_s:.0f} s", f"see {child.log_path}")
