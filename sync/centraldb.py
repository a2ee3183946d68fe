"""The central SQLite database: one file (WAL), several migration sets.

Each concern registers its own sqlite-utils ``Migrations`` set (``central-passes``,
``central-sync``, ``central-console``); :func:`open_db` applies them all in order.
"""

from __future__ import annotations

import importlib
import os

import sqlite_utils

from gatepass.sqlitedb import connect, migration_lock, transaction

__all__ = ["connect", "open_db", "transaction", "MIGRATION_MODULES"]

# Modules exposing ``migrate(db)``, applied in this order.
MIGRATION_MODULES = ("sync.passes.store", "sync.ingest", "sync.console.store")


def open_db(path: str | os.PathLike) -> sqlite_utils.Database:
    """Open the central database and bring its schema up to date."""
    db = connect(path)
    with migration_lock(path):
        for name in MIGRATION_MODULES:
            importlib.import_module(name).migrate(db)
    return db
