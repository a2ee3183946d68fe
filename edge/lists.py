"""Placeholder until the lists module lands (owned by the passes work)."""

from __future__ import annotations

import sqlite_utils


def migrate(db: sqlite_utils.Database) -> None:
    """No list tables yet."""
