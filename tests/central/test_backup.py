"""Central backups: online while writes happen, retention, restore, and the commands."""

from __future__ import annotations

import io
import sqlite3
import threading
import time

import pytest

from central.backup import BackupError, backup, list_backups, restore
from gatepass.sqlitedb import connect, transaction
from tests.systemd.units import invoke

DAY = 86400.0


def _rows(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, device, payload FROM entries ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def live(tmp_path):
    path = tmp_path / "central.db"
    db = connect(path)
    db.execute("CREATE TABLE entries (id INTEGER PRIMARY KEY, device TEXT NOT NULL, payload TEXT NOT NULL)")
    with transaction(db):
        db.conn.executemany("INSERT INTO entries (device, payload) VALUES (?, ?)",
                            [(f"d{i % 5}", "x" * 300) for i in range(2000)])
    db.conn.close()
    return path


def test_backup_while_writes_happen_then_restore_and_compare(live, tmp_path):
    stop = threading.Event()
    written = []

    def writer():
        db = connect(live)
        n = 0
        while not stop.is_set():
            with db.conn:
                db.execute("INSERT INTO entries (device, payload) VALUES (?, ?)", [f"w{n}", "y" * 300])
            written.append(n)
            n += 1
        db.conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 50:
            time.sleep(0.005)
        before = len(_rows(live))
        result = backup(live, tmp_path / "backups", keep=3)
        during = len(written)
        while len(written) < during + 50:  # writes carried on after the backup
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join()

    snapshot = _rows(result.path)
    current = _rows(live)
    assert len(snapshot) >= before
    assert snapshot == current[:len(snapshot)]  # a consistent prefix of the live table: nothing torn
    assert len(current) > len(snapshot)
    conn = sqlite3.connect(result.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # self-contained file
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()

    saved = restore(result.path, live)
    assert _rows(live) == snapshot
    assert _rows(saved) == current  # the database it replaced is kept
    conn = sqlite3.connect(live)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_restore_is_seen_by_a_connection_that_stayed_open(live, tmp_path):
    result = backup(live, tmp_path / "b")
    other = connect(live)
    other.execute("DELETE FROM entries WHERE id > 10")
    assert other.execute("SELECT count(*) FROM entries").fetchone()[0] == 10
    restore(result.path, live)
    assert other.execute("SELECT count(*) FROM entries").fetchone()[0] == 2000
    other.conn.close()


def test_retention_keeps_the_newest_daily_copies(live, tmp_path):
    dest = tmp_path / "backups"
    start = time.mktime((2026, 11, 1, 3, 15, 0, 0, 0, -1))
    for day in range(6):
        backup(live, dest, keep=3, now=start + day * DAY)
    again = backup(live, dest, keep=3, now=start + 5 * DAY + 3600)  # same day again: replaced, not added
    names = [p.name for p in list_backups(dest)]
    assert names == ["central-2026-11-06.db", "central-2026-11-05.db", "central-2026-11-04.db"]
    assert again.path.name == names[0] and not again.pruned
    assert not list(dest.glob(".*partial"))


def test_a_damaged_backup_is_not_restored(live, tmp_path):
    result = backup(live, tmp_path / "b")
    data = bytearray(result.path.read_bytes())
    data[4096 * 3:4096 * 3 + 2000] = b"\xff" * 2000
    result.path.write_bytes(bytes(data))
    before = _rows(live)
    with pytest.raises(BackupError):
        restore(result.path, live)
    assert _rows(live) == before


def test_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(BackupError, match="does not exist"):
        backup(tmp_path / "nope.db", tmp_path / "b")


def test_backup_and_restore_commands_on_a_real_central_database(tmp_path, capsys, monkeypatch):
    from central.db import open_db

    data = tmp_path / "central"
    data.mkdir()
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{data}"\n')
    # the secret arrives as gatepass-central-backup.service hands it over (LoadCredential=)
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "gatepass_central_session_secret").write_text("s" * 32 + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    db = open_db(data / "central.db")
    tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    db.conn.close()

    code, out, err = invoke(capsys, "central", "backup", "--config", str(config), "--keep", "2")
    assert code == 0, err
    copies = list_backups(data / "backups")
    assert len(copies) == 1 and "backup:" in out

    code, out, err = invoke(capsys, "central", "restore", "--config", str(config), str(copies[0]), "--yes")
    assert code == 0, err
    db = open_db(data / "central.db")
    assert sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")) == tables
    db.conn.close()
    assert list(data.glob("central.db.before-restore-*"))


def test_restore_asks_first(tmp_path, live, capsys, monkeypatch):
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{tmp_path}"\nsession_secret = "{"s" * 32}"\n')
    result = backup(live, tmp_path / "b")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, _ = invoke(capsys, "central", "restore", "--config", str(config), str(result.path))
    assert code == 130 and "replace" in out
    assert not list(tmp_path.glob("central.db.before-restore-*"))
