"""Fixtures of the core's tests (``edge_db``: shared with the checkpoint tests)."""

from __future__ import annotations

from tests.edge.conftest import edge_db

__all__ = ["edge_db"]
