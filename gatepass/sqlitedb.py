"""Opening SQLite databases the one durable way every gatepass process uses.

WAL lets the checkpoint, the sync process and readers share a file; every
connection sets ``synchronous=FULL`` itself (the setting is per connection, so
a commit is on disk before the call returns), waits for locks instead of
failing at once, and enforces foreign keys. Transactions are explicit:
``with transaction(db):`` issues ``BEGIN IMMEDIATE`` ... ``COMMIT``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator

import sqlite_utils

BUSY_TIMEOUT_MS = 5000


def connect(path: str | os.PathLike, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` in WAL mode with ``synchronous=FULL``."""
    conn = sqlite3.connect(os.fspath(path), timeout=busy_timeout_ms / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    mode = _wal(conn, busy_timeout_ms / 1000)
    if str(mode).lower() != "wal":  # e.g. a file system without shared memory
        raise sqlite3.OperationalError(f"could not switch {path} to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return sqlite_utils.Database(conn)


def _wal(conn: sqlite3.Connection, wait_s: float) -> str:
    """Switch to WAL, waiting up to ``wait_s`` for another connection that is creating the same new database (the
    checkpoint and the sync service start together on a new gate): SQLite answers "database is locked" at once,
    without its busy handler, to a connection that opened the file before the other switched it to WAL."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:  # SQLite itself rolls back after some errors (e.g. SQLITE_FULL)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def is_disk_full(exc: BaseException) -> bool:
    """True if ``exc`` is SQLite's 'database or disk is full' (SQLITE_FULL)."""
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc))


@contextlib.contextmanager
def migration_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the database's directory while migrating.

    sqlite-utils checks which migrations are pending outside its transactions, so
    two processes opening a new database at once (the edge and the sync, or the
    demo and the central server) would both try to create the same tables. The
    directory is locked rather than a lock file, so nothing is left behind, and
    rather than the database file, since closing any descriptor of that file
    would drop SQLite's own POSIX locks in this process.
    """
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
