"""Retention of personal data at central (central.retention) on SQLite and PostgreSQL: the periodic limits, the
loop in a real server, and the outbreak-end purge command."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import uvicorn
from click.testing import CliRunner

from central import retention
from central.console.reports import daily_report
from central.db import open_db
from central.passes import issuance
from central.settings import CentralSettings, RetentionSection
from gatepass.cli import main
from gatepass.clock import ManualClock
from gatepass.procs import free_port
from tests.central.console.data import entry, ingest_entries
from tests.waiting import wait_until

DAY = 86400.0
TZ = ZoneInfo("Asia/Shanghai")


def _visitor(seq: int, t: float, phone: str, name: str) -> dict:
    extra = json.dumps({"name": name, "phone": phone, "host_household": "3-2-401", "reason": "探亲"})
    return entry(seq, "dev-v", "north", t, event="visitor", visitor_ref=f"V{seq}", household="3-2-401",
                 pass_kind="visitor", reason="visitor_ok", guard_id="g1", extra=extra, extra_hash="e" * 64)


def _seed(db, now: float) -> None:
    """Visitor A twice (20 h ago and now), visitor B once (20 h ago), residents, a shift hand-over."""
    ingest_entries(db, "dev-v", "Garden", [
        _visitor(1, now - 20 * 3600, "13800000001", "张三"),
        _visitor(2, now - 20 * 3600, "13900000002", "李四"),
        entry(3, "dev-v", "north", now - 19 * 3600, pass_id="101", household="3-2-401", person=1,
              pass_kind="resident", temp_c=38.1, fever=1, decision="refuse", reason="fever"),
        entry(4, "dev-v", "north", now - 19 * 3600, event="shift_end", guard_id="g1", reason="shift_end",
              extra=json.dumps({"entries": 3, "visitors": 2, "overrides": []})),
        _visitor(5, now, "13800000001", "张三"),
    ])


def _extras(db) -> dict[int, str | None]:
    return {int(r[0]): r[1] for r in db.execute("SELECT seq, extra FROM entries WHERE device_id = 'dev-v'")}


def _counts(db, now: float) -> dict:
    totals: dict = {}
    for back in (0, 1):
        day = (datetime.fromtimestamp(now, TZ).date() - timedelta(days=back))
        for k, v in daily_report(db, day, TZ).totals.items():
            totals[k] = totals.get(k, 0) + v
    return totals


def test_visitor_details_go_28_days_after_the_visitors_last_entry(central_url):
    db = open_db(central_url)
    now = time.time()
    _seed(db, now)
    counts = _counts(db, now)
    limits = RetentionSection()
    report = retention.purge_expired(db, limits, now - 19.5 * 3600 + 28 * DAY)  # B's last entry is 28 days old
    extras = _extras(db)
    assert report.visitor_details == 1 and extras[2] is None  # B erased
    assert extras[1] and extras[5] and json.loads(extras[1])["name"] == "张三"  # A came again: both of A's entries kept
    retention.purge_expired(db, limits, now + 28 * DAY + 60)
    extras = _extras(db)
    assert extras[1] is None and extras[5] is None
    assert _counts(db, now) == counts and counts["visitors"] == 3 and counts["fevers"] == 1  # reports unchanged
    audited = db.execute("SELECT detail FROM audit_log WHERE action = 'retention_purge'").fetchall()
    assert len(audited) == 2 and json.loads(audited[0][0])["visitor_details"] == 1


def test_who_passed_quarantines_and_pass_names_go_after_the_identity_limit(central_url, tmp_path):
    db = open_db(central_url)
    now = time.time()
    _seed(db, now)
    issuance.issue(db, tmp_path, household="3-2-401", person=1, kind="resident", days=1, name="王五")
    today = datetime.fromtimestamp(now, TZ).date()
    issuance.quarantine(db, "7-7-707", today - timedelta(days=2), today, "发热", person=1)
    counts = _counts(db, now)
    limits = RetentionSection(visitor_days=400, identity_days=180)
    assert retention.purge_expired(db, limits, now + 179 * DAY).anonymised_entries == 0
    report = retention.purge_expired(db, limits, now + 181 * DAY)
    assert report.anonymised_entries == 5 and report.quarantine_records == 1 and report.pass_names == 1
    left = db.execute("SELECT count(*) FROM entries WHERE pass_id IS NOT NULL OR household IS NOT NULL OR "
                      "person IS NOT NULL OR visitor_ref IS NOT NULL OR guard_id IS NOT NULL OR temp_c IS NOT NULL "
                      "OR (extra IS NOT NULL AND event <> 'shift_end')").fetchone()[0]
    assert left == 0
    assert json.loads(_extras(db)[4])["visitors"] == 2  # the hand-over summary (counts) stays
    assert _counts(db, now) == counts
    assert db.execute("SELECT count(*) FROM passes WHERE name <> ''").fetchone()[0] == 0
    assert retention.purge_expired(db, limits, now + 182 * DAY).total == 0  # nothing twice


def test_the_outbreak_end_purge_asks_then_removes_everything_personal_but_the_counts(central_url, tmp_path):
    cfg = tmp_path / "central.toml"
    url = f'database_url = "{central_url}"\n' if central_url.startswith("postgresql") else ""
    cfg.write_text(f'data_dir = "{tmp_path / "c"}"\nsession_secret = "{"s" * 32}"\n' + url)
    db = open_db(central_url if url else tmp_path / "c" / "central.db")
    now = time.time()
    _seed(db, now)
    today = datetime.fromtimestamp(now, TZ).date()
    issuance.quarantine(db, "7-7-707", today - timedelta(days=20), today - timedelta(days=7), "", person=1)
    issuance.quarantine(db, "8-8-808", today, today + timedelta(days=13), "")  # still active: kept
    counts = _counts(db, now)
    runner = CliRunner()
    with runner.isolation(input="n\n") as streams:
        assert main(["central", "purge", "--config", str(cfg), "--outbreak-end"]) != 0
        assert "不可撤销" in b"".join(s.getvalue() for s in streams[:2]).decode()
    assert _extras(db)[1] is not None  # refused: nothing removed
    with runner.isolation(input="y\n") as streams:
        code = main(["central", "purge", "--config", str(cfg), "--outbreak-end"])
        text = b"".join(s.getvalue() for s in streams[:2]).decode()
    assert code == 0, text
    assert "访客个人信息（姓名、电话、事由）已删除：3 条" in text and "出入记录已匿名" in text
    assert "隔离记录已删除：1 条" in text and "仍在隔离中的记录已保留：1 条" in text
    assert all(v is None for k, v in _extras(db).items() if k != 4)
    assert _counts(db, now) == counts
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'outbreak_purge'").fetchone()[0] == 1


def test_the_job_runs_until_its_event_is_set(tmp_path):
    db = open_db(tmp_path / "central.db")
    now = time.time()
    _seed(db, now)
    clock = ManualClock(wall=now + 10 * DAY)
    stop = threading.Event()
    job = retention.RetentionJob(lambda: open_db(tmp_path / "central.db"), RetentionSection(interval_h=1.0),
                                 clock=clock, stop=stop).start()
    assert wait_until(lambda: job.runs >= 1)
    assert _extras(db)[1] is not None  # 10 days: kept
    clock.advance(20 * DAY)
    stop.set()
    job.stop()
    assert not job._thread.is_alive() and job.runs == 1  # stopped while waiting, not after an hour


def test_the_central_server_applies_the_limits_by_itself(tmp_path):
    from central.server import create_app

    settings = CentralSettings(data_dir=tmp_path / "c", session_secret="s" * 32, port=free_port(0),
                               retention={"visitor_days": 1e-5, "interval_h": 1e-4})  # ~1 s and ~0.4 s
    db = open_db(settings.db_target)
    ingest_entries(db, "dev-v", "Garden", [_visitor(1, time.time() - 5, "13800000001", "张三")])
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: _extras(db)[1] is None, timeout=20)
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive()
