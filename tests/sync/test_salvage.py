"""The device database at start: quick_check, salvage of a damaged edge.db, the start-up of a device service."""

from __future__ import annotations

import os
import sqlite3

import pytest

from gatepass import startup
from gatepass.startup import BUILD_FLOOR_TS, StartupError
from sync import salvage
from sync.devicedb import open_db
from sync.locallog import LocalLog
from sync.salvage import check_database


def _fill(path, n):
    db = open_db(path)
    log = LocalLog(db)
    for i in range(n):
        log.append(device_id="d1", gate_id="g1", wall_ts=BUILD_FLOOR_TS + i, mono_ts=float(i), boot_id="b",
                   clock_trusted=True, event="scan", pass_id=str(i), household=f"h{i % 7}", direction="in",
                   temp_c=36.5, temps=[36.4, 36.5], decision="pass", reason="ok",
                   extra={"note": "x" * 200} if i % 3 == 0 else None)
    log.mark_synced(range(1, n // 2))
    db.execute("INSERT INTO list_revoked (pass_id, reason, v) VALUES (42, 'lost', 3)")
    db.execute("INSERT INTO list_meta (key, value) VALUES ('version', '3')")
    rows = {r[0]: r for r in db.execute("SELECT * FROM entries ORDER BY seq")}
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return rows


def _entries_root_and_pages(path):
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entries'").fetchone()[0]
    count = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    return page_size, root, count


def test_a_healthy_database_passes(tmp_path):
    path = tmp_path / "edge.db"
    _fill(path, 5)
    result = check_database(path, open_db)
    assert result.ok and result.moved_to is None
    assert not (tmp_path / startup.ALARMS_FILE).exists()


def test_a_missing_database_is_fine(tmp_path):
    assert check_database(tmp_path / "edge.db", open_db).ok


def test_a_damaged_database_is_moved_aside_and_readable_entries_kept(tmp_path, edge_db):
    path = tmp_path / "edge.db"
    original = _fill(path, 400)
    page_size, root, count = _entries_root_and_pages(path)
    # Wreck one leaf page of the entries b-tree in the middle of the file.
    victim = None
    conn = sqlite3.connect(path)
    for page in range(count // 2, count):
        # a leaf table page starts with 0x0d
        data = path.read_bytes()[(page - 1) * page_size:(page - 1) * page_size + 1]
        if data == b"\x0d" and page != root:
            victim = page
            break
    conn.close()
    assert victim is not None
    with open(path, "r+b") as fh:
        fh.seek((victim - 1) * page_size + 8)
        fh.write(os.urandom(page_size - 8))

    result = check_database(path, open_db)

    assert not result.ok and result.problem
    assert result.moved_to is not None and result.moved_to.exists()  # kept, never deleted
    assert result.moved_to.name.startswith("edge.db.corrupt-")
    assert result.entries_copied > 300 and result.entries_copied + result.entries_lost <= 400
    db = edge_db(path)
    copied = {r[0]: r for r in db.execute("SELECT * FROM entries ORDER BY seq")}
    assert len(copied) == result.entries_copied
    for seq, row in copied.items():
        assert row == original[seq]  # same seq, hash, prev_hash, synced flag, everything
    # seq numbers are never reused
    new = LocalLog(db).append(device_id="d1", gate_id="g1", wall_ts=BUILD_FLOOR_TS, mono_ts=0.0, boot_id="b",
                              clock_trusted=True, event="scan", direction="in", decision="pass", reason="ok")
    assert new["seq"] == 401
    assert salvage.quick_check(path) == ""
    alarms = startup.read_alarms(tmp_path)
    assert alarms[-1]["code"] == "database_recovered" and alarms[-1]["entries_copied"] == result.entries_copied


def test_a_file_that_is_not_a_database_is_replaced(tmp_path, edge_db):
    path = tmp_path / "edge.db"
    path.write_bytes(b"this is not sqlite" * 500)
    result = check_database(path, open_db)
    assert not result.ok and result.entries_copied == 0
    assert result.moved_to.read_bytes().startswith(b"this is not sqlite")
    assert edge_db(path).execute("SELECT count(*) FROM entries").fetchone()[0] == 0


def test_lists_and_the_anchor_are_copied_when_readable(tmp_path, edge_db):
    path = tmp_path / "edge.db"
    original = _fill(path, 30)
    db = edge_db(path)
    LocalLog(db).purge(retention_days=0, now=BUILD_FLOOR_TS + 1e6)  # moves the chain anchor
    anchor = db.execute("SELECT seq, hash FROM chain_anchor").fetchone()
    db.conn.close()
    # no damage: force the recovery path directly
    result = salvage.recover_database(path, open_db)
    db = edge_db(path)
    assert db.execute("SELECT seq, hash FROM chain_anchor").fetchone() == anchor
    assert db.execute("SELECT pass_id FROM list_revoked").fetchall() == [(42,)]
    assert result.entries_copied == 30 - anchor[0]
    assert LocalLog(db).verify_chain().ok
    assert {r[0] for r in db.execute("SELECT seq FROM entries")} == {s for s in original if s > anchor[0]}


def test_prepare_service_checks_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_ALLOW_ROOT", "1")
    _fill(tmp_path / "edge.db", 3)
    clock, db_check = salvage.prepare_service(tmp_path, tmp_path / "edge.db", open_db)
    assert db_check.ok and clock.floor >= BUILD_FLOOR_TS
    monkeypatch.delenv("GATEPASS_ALLOW_ROOT")
    if os.geteuid() == 0:
        with pytest.raises(StartupError):
            salvage.prepare_service(tmp_path, tmp_path / "edge.db", open_db)


@pytest.mark.parametrize("counter_sql", ["UPDATE sqlite_sequence SET seq = 25025017590 WHERE name = 'entries'",
                                         "DELETE FROM sqlite_sequence"])
def test_an_implausible_seq_counter_never_lets_a_seq_be_reused(tmp_path, counter_sql, edge_db):
    path = tmp_path / "edge.db"
    _fill(path, 20)
    conn = sqlite3.connect(path)
    conn.execute(counter_sql)  # what a damaged sqlite_sequence page can read as
    conn.commit()
    conn.close()
    result = salvage.recover_database(path, open_db)
    assert result.entries_copied == 20 and result.entries_lost == 0
    new = LocalLog(edge_db(path)).append(device_id="d1", gate_id="g1", wall_ts=BUILD_FLOOR_TS, mono_ts=0.0,
                                         boot_id="b", clock_trusted=True, event="scan", direction="in",
                                         decision="pass", reason="ok")
    assert new["seq"] == 20 + salvage.SEQ_SAFETY_GAP + 1  # a reported gap rather than a reused number


def _wreck_one_leaf(path):
    page_size, root, count = _entries_root_and_pages(path)
    data = path.read_bytes()
    victim = next(p for p in range(count // 2, count)
                  if data[(p - 1) * page_size] == 0x0D and p != root)
    with open(path, "r+b") as fh:
        fh.seek((victim - 1) * page_size + 8)
        fh.write(os.urandom(page_size - 8))


def _bulk(path, n):
    """``n`` entries fast (one transaction, rows cloned in SQL; the hash chain is not valid)."""
    _fill(path, 1)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "WITH RECURSIVE k(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM k WHERE i < ?) "
            "INSERT INTO entries (seq, uuid, device_id, gate_id, wall_ts, mono_ts, boot_id, clock_trusted, event, "
            "pass_id, direction, decision, reason, prev_hash, hash, synced) "
            "SELECT i, 'u' || i, 'd1', 'g1', 1.0 * i, 1.0 * i, 'b', 1, 'scan', i, 'in', 'pass', 'ok', "
            "printf('%064d', i - 1), printf('%064d', i), i % 2 FROM k", [n])
    rows = {r[0]: r for r in conn.execute("SELECT * FROM entries")}
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return rows


def test_a_recovery_killed_midway_loses_nothing_on_the_next_start(tmp_path, edge_db):
    import subprocess
    import sys
    import time

    path = tmp_path / "edge.db"
    original = _bulk(path, 60000)
    _wreck_one_leaf(path)
    code = ("import sys; from sync.devicedb import open_db; from sync.salvage import check_database; "
            "check_database(sys.argv[1], open_db)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.DEVNULL)
    while not (tmp_path / "edge.db.recovering").exists() and proc.poll() is None:
        time.sleep(0.01)
    proc.kill()  # in the middle of building the new file
    proc.wait()
    result = check_database(path, open_db)  # the next start
    assert not result.ok and result.moved_to.exists()
    db = edge_db(path)
    copied = {r[0]: r for r in db.execute("SELECT * FROM entries")}
    assert len(copied) == result.entries_copied > 59000 and all(copied[s] == original[s] for s in copied)
    assert salvage.quick_check(path) == "" and not list(tmp_path.glob("edge.db.recover*"))


def test_a_stale_complete_copy_beside_the_damaged_file_is_rebuilt(tmp_path):
    path = tmp_path / "edge.db"
    path.write_bytes(b"x" * 8192)  # damaged
    (tmp_path / "edge.db.recovered").write_bytes(b"left over from a stopped recovery")
    result = check_database(path, open_db)
    assert not result.ok and salvage.quick_check(path) == ""
    assert not (tmp_path / "edge.db.recovered").exists()


def test_an_interrupted_swap_is_finished_at_start(tmp_path, edge_db):
    path = tmp_path / "edge.db"
    _fill(path, 10)
    os.replace(path, tmp_path / "edge.db.recovered")  # stopped after moving the damaged file aside
    result = check_database(path, open_db)
    assert result.ok and edge_db(path).execute("SELECT count(*) FROM entries").fetchone()[0] == 10
