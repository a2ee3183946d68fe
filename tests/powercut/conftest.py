"""The power-cut tests need FUSE (/dev/fuse, ``fusermount3`` from Debian's fuse3, mfusepy from the dev extra);
their figures are repeated at the end of the pytest run."""

from __future__ import annotations

import os
import shutil

import pytest

#: One line per power-cut run (``tests.powercut.rig.CutReport.summary``), printed in the terminal summary.
SUMMARIES: list[str] = []


def fuse_missing() -> str:
    """Why FUSE cannot be used here ("" when it can)."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse (a container without the FUSE device)"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is missing (Debian package fuse3; ./run.sh test installs it)"
    return ""


@pytest.fixture
def fuse() -> None:
    """Skip when this machine has no FUSE device; fail when only the packages are missing."""
    reason = fuse_missing()
    if reason.startswith("no /dev/fuse"):
        pytest.skip(reason)
    assert not reason, reason


def pytest_terminal_summary(terminalreporter) -> None:
    if SUMMARIES:
        terminalreporter.section("power cuts")
        for line in SUMMARIES:
            terminalreporter.write_line(line)
