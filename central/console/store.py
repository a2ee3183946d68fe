"""The console's own tables in the central database (migration set ``central-console``).

- ``staff_users``: staff accounts (argon2 password hash, role admin|staff|viewer, disabled flag).
- ``staff_sessions``: server-side sessions; only a keyed hash of the cookie token is stored, with the
  session's CSRF token, language and expiry times.
- ``audit_log``: every view of personal data, every export and every change made in the console.
- ``alert_acks``: acknowledgements (with a note) of fever, quarantine-exit and pass-sharing alerts.
- the index ``console_entries_scan`` on the central ``entries`` table (see :func:`m002_entries_scan_index`).
"""

from __future__ import annotations

from central.store import CentralDB
from central.store.migrations import Migrations

migrations = Migrations("central-console")


@migrations()
def m001_console(db: CentralDB) -> None:
    db.execute("""
        CREATE TABLE staff_users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            password_changed_at REAL NOT NULL
        )""")
    db.execute("""
        CREATE TABLE staff_sessions (
            token_hash TEXT PRIMARY KEY,          -- HMAC-SHA256 of the cookie token (the token is never stored)
            user_id INTEGER NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT 'zh',
            created_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            expires_at REAL NOT NULL              -- absolute expiry (unix s); idle expiry is checked on use
        )""")
    db.execute("CREATE INDEX staff_sessions_user ON staff_sessions(user_id)")
    db.execute("""
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts REAL NOT NULL,
            username TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,                 -- e.g. view_entries, export_trace, login, issue_pass
            detail TEXT NOT NULL DEFAULT '',      -- JSON: filters, subject, file format, row count
            client TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("CREATE INDEX audit_log_ts ON audit_log(ts)")
    db.execute("""
        CREATE TABLE alert_acks (
            alert_key TEXT PRIMARY KEY,           -- fever:<uuid> | quarantine:<uuid> | anomaly:<kind>:<uuid>
            acked_by TEXT NOT NULL,
            acked_at REAL NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )""")


@migrations()
def m002_entries_scan_index(db: CentralDB) -> None:
    """A covering index for the console's range scans over ``entries`` (the sync engineer's table).

    Its order is the console's keyset order ``(wall_ts, device_id, seq)``, and it carries every column the
    daily report, the alert scans and the low-cardinality filters test, so those read the index only and
    touch table rows just for the rows they return (``bench/bench_console.py`` shows the effect at 10M rows).
    """
    if db.table_exists("entries"):
        db.execute("CREATE INDEX IF NOT EXISTS console_entries_scan ON entries (wall_ts, device_id, seq, community, "
                   "gate_id, direction, decision, event, fever, reason, pass_id)")


def migrate(db: CentralDB) -> None:
    """Create or update the console tables."""
    migrations.apply(db)
