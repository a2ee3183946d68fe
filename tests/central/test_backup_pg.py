"""Backups of a PostgreSQL central (sync/backup_pg.py) against the real test server: online while writes happen,
retention, restore into another database and over the live one, damaged dumps, and the commands."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central import backup as sqlite_backup
from central.backup import BackupError
from central.backup_pg import backup, check_dump, client_args, find_tool, list_backups, restore
from central.db import open_db
from central.ingest import add_device
from central.passes.issuance import set_policy
from central.store import connect
from tests.systemd.units import invoke

DAY = 86400.0
PASSWORD = "hunter2-秘密"  # the test server trusts loopback, so any password is accepted and must stay hidden


def _devices(url: str) -> list[str]:
    db = connect(url)
    try:
        return [r["device_id"] for r in db.query("SELECT device_id FROM devices ORDER BY device_id")]
    finally:
        db.close()


def _policy(url: str) -> dict[str, str]:
    db = connect(url)
    try:
        return {r["key"]: r["value"] for r in db.query("SELECT key, value FROM pass_policy")}
    finally:
        db.close()


def _with_password(url: str, password: str = PASSWORD) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def live(pg_server) -> str:
    """A migrated central database on the test server with 30 devices and two policy values."""
    url = pg_server.new_database()
    db = open_db(url)
    for i in range(30):
        add_device(db, f"base-{i:03d}", name=f"东门 {i}", community="幸福小区")
    set_policy(db, "max_temp_c", 37.3)
    set_policy(db, "require_pass", True)
    db.close()
    return url


def test_backup_while_writes_happen_then_restore_into_another_database(live, pg_server, tmp_path):
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        db = connect(live)
        try:
            n = 0
            while not stop.is_set():
                add_device(db, f"w-{n:06d}")
                written.append(n)
                n += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 30 and not errors:
            time.sleep(0.005)
        before = len(written)
        result = backup(live, tmp_path / "backups", keep=3)
        during = len(written)
        while len(written) < during + 30 and not errors:  # writes carried on after the backup
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join()
    assert not errors

    assert result.path.name == time.strftime("central-%Y-%m-%d.pgdump") and result.size_bytes > 0
    assert result.path.parent == tmp_path / "backups" and not list(result.path.parent.glob(".*partial"))
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o640
    check_dump(result.path)

    other = pg_server.new_database()
    saved = restore(result.path, other, tmp_path / "saved")
    assert saved.parent == tmp_path / "saved" and saved.name.startswith("central-before-restore-")
    restored = _devices(other)
    written_then = [d for d in restored if d.startswith("w-")]
    # one consistent snapshot: every write up to some point, nothing torn, nothing from after the backup
    assert written_then == [f"w-{n:06d}" for n in range(len(written_then))]
    assert before <= len(written_then) < len(written)
    assert [d for d in restored if d.startswith("base-")] == [f"base-{i:03d}" for i in range(30)]
    assert _policy(other) == _policy(live)
    db = open_db(other)  # the restored schema is current: nothing left to migrate
    try:
        assert db.integrity_check() == "ok"
    finally:
        db.close()
    assert len(_devices(live)) == 30 + len(written)  # the source was not touched


def test_restore_over_the_live_database_after_more_writes(live, pg_server, tmp_path):
    result = backup(live, tmp_path / "backups")
    db = connect(live)
    try:
        add_device(db, "later-1")
        add_device(db, "later-2")
        set_policy(db, "max_temp_c", 38.0)
        after = _devices(live)

        saved = restore(result.path, live, tmp_path / "data")
        assert "later-1" not in _devices(live) and len(_devices(live)) == 30  # the later writes are gone
        assert _policy(live)["max_temp_c"] == "37.3"
        # a connection that stayed open (as a running server's would) sees the restored rows
        assert db.execute("SELECT count(*) FROM devices").fetchone()[0] == 30
    finally:
        db.close()

    # ... and the dump taken just before the restore holds them
    check = pg_server.new_database()
    restore(saved, check, tmp_path / "data")
    assert _devices(check) == after
    assert _policy(check)["max_temp_c"] == "38.0"
    assert len(list((tmp_path / "data").glob("central-before-restore-*.pgdump"))) == 2


def test_retention_keeps_the_newest_daily_dumps_and_leaves_sqlite_copies_alone(live, tmp_path):
    dest = tmp_path / "backups"
    dest.mkdir()
    sqlite_copy = dest / "central-2026-10-01.db"
    sqlite_copy.write_bytes(b"an SQLite copy")
    start = time.mktime((2026, 11, 1, 3, 15, 0, 0, 0, -1))
    for day in range(5):
        backup(live, dest, keep=3, now=start + day * DAY)
    again = backup(live, dest, keep=3, now=start + 4 * DAY + 3600)  # same day again: replaced, not added
    assert [p.name for p in list_backups(dest)] == ["central-2026-11-05.pgdump", "central-2026-11-04.pgdump",
                                                    "central-2026-11-03.pgdump"]
    assert again.path.name == "central-2026-11-05.pgdump" and not again.pruned
    assert sqlite_copy.exists() and sqlite_backup.list_backups(dest) == [sqlite_copy]
    assert not list(dest.glob(".*partial"))
    with pytest.raises(BackupError, match="keep"):
        backup(live, dest, keep=0)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "sqlite file"])
def test_a_damaged_dump_is_refused_and_the_live_database_is_untouched(live, tmp_path, damage):
    result = backup(live, tmp_path / "b")
    data = result.path.read_bytes()
    bad = tmp_path / "bad.pgdump"
    if damage == "truncated":  # the table of contents (first) is intact; the last data blocks are cut off
        bad.write_bytes(data[:-300])
        check_dump(bad)  # so the damage shows only while restoring, inside its one transaction
    elif damage == "garbage":
        bad.write_bytes(os.urandom(len(data)))
    else:
        bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)
    before, policy = _devices(live), _policy(live)

    with pytest.raises(BackupError, match="pg_restore") as info:
        restore(bad, live, tmp_path / "saved")
    assert "exit" in str(info.value)  # pg_restore's own words are in the message
    assert _devices(live) == before and _policy(live) == policy
    if damage != "truncated":  # refused before anything was done
        assert not (tmp_path / "saved").exists()
        assert "not a readable pg_dump" in str(info.value)
    else:
        assert "nothing was changed" in str(info.value)


def test_the_password_goes_in_the_environment_not_on_the_command_line(live, tmp_path):
    url = _with_password(live)
    conninfo, env = client_args(url)
    assert "hunter2" not in conninfo and "password" not in conninfo
    assert env["PGPASSWORD"] == PASSWORD
    assert "dbname=" in conninfo and "host=127.0.0.1" in conninfo
    result = backup(url, tmp_path / "b")  # the server accepts it: the connection works without it in argv
    check_dump(result.path)


@settings(max_examples=60, deadline=None)
@given(password=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                        max_size=40),
       query=st.sampled_from(["", "?sslmode=disable", "?connect_timeout=5&application_name=x"]))
def test_client_args_never_leave_the_password_in_the_connection_string(password, query):
    url = f"postgresql://central:{quote(password, safe='')}@db.internal:5433/gatepass{query}"
    conninfo, env = client_args(url)
    assert env["PGPASSWORD"] == password
    assert "password" not in conninfo
    # exactly what the same URL without its password gives (a substring check fails for a password like "user")
    assert conninfo == client_args(f"postgresql://central@db.internal:5433/gatepass{query}")[0]
    _, plain = client_args("postgresql://central@db.internal/gatepass")
    assert plain.get("PGPASSWORD") == os.environ.get("PGPASSWORD")


def test_an_unreachable_server_is_a_clear_error_without_the_password(pg_server, tmp_path):
    from gatepass.procs import free_port

    url = f"postgresql://gatepass:{quote(PASSWORD)}@127.0.0.1:{free_port(0)}/nowhere"
    with pytest.raises(BackupError) as info:
        backup(url, tmp_path / "b")
    text = str(info.value)
    assert "pg_dump failed" in text and "127.0.0.1" in text
    assert "hunter2" not in text and quote(PASSWORD) not in text
    assert not list((tmp_path / "b").iterdir())  # no partial file left behind


def test_a_missing_pg_dump_names_the_package(tmp_path):
    with pytest.raises(BackupError, match="postgresql-client"):
        find_tool("pg_dump", path=str(tmp_path), lib_glob=str(tmp_path / "lib" / "*" / "bin"))
    for version in ("13", "15", "9.6"):
        bindir = tmp_path / "lib" / version / "bin"
        bindir.mkdir(parents=True)
        (bindir / "pg_dump").write_text("#!/bin/sh\n")
        (bindir / "pg_dump").chmod(0o755)
    found = find_tool("pg_dump", path=str(tmp_path), lib_glob=str(tmp_path / "lib" / "*" / "bin"))
    assert found == tmp_path / "lib" / "15" / "bin" / "pg_dump"  # the newest
    assert find_tool("pg_dump").name == "pg_dump"  # this machine's (Debian's postgresql-client)


def _config(tmp_path: Path, url: str) -> Path:
    data = tmp_path / "central"
    data.mkdir(exist_ok=True)
    config = tmp_path / "central.toml"
    config.write_text(f'data_dir = "{data}"\nsession_secret = "{"s" * 32}"\ndatabase_url = "{url}"\n')
    return config


def test_backup_and_restore_commands_on_a_postgresql_central(live, tmp_path, capsys):
    config = _config(tmp_path, _with_password(live))
    data = tmp_path / "central"

    code, out, err = invoke(capsys, "central", "backup", "--config", str(config), "--keep", "2")
    assert code == 0, err
    copies = list_backups(data / "backups")
    assert len(copies) == 1 and "backup of postgresql://gatepass:***@127.0.0.1" in out
    assert "hunter2" not in out + err

    db = connect(live)
    add_device(db, "after-backup")
    db.close()
    code, out, err = invoke(capsys, "central", "restore", "--config", str(config), str(copies[0]), "--yes")
    assert code == 0, err
    assert "restored postgresql://gatepass:***@" in out and "hunter2" not in out + err
    assert "after-backup" not in _devices(live) and len(_devices(live)) == 30
    assert len(list(data.glob("central-before-restore-*.pgdump"))) == 1


def test_restore_command_refuses_a_damaged_dump_and_asks_first(live, tmp_path, capsys, monkeypatch):
    import io

    config = _config(tmp_path, live)
    bad = tmp_path / "central-2026-11-20.pgdump"
    bad.write_bytes(b"PGDMP" + b"\x00" * 100)
    code, out, err = invoke(capsys, "central", "restore", "--config", str(config), str(bad), "--yes")
    assert code != 0 and "not a readable pg_dump" in out + err
    assert len(_devices(live)) == 30

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, _ = invoke(capsys, "central", "restore", "--config", str(config), str(bad))
    assert code == 130 and f"replace {live}" in out
    assert not list((tmp_path / "central").glob("central-before-restore-*"))
