"""Online backups of the central database, with retention, and restore.

``backup`` copies the live database with SQLite's backup API in one step: it reads
a consistent snapshot while the server keeps writing (WAL readers never block
writers), turns the copy into a self-contained rollback-journal file, checks it
with ``PRAGMA quick_check``, and only then renames it to ``central-YYYY-MM-DD.db``
(one per day; a second run the same day replaces it). The newest ``keep`` daily
copies stay; older ones are deleted. ``gatepass-central-backup.timer`` runs it nightly.

``restore`` checks the chosen copy, saves the current database next to it as
``central.db.before-restore-<time>`` (so a wrong restore loses nothing), then copies
the backup into the live file with the backup API as well: one transaction, safe
even if a server still has it open (stopping the server first is still advised,
so it does not keep serving cached state).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from central.db import private_file
from central.errors import CentralError
from gatepass.startup import fsync_dir

log = logging.getLogger(__name__)

PREFIX = "central-"
NAME_RE = re.compile(r"^central-(\d{4}-\d{2}-\d{2})\.db$")


class BackupError(CentralError):
    """A backup or restore could not be made."""


@dataclass
class BackupResult:
    """What :func:`backup` made and removed."""

    path: Path
    size_bytes: int
    seconds: float
    pruned: list[Path] = field(default_factory=list)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _quick_check(conn: sqlite3.Connection, what: str) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    if rows != ["ok"]:
        raise BackupError(f"{what} failed its integrity check: {'; '.join(map(str, rows[:3]))}")


def _open_existing(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise BackupError(f"{path} does not exist", "check --config / the file name")
    return sqlite3.connect(os.fspath(path), timeout=30, isolation_level=None)


def backup_name(now: float | None = None) -> str:
    """``central-YYYY-MM-DD.db`` for the local date of ``now``."""
    return f"{PREFIX}{time.strftime('%Y-%m-%d', time.localtime(now))}.db"


def list_backups(dest: Path) -> list[Path]:
    """The daily backups in ``dest``, newest first."""
    if not dest.is_dir():
        return []
    return sorted((p for p in dest.iterdir() if NAME_RE.match(p.name)), key=lambda p: p.name, reverse=True)


def backup(db_path: str | os.PathLike, dest: str | os.PathLike, keep: int = 14,
           now: float | None = None) -> BackupResult:
    """Copy the live database at ``db_path`` into ``dest`` and keep the newest ``keep`` daily copies."""
    if keep < 1:
        raise BackupError("keep must be at least 1")
    db_path, dest = Path(db_path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True, mode=0o750)
    final = dest / backup_name(now)
    partial = dest / f".{final.name}.partial"
    started = time.perf_counter()
    src = _open_existing(db_path)
    try:
        partial.unlink(missing_ok=True)
        private_file(partial)  # a copy of personal data: owner only, from its first byte
        dst = sqlite3.connect(os.fspath(partial), isolation_level=None)
        try:
            src.backup(dst)  # all pages in one step: a consistent snapshot, writers carry on
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            _quick_check(dst, f"the backup copy {partial}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {db_path} failed: {exc}", "is the disk full?") from exc
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    _fsync_file(partial)
    os.replace(partial, final)
    fsync_dir(dest)
    result = BackupResult(final, final.stat().st_size, time.perf_counter() - started)
    for old in list_backups(dest)[keep:]:
        old.unlink()
        result.pruned.append(old)
    log.info("backed up %s to %s (%d bytes, %.2f s); removed %d old copies", db_path, final, result.size_bytes,
             result.seconds, len(result.pruned))
    return result


def restore(backup_path: str | os.PathLike, db_path: str | os.PathLike) -> Path | None:
    """Replace the database at ``db_path`` with the backup; returns where the previous one was saved."""
    backup_path, db_path = Path(backup_path), Path(db_path)
    src = _open_existing(backup_path)
    saved: Path | None = None
    try:
        _quick_check(src, f"the backup {backup_path}")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        if db_path.exists():
            saved = db_path.with_name(f"{db_path.name}.before-restore-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
            live = _open_existing(db_path)
            try:
                private_file(saved)
                keep = sqlite3.connect(os.fspath(saved), isolation_level=None)
                live.backup(keep)
                keep.execute("PRAGMA journal_mode=DELETE")
                keep.close()
                _fsync_file(saved)
            finally:
                live.close()
        private_file(db_path)
        dst = sqlite3.connect(os.fspath(db_path), timeout=30, isolation_level=None)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
            _quick_check(dst, f"the restored {db_path}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"restore from {backup_path} failed: {exc}",
                          f"the previous database is kept in {saved}" if saved else "") from exc
    finally:
        src.close()
    log.info("restored %s from %s (previous copy: %s)", db_path, backup_path, saved)
    return saved
