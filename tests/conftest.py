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


# -- central store backends: SQLite file or a database on the test PostgreSQL server (tests/pgserver.py) -----------

from collections.abc import Iterator  # noqa: E402

from tests.pgserver import PgServer, new_central_target, require_shared_server, stop_shared_server  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's throw-away PostgreSQL server, started on first use (skipped if PostgreSQL is missing; a
    failure when env ``CI`` is set)."""
    server = require_shared_server()
    yield server
    stop_shared_server()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def central_backend(request: pytest.FixtureRequest) -> str:
    """The central store backend under test: ``"sqlite"`` or ``"postgresql"``."""
    return request.param


@pytest.fixture
def central_url(central_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty central store for ``central_backend``: an SQLite path or a new PostgreSQL database URL."""
    if central_backend == "postgresql":
        return request.getfixturevalue("pg_server").new_database()
    return new_central_target(central_backend, tmp_path)


@pytest.fixture
def central_database(central_backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Point :class:`tests.sync.helpers.Central` at the backend under test for the duration of a test."""
    from tests.sync import helpers

    if central_backend == "postgresql":
        server = request.getfixturevalue("pg_server")
        helpers.CENTRAL_DATABASE = server.new_database
    try:
        yield central_backend
    finally:
        helpers.CENTRAL_DATABASE = None
