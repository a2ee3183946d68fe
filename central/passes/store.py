"""Central pass tables (migration set ``central-passes``) and the change log.

Tables: ``pass_keys`` (signing key metadata; private keys live in files, see
:mod:`central.passes.keys`), ``households``, ``passes`` (every issued pass, its
text and revocation), ``quarantines`` (home quarantine records of households and persons, kept after release),
``pass_policy`` and ``pass_changes``: the change log devices follow. Every
revoke, quarantine, release, key or policy change appends to ``pass_changes``
in the same transaction as the change (:func:`append_change`), so the log's
increasing ``v`` is the list version.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

from central.store import CentralDB
from central.store.migrations import Migrations

migrations = Migrations("central-passes")


@migrations()
def m001_pass_tables(db: CentralDB) -> None:
    """Create the pass tables."""
    db.execute("CREATE TABLE pass_keys (kid TEXT PRIMARY KEY, public_key TEXT NOT NULL, created_at REAL NOT NULL, "
               "not_before REAL NOT NULL, not_after REAL, "
               "status TEXT NOT NULL CHECK (status IN ('active', 'verify', 'retired')))")
    db.execute("CREATE TABLE households (household TEXT PRIMARY KEY, created_at REAL NOT NULL)")
    db.execute("CREATE TABLE passes (pass_id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "household TEXT NOT NULL REFERENCES households(household), person INTEGER NOT NULL, "
               "kind TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', valid_from INTEGER NOT NULL, "
               "valid_to INTEGER NOT NULL, issued_at INTEGER NOT NULL, gates TEXT, "
               "kid TEXT NOT NULL REFERENCES pass_keys(kid), text TEXT, qr_version INTEGER, "
               "revoked_at REAL, revoke_reason TEXT)")
    db.execute("CREATE INDEX passes_household ON passes(household)")
    db.execute("CREATE TABLE quarantine (household TEXT PRIMARY KEY, start TEXT NOT NULL, \"end\" TEXT NOT NULL, "
               "start_ts REAL NOT NULL, end_ts REAL NOT NULL, set_at REAL NOT NULL, note TEXT NOT NULL DEFAULT '')")
    db.execute("CREATE TABLE pass_policy (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE pass_changes (v INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, "
               "op TEXT NOT NULL, data TEXT NOT NULL)")


@migrations()
def m002_quarantine_records(db: CentralDB) -> None:
    """Quarantine records of households and of individuals, kept after release (``quarantines``).

    ``first_day`` and ``last_day`` are local dates, both inclusive; ``start_ts`` is local midnight starting the first
    day and ``end_ts`` local midnight ending the last day. ``person`` NULL: the whole household. ``status``:
    ``active`` or ``released`` (with who, when and a note). The old one-row-per-household ``quarantine`` table
    (its ``end`` the first free day) is carried over and dropped.
    """
    db.execute("CREATE TABLE quarantines (id INTEGER PRIMARY KEY AUTOINCREMENT, household TEXT NOT NULL, "
               "person INTEGER, first_day TEXT NOT NULL, last_day TEXT NOT NULL, start_ts REAL NOT NULL, "
               "end_ts REAL NOT NULL, set_at REAL NOT NULL, set_by TEXT NOT NULL DEFAULT '', "
               "note TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'active' "
               "CHECK (status IN ('active', 'released')), released_at REAL, released_by TEXT, release_note TEXT)")
    db.execute("CREATE INDEX quarantines_household ON quarantines (household, status)")
    for hh, start, end, sts, ets, set_at, note in db.execute(
            "SELECT household, start, \"end\", start_ts, end_ts, set_at, note FROM quarantine").fetchall():
        last = (date.fromisoformat(end) - timedelta(days=1)).isoformat()
        db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, set_at, note) "
                   "VALUES (?, NULL, ?, ?, ?, ?, ?, ?)", [hh, start, last, sts, ets, set_at, note])
    db.execute("DROP TABLE quarantine")


def migrate(db: CentralDB) -> None:
    """Create or upgrade the pass tables in the central database."""
    migrations.apply(db)


def append_change(db: CentralDB, op: str, **data: Any) -> int:
    """Append a change to the log (call inside the transaction making the change); returns its version."""
    db.lock("pass_changes")  # versions must become visible in order: devices read "everything after v"
    cur = db.execute("INSERT INTO pass_changes (at, op, data) VALUES (?, ?, ?) RETURNING v",
                     [time.time(), op, json.dumps(data, ensure_ascii=False, sort_keys=True)])
    return int(cur.fetchone()[0])


def note_household(db: CentralDB, household: str, at: float) -> None:
    """Keep ``household`` in ``households`` (inside the caller's transaction); a household new to central is a
    change too (``household``, list format 4: gates check a visitor's host against them)."""
    if db.execute("INSERT INTO households (household, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING "
                  "RETURNING household", [household, at]).fetchone() is not None:
        append_change(db, "household", household=household)


def current_version(db: CentralDB) -> int:
    """The latest change version (0 before the first change)."""
    return int(db.execute("SELECT COALESCE(MAX(v), 0) FROM pass_changes").fetchone()[0])
