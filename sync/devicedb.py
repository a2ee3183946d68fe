"""The edge's SQLite database: the local log (the sync outbox) and the synced lists.

One file shared in WAL mode by ``gatepass edge run`` and ``gatepass sync run``.
Schema changes are sqlite-utils ``Migrations`` sets: ``edge-log``
(:mod:`sync.locallog`) and ``edge-lists`` (:mod:`sync.lists`).
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlite_utils

from gatepass.private_files import make_db_private
from gatepass.sqlitedb import connect, migration_lock, transaction

__all__ = ["connect", "open_db", "transaction"]


def open_db(path: str | os.PathLike) -> sqlite_utils.Database:
    """Open the edge database (owner-only: it holds PIN hashes and personal data, whichever service makes it
    first) and bring every migration set up to date."""
    from sync import lists, locallog
    from sync import state as sync_state

    db = connect(path)
    with migration_lock(path):
        locallog.migrate(db)
        lists.migrate(db)
        sync_state.migrate(db)  # sync_state, written by 'gatepass sync run'
    make_db_private(Path(path))
    return db
