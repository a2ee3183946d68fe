"""The central database: SQLite (one file, WAL) by default, PostgreSQL when ``database_url`` says so.

Each concern registers its own migration set (``central-passes``, ``central-sync``, ``central-console``;
:class:`central.store.migrations.Migrations`); :func:`open_db` applies them all in order.
"""

from __future__ import annotations

import contextlib
import importlib

from central.store import CentralDB, connect, schema_lock

__all__ = ["connect", "open_db", "transaction", "MIGRATION_MODULES", "CentralDB"]

# Modules exposing ``migrate(db)``, applied in this order.
MIGRATION_MODULES = ("central.passes.store", "central.ingest", "central.console.store", "central.console.signin")


def open_db(target) -> CentralDB:
    """Open the central database named by ``target`` (a path or a ``postgresql://`` URL); bring its schema up
    to date."""
    db = connect(target)
    with schema_lock(db):
        for name in MIGRATION_MODULES:
            importlib.import_module(name).migrate(db)
    return db


def transaction(db: CentralDB, *, readonly: bool = False) -> contextlib.AbstractContextManager[CentralDB]:
    """``db.transaction()``: a write transaction (a savepoint inside an open one)."""
    return db.transaction(readonly=readonly)
