"""The sync process's state in the edge database, for the guard screen (migration set ``edge-sync``).

``gatepass sync run`` writes a few keys into ``sync_state``; the edge process
reads them with :func:`read` (or :func:`status`) without talking to the sync
process. Keys: ``last_upload_at`` (unix s, last upload central confirmed),
``last_error`` (plain zh-CN words for the guard, null when fine),
``last_error_en`` (the same in English), ``last_error_code`` (a key of :data:`sync.messages.MESSAGES`),
``last_error_detail`` (technical, for the log reader), ``error_kind``
(``network`` | ``rejected`` | ``lists`` | null), ``backlog`` (entries not yet at
central), ``list_version``, ``list_updated_at`` (unix s when central last
issued lists we applied or confirmed current), ``lists_max_age_s``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from gatepass.sqlitedb import transaction

migrations = Migrations("edge-sync")


@migrations()
def m001_sync_state(db: sqlite_utils.Database) -> None:
    """The key/value table."""
    db.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT, updated_at REAL NOT NULL)")


def migrate(db: sqlite_utils.Database) -> None:
    """Apply pending ``edge-sync`` migrations."""
    migrations.apply(db)


def write(db: sqlite_utils.Database, now: float | None = None, **values: Any) -> None:
    """Set some keys in one transaction."""
    now = time.time() if now is None else now
    with transaction(db):
        for key, value in values.items():
            db.execute("INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                       [key, json.dumps(value), now])


def read_key(db: sqlite_utils.Database, key: str) -> Any:
    """One key's value (None when unset)."""
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else None


def read(db: sqlite_utils.Database) -> dict[str, Any]:
    """Every key the sync process wrote."""
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM sync_state")}


def status(db: sqlite_utils.Database, now: float | None = None) -> dict[str, Any]:
    """What the guard screen shows: state plus ``lists_age_s`` and ``lists_stale`` (older than the limit)."""
    now = time.time() if now is None else now
    state = read(db)
    updated = state.get("list_updated_at")
    age = None if updated is None else max(0.0, now - float(updated))
    limit = float(state.get("lists_max_age_s") or 24 * 3600)
    state["lists_age_s"] = age
    state["lists_stale"] = age is None or age > limit
    return state
