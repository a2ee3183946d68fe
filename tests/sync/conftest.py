"""Sync fixtures: ``central_database`` runs every central a test starts on each backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.sync import helpers


@pytest.fixture
def central_database(central_backend, request):
    """Point :class:`tests.sync.helpers.Central` at the backend under test for the duration of a test."""
    if central_backend == "postgresql":
        server = request.getfixturevalue("pg_server")
        helpers.CENTRAL_DATABASE = server.new_database
    try:
        yield central_backend
    finally:
        helpers.CENTRAL_DATABASE = None
