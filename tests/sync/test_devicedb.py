"""The device database is owner-only whichever service creates it first (it holds PIN hashes and visitors' data)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sync.devicedb import open_db


def test_the_sync_creates_the_device_database_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # an administrator's shell, or a service started with a loose umask
    try:
        db = open_db(tmp_path / "edge.db")
        db.execute("CREATE TABLE t (x)")
        db.conn.commit()
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        if path.name.startswith("edge.db"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    db.conn.close()


def test_an_existing_readable_database_is_made_private_when_opened(tmp_path: Path) -> None:
    open_db(tmp_path / "edge.db").conn.close()
    (tmp_path / "edge.db").chmod(0o644)
    open_db(tmp_path / "edge.db").conn.close()
    assert stat.S_IMODE((tmp_path / "edge.db").stat().st_mode) == 0o600
