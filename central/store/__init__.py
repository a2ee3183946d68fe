"""The central store: one interface (:class:`CentralDB`) over SQLite (the default) and PostgreSQL.

A *target* names the database: a file path for SQLite, or a ``postgresql://`` URL. :func:`connect` opens one
connection; :func:`schema_lock` serialises schema changes between processes opening the same database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from central.store.base import CentralDB, StoreError

__all__ = ["CentralDB", "StoreError", "connect", "is_postgres", "schema_lock"]

Target = str | os.PathLike


def is_postgres(target: Target) -> bool:
    """True if ``target`` is a PostgreSQL URL rather than a file path."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def connect(target: Target) -> CentralDB:
    """Open one connection to the central database named by ``target``."""
    if is_postgres(target):
        from central.store.postgres import PostgresDB

        return PostgresDB(str(target))
    from central.store.sqlite import SQLiteDB

    return SQLiteDB(target)


@contextlib.contextmanager
def schema_lock(db: CentralDB) -> Iterator[None]:
    """Hold a lock no other process opening the same database can take while migrating it."""
    if db.dialect == "postgresql":
        from central.store.postgres import lock_key

        key = lock_key("schema")
        db.execute("SELECT pg_advisory_lock(?)", [key])
        try:
            yield
        finally:
            db.execute("SELECT pg_advisory_unlock(?)", [key])
    else:
        from gatepass.sqlitedb import migration_lock

        with migration_lock(db.path):  # type: ignore[attr-defined]
            yield
