"""The central database: SQLite (one file, WAL) by default, PostgreSQL when ``database_url`` says so.

Each concern registers its own migration set (``central-passes``, ``central-sync``, ``central-console``;
:class:`central.store.migrations.Migrations`); :func:`open_db` applies them all in order.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from pathlib import Path

from central.store import CentralDB, connect, is_postgres, schema_lock

__all__ = ["connect", "open_db", "transaction", "private_file", "MIGRATION_MODULES", "CentralDB"]

log = logging.getLogger(__name__)

FILE_MODE = 0o600  # the database, its -wal/-shm and backups hold personal data: owner only
DIR_MODE = 0o750

# Modules exposing ``migrate(db)``, applied in this order.
MIGRATION_MODULES = ("central.passes.store", "central.ingest", "central.console.store", "central.console.signin",
                     "central.console.report_templates", "central.people", "central.duty",
                     "central.patrol", "central.homes", "central.tabular", "central.roster_import",
                     "central.care", "central.screening", "central.enrolment")


def open_db(target) -> CentralDB:
    """Open the central database named by ``target`` (a path or a ``postgresql://`` URL); bring its schema up
    to date. A new SQLite file is made readable by its owner only; an existing one loses any world access."""
    if not is_postgres(target):
        path = Path(target)
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=DIR_MODE)
        for made in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            private_file(made, create=made == path)
    db = connect(target)
    with schema_lock(db):
        for module in MIGRATION_MODULES:
            importlib.import_module(module).migrate(db)
    return db


def transaction(db: CentralDB, *, readonly: bool = False) -> contextlib.AbstractContextManager[CentralDB]:
    """``db.transaction()``: a write transaction (a savepoint inside an open one)."""
    return db.transaction(readonly=readonly)


def private_file(path: str | os.PathLike, *, create: bool = True) -> None:
    """Make ``path`` an owner-only file: created empty with mode 0600 when missing (``create``), else stripped of
    any access by others (SQLite gives its -wal and -shm files the database file's mode)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE) if create else None
    except FileExistsError:
        fd = None
    if fd is not None:
        os.close(fd)
        return
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o007:
            path.chmod(mode & ~0o007)
            log.warning("%s was readable by everyone: now mode %o", path, mode & ~0o007)
    except FileNotFoundError:
        pass
