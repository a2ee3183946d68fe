"""Logging set-up shared by every gatepass process.

Under systemd, stderr goes to journald, which stamps time and unit itself, so
the format is plain ``LEVEL logger: message`` with no colour. On a terminal the
time is added and levels are coloured.
"""

import logging
import os
import sys
from typing import TextIO

_COLOURS = {"WARNING": "\x1b[33m", "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m", "DEBUG": "\x1b[2m"}


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        colour = _COLOURS.get(record.levelname)
        return f"{colour}{text}\x1b[0m" if colour else text


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (test runners swap it)."""

    @property
    def stream(self) -> TextIO:  # a read-only property in place of the attribute
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure(level: str = "INFO", stream=None) -> None:
    """Configure the root logger once for a process.

    ``level`` is a logging level name; ``GATEPASS_LOG_LEVEL`` overrides it.
    """
    level = os.environ.get("GATEPASS_LOG_LEVEL", level).upper()
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    stream = stream or sys.stderr
    under_journal = bool(os.environ.get("JOURNAL_STREAM"))
    if stream.isatty() and not under_journal and not os.environ.get("NO_COLOR"):
        handler.setFormatter(_TerminalFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
