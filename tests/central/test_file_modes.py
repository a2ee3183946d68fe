"""Files central makes hold personal data or secrets: owner-only (0600) from the start, never world-readable."""

from __future__ import annotations

import os
import stat

from central import backup
from central.db import open_db


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_database_and_its_wal_and_shm_are_owner_only_even_with_a_lax_umask(tmp_path):
    old = os.umask(0o022)
    try:
        db = open_db(tmp_path / "data" / "central.db")
        db.execute("CREATE TABLE t (x)")  # make SQLite write the WAL
        made = sorted((tmp_path / "data").glob("central.db*"))
        assert {p.name for p in made} >= {"central.db", "central.db-wal", "central.db-shm"}
        assert all(_mode(p) == 0o600 for p in made), [(p.name, oct(_mode(p))) for p in made]
        assert _mode(tmp_path / "data") == 0o750
        db.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_loses_world_access(tmp_path):
    path = tmp_path / "central.db"
    open_db(path).close()
    path.chmod(0o644)
    open_db(path).close()
    assert _mode(path) == 0o640


def test_backups_and_the_copy_saved_before_a_restore_are_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        live = tmp_path / "central.db"
        open_db(live).close()
        result = backup.backup(live, tmp_path / "backups", now=1_780_000_000)
        assert _mode(result.path) == 0o600
        saved = backup.restore(result.path, live)
        assert saved is not None and _mode(saved) == 0o600
        fresh = tmp_path / "restored" / "central.db"
        backup.restore(result.path, fresh)
        assert _mode(fresh) == 0o600
    finally:
        os.umask(old)
