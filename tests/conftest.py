"""Shared fixtures: running ``gatepass`` as a real subprocess, temporary data dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_gatepass(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``gatepass ARGS`` in a subprocess and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gatepass", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd)


@pytest.fixture
def gatepass_cli():
    """The :func:`run_gatepass` helper as a fixture."""
    return run_gatepass
