"""The local log on a real SQLite file: durability settings, hash chain, outbox, purge."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.sqlitedb import connect
from sync.locallog import LocalLog, LogWriteError, migrate


def _log(path) -> LocalLog:
    db = connect(path)
    migrate(db)
    return LocalLog(db)


def _entry(**over):
    base = dict(device_id="d1", gate_id="g1", wall_ts=1_790_000_000.0, mono_ts=12.5, boot_id="b1",
                clock_trusted=True, event="scan", pass_id="p1", household="3-2-401", person=1,
                pass_kind="resident", direction="in", temp_c=36.5, temps=[36.5], decision="pass", reason="ok")
    base.update(over)
    return base


def test_every_connection_is_wal_and_synchronous_full(tmp_path):
    path = tmp_path / "edge.db"
    _log(path)
    db = connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_append_is_committed_and_visible_to_another_connection(tmp_path):
    log = _log(tmp_path / "edge.db")
    row = log.append(**_entry())
    other = sqlite3.connect(tmp_path / "edge.db")
    assert other.execute("SELECT uuid, decision FROM entries WHERE seq = ?", [row["seq"]]).fetchone() == (
        row["uuid"], "pass")


def test_chain_verifies_and_detects_edit_and_deletes(tmp_path):
    log = _log(tmp_path / "edge.db")
    for i in range(6):
        log.append(**_entry(pass_id=f"p{i}"))
    assert log.verify_chain().ok and log.verify_chain().checked == 6
    raw = sqlite3.connect(tmp_path / "edge.db")
    raw.execute("UPDATE entries SET decision = 'pass', temp_c = 36.0 WHERE seq = 3")
    raw.commit()
    report = log.verify_chain()
    assert not report.ok and any("entry 3" in p and "changed" in p for p in report.problems)
    raw.execute("UPDATE entries SET temp_c = 36.5 WHERE seq = 3")
    raw.execute("DELETE FROM entries WHERE seq = 4")
    raw.commit()
    assert any("4..4" in p for p in log.verify_chain().problems)
    raw.execute("DELETE FROM entries WHERE seq = 6")
    raw.commit()
    assert any("6..6" in p and "end" in p for p in log.verify_chain().problems)


def test_seq_is_never_reused(tmp_path):
    log = _log(tmp_path / "edge.db")
    first = log.append(**_entry())
    log.db.execute("DELETE FROM entries")
    assert log.append(**_entry())["seq"] == first["seq"] + 1


def test_pending_puts_priority_first_and_caps_rows_and_bytes(tmp_path):
    log = _log(tmp_path / "edge.db")
    for i in range(5):
        log.append(**_entry(pass_id=f"p{i}"))
    fever = log.append(**_entry(fever=True, priority=True, decision="refuse", reason="fever", temp_c=38.2))
    rows = log.pending(limit_rows=3)
    assert [r["seq"] for r in rows] == [fever["seq"], 1, 2]
    assert len(log.pending(limit_rows=100, limit_bytes=10)) == 1  # always at least one
    assert 1 < len(log.pending(limit_rows=100, limit_bytes=2000)) < 6


def test_mark_synced_shrinks_backlog_idempotently(tmp_path):
    log = _log(tmp_path / "edge.db")
    seqs = [log.append(**_entry())["seq"] for _ in range(4)]
    assert log.backlog() == 4
    assert log.mark_synced(seqs[:2]) == 2
    assert log.mark_synced(seqs[:2]) == 0
    assert log.backlog() == 2 and log.verify_chain().ok


@settings(max_examples=30, deadline=None)
@given(priorities=st.lists(st.booleans(), max_size=25), synced=st.sets(st.integers(1, 25)))
def test_the_first_pending_seq_is_the_lowest_unsynced_one(tmp_path_factory, priorities, synced):
    log = _log(tmp_path_factory.mktemp("edge") / "edge.db")
    for p in priorities:
        log.append(**_entry(priority=p))
    log.mark_synced(synced)
    assert log.pending_min() == log.db.execute("SELECT min(seq) FROM entries WHERE synced = 0").fetchone()[0]
    log.db.close()


def test_the_first_pending_seq_is_read_from_the_outbox_index_not_past_every_synced_row(tmp_path):
    # before: min(seq) WHERE synced = 0 read the table from its first row, every report (45 ms with 60,000 synced)
    log = _log(tmp_path / "edge.db")
    plans: list[str] = []
    for _ in range(3):
        log.append(**_entry())
    original = log.db.execute

    def explained(sql, args=()):
        if sql.lstrip().upper().startswith("SELECT"):
            plans.extend(r[3] for r in original("EXPLAIN QUERY PLAN " + sql, args).fetchall())
        return original(sql, args)

    log.db.execute = explained  # type: ignore[method-assign]
    assert log.pending_min() == 1
    assert plans and all("USING INDEX entries_unsynced" in p or "USING COVERING INDEX entries_unsynced" in p
                         for p in plans), plans


def test_purge_never_drops_unsynced_and_chain_still_verifies(tmp_path):
    log = _log(tmp_path / "edge.db")
    old, new = 1_000_000.0, 1_000_000.0 + 40 * 86400
    seqs = [log.append(**_entry(wall_ts=old))["seq"] for _ in range(5)]
    log.append(**_entry(wall_ts=new))
    log.mark_synced([seqs[0], seqs[1], seqs[3]])  # seq 3 stays unsynced
    assert log.purge(retention_days=30, now=new) == 2
    remaining = [r[0] for r in log.db.execute("SELECT seq FROM entries ORDER BY seq")]
    assert remaining == [3, 4, 5, 6]
    assert log.verify_chain().ok


def test_visitor_details_can_be_erased_after_sync_without_breaking_chain(tmp_path):
    log = _log(tmp_path / "edge.db")
    row = log.append(**_entry(event="visitor", pass_id=None, visitor_ref="v-1",
                              extra={"name": "王五", "phone": "13800000000"}))
    log.mark_synced([row["seq"]])
    assert log.erase_synced_personal_data() == 1
    assert log.db.execute("SELECT extra FROM entries").fetchone()[0] is None
    assert log.verify_chain().ok


def test_disk_full_is_a_log_write_error_and_nothing_half_written(tmp_path):
    log = _log(tmp_path / "edge.db")
    log.append(**_entry())
    pages = log.db.execute("PRAGMA page_count").fetchone()[0]
    log.db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(LogWriteError, match="disk is full"):
        for _ in range(200):
            log.append(**_entry(extra={"pad": "x" * 2000}))
    log.db.execute("PRAGMA max_page_count = 1000000")
    assert log.verify_chain().ok
    log.append(**_entry())
    assert log.verify_chain().ok


def test_unknown_fields_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown entry fields"):
        _log(tmp_path / "edge.db").append(**_entry(), name="someone")


@settings(max_examples=30, deadline=None)
@given(temps=st.lists(st.floats(min_value=20, max_value=45, allow_nan=False), max_size=4),
       reason=st.text(max_size=30), extra=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=10)))
def test_any_entry_content_round_trips_through_the_chain(tmp_path_factory, temps, reason, extra):
    log = _log(tmp_path_factory.mktemp("h") / "edge.db")
    log.append(**_entry(temps=temps, reason=reason, extra=extra))
    assert log.verify_chain().ok


def test_concurrent_first_opens_do_not_race_on_migrations(tmp_path):
    """Several processes opening a new database at once all succeed (the migrations run once)."""
    import subprocess
    import sys

    code = ("import sys; from sync.devicedb import open_db; from central.db import open_db as c; "
            "open_db(sys.argv[1]); c(sys.argv[2])")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "edge.db"), str(tmp_path / "central.db")],
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors


def test_entries_stamped_on_an_unset_clock_are_aged_by_their_boots_first_trusted_time(tmp_path):
    """A gate booted at 1970 stamps 1970; once the clock is set, retention ages those entries by the corrected
    time (the boot's offset wall - monotonic), never by "1970" (issue 21, hole 1)."""
    log = _log(tmp_path / "edge.db")
    real = 1_790_000_000.0
    early = [log.append(**_entry(wall_ts=100.0 + i, mono_ts=50.0 + i, clock_trusted=False, boot_id="b1"))["seq"]
             for i in range(3)]  # stamped "1970", 10 minutes before NTP set the clock
    later = log.append(**_entry(wall_ts=real, mono_ts=650.0, clock_trusted=True, boot_id="b1"))["seq"]
    log.mark_synced([*early, later])
    assert log.purge(retention_days=30, now=real + 60) == 0  # corrected: minutes old, not 56 years
    assert log.purge(retention_days=30, now=real + 31 * 86400) == 4  # a month later they all may go
    assert log.verify_chain().ok


def test_entries_of_a_boot_that_never_had_a_trusted_clock_are_kept(tmp_path):
    log = _log(tmp_path / "edge.db")
    real = 1_790_000_000.0
    unknown = log.append(**_entry(wall_ts=100.0, mono_ts=5.0, clock_trusted=False, boot_id="lost"))["seq"]
    known = log.append(**_entry(wall_ts=real - 40 * 86400, boot_id="b2"))["seq"]
    log.mark_synced([unknown, known])
    assert log.purge(retention_days=30, now=real) == 0  # the first entry has no known age: nothing after it goes
    assert [r[0] for r in log.db.execute("SELECT seq FROM entries")] == [unknown, known]


def _old_hash(prev: str, row: dict) -> str:
    """The chain hash as the first release computed it (before ``sys_ts``)."""
    import hashlib
    import json

    from sync.locallog import CHAIN_FIELDS
    body = json.dumps([prev, [row.get(n) for n in CHAIN_FIELDS]], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def test_a_log_from_before_the_raw_system_time_migrates_and_its_chain_still_verifies(tmp_path):
    """Issue 21: every entry stores the raw system wall time (``sys_ts``) beside the best estimate (``wall_ts``) and
    whether it was trusted. Rows written before keep their hashes; the new field is inside the chain."""
    from sync.locallog import GENESIS, migrations
    db = connect(tmp_path / "edge.db")
    migrations.apply(db, stop_before="m002_system_time")
    prev = GENESIS
    for seq in (1, 2):
        row = {**_entry(pass_id=f"old{seq}"), "seq": seq, "uuid": f"u-{seq}", "temps": "[36.5]", "clock_trusted": 1,
               "fever": 0, "priority": 0, "extra": None, "extra_hash": None, "prev_hash": prev}
        row["hash"] = prev = _old_hash(prev, row)
        db.execute(f"INSERT INTO entries ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    db.conn.commit()
    migrate(db)
    log = LocalLog(db)
    new = log.append(**_entry(wall_ts=1_790_000_100.0, sys_ts=3_600.0, clock_trusted=True))
    assert new["sys_ts"] == 3_600.0 and new["seq"] == 3
    stored = db.execute("SELECT seq, wall_ts, sys_ts FROM entries ORDER BY seq").fetchall()
    assert stored == [(1, 1_790_000_000.0, None), (2, 1_790_000_000.0, None), (3, 1_790_000_100.0, 3_600.0)]
    assert log.verify_chain().ok and log.verify_chain().checked == 3
    raw = sqlite3.connect(tmp_path / "edge.db")
    raw.execute("UPDATE entries SET sys_ts = NULL WHERE seq = 3")  # hiding what the clock said is caught
    raw.commit()
    assert any("entry 3" in p and "changed" in p for p in log.verify_chain().problems)
    raw.execute("UPDATE entries SET sys_ts = 3601.0 WHERE seq = 3")
    raw.commit()
    assert any("entry 3" in p and "changed" in p for p in log.verify_chain().problems)
    assert log.pending(10)[2]["sys_ts"] == 3_601.0  # and it goes to central with the row
