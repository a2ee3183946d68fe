"""Schema migrations for the central database, on SQLite and PostgreSQL alike.

Each concern registers an ordered set (``central-passes``, ``central-sync``, ``central-console``) of
functions taking a :class:`~central.store.base.CentralDB`; :func:`apply` runs the pending ones, each in its own
transaction, recording them in ``gatepass_migrations``. Databases made by earlier versions (which recorded
their migrations in sqlite-utils' ``_sqlite_migrations`` table) are taken over as they are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from central.store.base import CentralDB

log = logging.getLogger(__name__)

Migration = Callable[[CentralDB], None]

_LEDGER = ("CREATE TABLE IF NOT EXISTS gatepass_migrations (migration_set TEXT NOT NULL, name TEXT NOT NULL, "
           "applied_at REAL NOT NULL, PRIMARY KEY (migration_set, name))")


class Migrations:
    """An ordered, named set of migrations (use the instance as a decorator: ``@migrations()``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: list[tuple[str, Migration]] = []

    def __call__(self, *, name: str | None = None) -> Callable[[Migration], Migration]:
        def register(fn: Migration) -> Migration:
            self.steps.append((name or fn.__name__, fn))
            return fn

        return register

    def pending(self, db: CentralDB) -> list[str]:
        """Names of the migrations not yet applied to ``db``."""
        _ensure_ledger(db)
        done = {r[0] for r in db.execute("SELECT name FROM gatepass_migrations WHERE migration_set = ?", [self.name])}
        return [n for n, _ in self.steps if n not in done]

    def apply(self, db: CentralDB) -> list[str]:
        """Apply the pending migrations in order; returns their names. Call under :func:`central.store.schema_lock`."""
        todo = set(self.pending(db))
        applied = []
        for name, fn in self.steps:
            if name not in todo:
                continue
            with db.transaction():
                fn(db)
                db.execute("INSERT INTO gatepass_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                           [self.name, name, time.time()])
            log.info("applied migration %s/%s on %s", self.name, name, db.label)
            applied.append(name)
        return applied


def _ensure_ledger(db: CentralDB) -> None:
    if db.table_exists("gatepass_migrations"):
        return
    with db.transaction():
        db.execute(_LEDGER)
        if db.dialect == "sqlite" and db.table_exists("_sqlite_migrations"):  # made by an earlier version
            db.execute("INSERT INTO gatepass_migrations (migration_set, name, applied_at) "
                       "SELECT migration_set, name, COALESCE(CAST(strftime('%s', applied_at) AS REAL), 0) "
                       "FROM _sqlite_migrations")


def create_row_triggers(db: CentralDB, table: str, triggers: Mapping[str, tuple[str, Sequence[str]]]) -> None:
    """Create ``AFTER <event> ON table FOR EACH ROW`` triggers on either backend: ``triggers`` maps a trigger name
    to its event (``"DELETE"``, ``"UPDATE OF a, b"``) and the statements it runs (``OLD``/``NEW`` as usual); on
    PostgreSQL each becomes a plpgsql function of the same name."""
    for name, (event, statements) in triggers.items():
        body = "; ".join(statements)
        if db.dialect == "sqlite":
            db.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body}; END")
            continue
        db.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
                   f"BEGIN {body}; RETURN NULL; END $body$")
        db.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
