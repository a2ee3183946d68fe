"""Guarded-mode actions through the real Checkpoint on a real SQLite file: shifts, overrides, visitors;
and the unattended mode refusing them. Scans are submitted directly (no camera needed)."""

from __future__ import annotations

import json
import queue
import time

import pytest

from drivers.gate import FakeGate
from edge.checkpoint import Checkpoint, CheckpointError
from edge.indicators import FakeIndicators
from edge.pairing import Sample
from edge.shifts import ShiftBook
from gatepass.clock import ManualClock
from sync import lists
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.waiting import wait_until


@pytest.fixture
def make_cp(tmp_path, key):
    made = []

    def build(**sections) -> tuple[Checkpoint, FakeGate, FakeIndicators]:
        settings = edge_settings(tmp_path, camera={"source": "none"}, **sections)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_db(settings.db_path)
        lists.apply_page(db, key_page(key))
        ShiftBook(db).set_pin("guard7", "246810")
        db.conn.close()
        gate, lights = FakeGate(), FakeIndicators()
        cp = Checkpoint(settings, gate=gate, indicators=lights, clock=ManualClock(wall=time.time()))
        cp.start()
        made.append(cp)
        return cp, gate, lights

    yield build
    for cp in made:
        cp.stop()


def scan(cp: Checkpoint, q: queue.Queue, text: str, temp: float | None):
    """Submit ``text`` with readings at the scan time (none: a manual clock is moved past the pairing window)."""
    clock = cp.readings.clock
    if isinstance(clock, ManualClock):
        clock.advance(0.1)  # the next person: after the last decision
    t = clock.monotonic()
    if temp is not None:
        cp.add_reading(Sample(t, temp))
        cp.add_reading(Sample(t, temp))
    cp.submit_text(text, t)
    if temp is None and isinstance(clock, ManualClock):
        clock.advance(cp.settings.policy.pair_window_s)  # the decide loop sees the window end
    return q.get(timeout=10)


def test_shift_override_visitor_and_summary(make_cp, key):
    cp, gate, lights = make_cp()
    q = cp.subscribe()
    assert not cp.start_shift("guard7", "0000")
    assert cp.start_shift("guard7", "246810")
    assert cp.status()["shift"]["guard_id"] == "guard7"
    refused = scan(cp, q, make_pass(key, pass_id=1), 38.0)
    assert refused.decision == "refuse" and refused.guard_id == "guard7"
    with pytest.raises(CheckpointError):
        cp.override(refused.uuid, "someone-else", "medical")
    with pytest.raises(CheckpointError):
        cp.override(refused.uuid, "guard7", "because")
    with pytest.raises(CheckpointError, match="second confirmation"):
        cp.override(refused.uuid, "guard7", "medical")
    over = cp.override(refused.uuid, "guard7", "medical", confirmed=True)
    assert (over.decision, over.code, over.event, over.guard_id) == ("pass", "override", "override", "guard7")
    assert [on for _, on in gate.history].count(True) == 1  # opened for the override only
    row = cp.db.execute("SELECT override_reason, ref_uuid, guard_id FROM entries WHERE uuid = ?",
                        [over.uuid]).fetchone()
    assert row == ("medical", refused.uuid, "guard7")
    visitor = cp.register_visitor("guard7", "张三", "13800000000", "5-1-302", "探亲", 36.6)
    assert (visitor.decision, visitor.code, visitor.event) == ("pass", "visitor_ok", "visitor")
    extra = cp.db.execute("SELECT extra FROM entries WHERE uuid = ?", [visitor.uuid]).fetchone()[0]
    assert "张三" in extra
    hot = cp.register_visitor("guard7", "李四", "13900000000", "5-1-302", "送货", 38.1)
    assert (hot.decision, hot.code, hot.remeasure) == ("refuse", "temp_high", True)
    summary = cp.end_shift()
    assert summary is not None and summary.guard_id == "guard7" and summary.ended_ts is not None
    assert (summary.entries, summary.passed, summary.refused, summary.overrides, summary.visitors) == (4, 2, 2, 1, 2)
    assert summary.high_readings == 2 and dict(summary.refusals_by_reason) == {"temp_high": 2}
    assert [n.reason for n in summary.override_notes] == ["medical"]
    handed = cp.db.execute("SELECT decision, reason, guard_id, extra FROM entries WHERE event = 'shift_end'").fetchall()
    assert len(handed) == 1 and handed[0][:3] == ("info", "shift_end", "guard7")  # on its way to central
    sent = json.loads(handed[0][3])
    assert (sent["entries"], sent["high_readings"], sent["refusals"], sent["visitors"]) == (4, 2, {"temp_high": 2}, 2)
    assert cp.status()["shift"] is None
    with pytest.raises(CheckpointError):  # nobody signed in any more
        cp.register_visitor("guard7", "王五", "1", "1-1-1", "x", 36.5)


def test_unattended_gate_allows_no_overrides_or_visitors(make_cp, key):
    cp, gate, lights = make_cp(gate={"mode": "unattended"})
    q = cp.subscribe()
    assert cp.start_shift("guard7", "246810")
    refused = scan(cp, q, make_pass(key, pass_id=2), None)
    assert refused.code == "temp_missing"
    with pytest.raises(CheckpointError, match="unattended"):
        cp.override(refused.uuid, "guard7", "staff")
    with pytest.raises(CheckpointError, match="unattended"):
        cp.register_visitor("guard7", "a", "1", "1-1-1", "x", 36.5)
    ok = scan(cp, q, make_pass(key, pass_id=3), 36.5)
    assert ok.decision == "pass"
    assert [light for _, light, _ in lights.history] == ["red", "green"]


def test_central_policy_wins_over_the_config(tmp_path, key):
    settings = edge_settings(tmp_path, camera={"source": "none"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key, extra=[{"op": "policy", "key": "fever_c", "value": 37.0}]))
    db.conn.close()
    cp = Checkpoint(settings, gate=FakeGate())
    cp.start()
    try:
        q = cp.subscribe()
        out = scan(cp, q, make_pass(key, pass_id=4), 37.1)  # normal by the config's 37.3, high by central's 37.0
        assert out.code == "temp_high"
    finally:
        cp.stop()


def test_a_full_scan_queue_drops_the_oldest_and_counts(make_cp, key):
    cp, gate, lights = make_cp(scan={"queue_size": 1})
    cp.runner.join()  # the loops are stopped: nobody takes scans off the queue now
    for i in range(5):
        cp.submit_text(f"text-{i}")
    assert cp.dropped_scans == 4
    assert cp.status()["counters"]["dropped_scans"] == 4


def test_scanner_over_a_real_pty_and_unplugged_camera_and_relay_are_reported(tmp_path, key):
    """Passes from a GM65 serial scanner on a pseudo-terminal are decided; a camera and a USB relay that are
    not there show up in plain words while the loop keeps working."""
    import os
    import tty

    from drivers.camera import make_frame_source
    from drivers.config import CameraConfig
    from drivers.gate import LcusGate
    from drivers.scanner import Scanner
    from drivers.scanner.gm65 import encode_text

    master, slave = os.openpty()
    tty.setraw(slave)
    settings = edge_settings(tmp_path, scanner={"enabled": True, "url": os.ttyname(slave)},
                             gate={"direction": "out"})  # an exit: no temperature needed
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key))
    db.conn.close()
    cp = Checkpoint(settings, scanner=Scanner(settings.scanner),
                    frame_source=make_frame_source(CameraConfig(source="/dev/video-not-here")),
                    gate=LcusGate(str(tmp_path / "no-relay")))
    cp.start()
    try:
        q = cp.subscribe()
        assert wait_until(lambda: cp.status()["devices"]["scanner"]["status"] == "ok")  # the port is open
        os.write(master, encode_text(make_pass(key, pass_id=42), b"\r"))
        out = q.get(timeout=10)
        assert (out.decision, out.code) == ("pass", "pass_ok")  # decided and logged although the relay is gone
        assert cp.db.execute("SELECT count(*) FROM entries").fetchone()[0] == 1
        faults = " ".join(cp.status()["faults"])
        assert "摄像头" in faults and "闸门继电器" in faults
        assert cp.status()["devices"]["scanner"]["status"] == "ok"
    finally:
        cp.stop()
        os.close(master)
        os.close(slave)


def test_locked_database_keeps_the_gate_shut_reports_and_recovers(make_cp, key):
    import sqlite3

    cp, gate, lights = make_cp(health={"disk_floor_mb": 1e12})  # also: any disk is "low" for this gate
    q = cp.subscribe()
    with cp.store.lock:
        cp.db.execute("PRAGMA busy_timeout = 200")  # give up quickly instead of after 5 s
    other = sqlite3.connect(cp.settings.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        out = scan(cp, q, make_pass(key, pass_id=8), 36.5)
        assert (out.decision, out.code, out.seq) == ("refuse", "log_failed", -1)
        assert any("数据库被占用" in f for f in cp.status()["faults"])
        assert not [on for _, on in gate.history if on]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert wait_until(lambda: not any("数据库被占用" in f for f in cp.status()["faults"]))
    assert any("存储空间不足" in f for f in cp.status()["faults"])  # the disk-floor alarm
    cp.readings.clock.advance(1.0)  # the pass leaves the view (the same-scan gap), then is shown again
    assert scan(cp, q, make_pass(key, pass_id=8), 36.5).decision == "pass"


def test_a_repeated_visitor_click_logs_one_entry_and_opens_once(make_cp):
    cp, gate, lights = make_cp()
    assert cp.start_shift("guard7", "246810")
    first = cp.register_visitor("guard7", "赵六", "13700000000", "2-2-202", "探亲", 36.6)
    assert first.decision == "pass"
    with pytest.raises(CheckpointError, match="a moment ago"):
        cp.register_visitor("guard7", "赵六", "13700000000", "2-2-202", "探亲", 36.6)
    other = cp.register_visitor("guard7", "钱七", "13600000000", "2-2-202", "探亲", 36.6)  # someone else
    assert other.decision == "pass"
    assert cp.db.execute("SELECT count(*) FROM entries WHERE event = 'visitor'").fetchone()[0] == 2
    assert [light for _, light, _ in lights.history] == ["green", "green"]


# -- the gate holds where the risk is (issue 13) ---------------------------------------------------------------


def _quarantine(household: str) -> dict:
    now = time.time()
    return {"op": "quarantine", "household": household, "start": "2026-01-01", "end": "2099-01-01",
            "start_ts": now - 86400, "end_ts": now + 86400 * 7}


@pytest.fixture
def quarantine_cp(tmp_path, key):
    """A guarded both-ways gate whose lists hold household 2-3-401 under home quarantine."""
    settings = edge_settings(tmp_path, camera={"source": "none"}, gate={"direction": "both", "mode": "guarded"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key, extra=[_quarantine("2-3-401")]))
    ShiftBook(db).set_pin("guard7", "246810")
    db.conn.close()
    cp = Checkpoint(settings, gate=FakeGate(), indicators=FakeIndicators(), clock=ManualClock(wall=time.time()))
    cp.start()
    assert cp.start_shift("guard7", "246810")
    yield cp
    cp.stop()


def test_a_visitor_to_a_quarantined_household_is_refused_and_sent_first(quarantine_cp):
    cp = quarantine_cp
    out = cp.register_visitor("guard7", "张三", "13800000000", "2-3-401", "探亲", 36.5)
    assert (out.decision, out.code, out.household) == ("refuse", "host_quarantined", "2-3-401")
    assert "隔离" in out.message_zh
    row = cp.db.execute("SELECT event, decision, priority FROM entries WHERE uuid = ?", [out.uuid]).fetchone()
    assert row == ("visitor", "refuse", 1)
    assert not [on for _, on in cp.gate.history if on]
    other = cp.register_visitor("guard7", "李四", "13900000000", "5-1-302", "探亲", 36.5)
    assert other.decision == "pass"


def test_overriding_a_quarantine_refusal_needs_confirmation_and_other_needs_a_note(quarantine_cp, key):
    cp = quarantine_cp
    q = cp.subscribe()
    refused = scan(cp, q, make_pass(key, pass_id=9, household="2-3-401"), 36.5)
    assert (refused.code, refused.household) == ("quarantined", "2-3-401")
    with pytest.raises(CheckpointError, match="second confirmation"):
        cp.override(refused.uuid, "guard7", "medical")
    with pytest.raises(CheckpointError, match="note"):
        cp.override(refused.uuid, "guard7", "other", "   ", confirmed=True)
    over = cp.override(refused.uuid, "guard7", "other", "  送医  120 急救 ", confirmed=True)
    assert over.decision == "pass"
    row = cp.db.execute("SELECT override_reason, priority, guard_id, ref_uuid, extra FROM entries WHERE uuid = ?",
                        [over.uuid]).fetchone()
    assert row[:4] == ("other", 1, "guard7", refused.uuid)  # priority: central hears of it first
    assert json.loads(row[4]) == {"note": "送医 120 急救", "overrode": "quarantined"}
    summary = cp.shift_summary()
    assert summary is not None and [(n.reason, n.note) for n in summary.override_notes] == [("other", "送医 120 急救")]


def test_a_plain_refusal_is_overridden_without_a_second_confirmation(quarantine_cp, key):
    cp = quarantine_cp
    q = cp.subscribe()
    refused = scan(cp, q, make_pass(key, pass_id=10, household="1-1-101"), None)  # no reading
    assert refused.code == "temp_missing"
    over = cp.override(refused.uuid, "guard7", "staff")
    assert cp.db.execute("SELECT priority FROM entries WHERE uuid = ?", [over.uuid]).fetchone()[0] == 0


@pytest.mark.parametrize("text", ["https://ykm.gd.gov.cn/qr?c=ABC123", "HTTPS://jkm.example.cn/healthcode/x",
                                  "https://www.ishenzhen.cn/hc?id=9"])
def test_a_city_health_code_scanned_by_mistake_is_named_as_such(quarantine_cp, text):
    cp = quarantine_cp
    q = cp.subscribe()
    cp.submit_text(text)
    out = q.get(timeout=10)
    assert (out.decision, out.code) == ("refuse", "health_code_scanned")
    assert "健康码" in out.message_zh


def _health_cp(tmp_path, key, policy: str) -> Checkpoint:
    settings = edge_settings(tmp_path, camera={"source": "none"}, policy={"health_code": policy})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key))
    ShiftBook(db).set_pin("guard7", "246810")
    db.conn.close()
    cp = Checkpoint(settings, gate=FakeGate(), indicators=FakeIndicators(), clock=ManualClock(wall=time.time()))
    cp.decider.health.hold_s = 1.0
    cp.start()
    assert cp.start_shift("guard7", "246810")
    return cp


@pytest.mark.parametrize(("policy", "colour", "decision", "code"), [
    ("require", "green", "pass", "temp_ok"),
    ("require", "red", "refuse", "health_code_red"),
    ("record", "yellow", "refuse", "health_code_yellow"),
    ("require", None, "refuse", "health_code_missing"),
    ("record", None, "pass", "temp_ok"),
])
def test_the_guard_taps_the_health_code_colour_before_the_gate_opens(tmp_path, key, policy, colour, decision, code):
    cp = _health_cp(tmp_path, key, policy)
    try:
        q = cp.subscribe()
        held = scan(cp, q, make_pass(key, pass_id=21), 36.5)
        assert (held.decision, held.code, held.seq) == ("guard", "health_code_check", 0)
        assert cp.status()["health_code"] == {"policy": policy, "waiting": True}
        assert not [on for _, on in cp.gate.history if on]  # held: the gate waits for the colour
        if colour is not None:
            cp.health_code_colour(colour, "guard7")
        out = q.get(timeout=10)
        assert (out.decision, out.code) == (decision, code)
        row = cp.db.execute("SELECT priority, extra FROM entries WHERE uuid = ?", [out.uuid]).fetchone()
        assert json.loads(row[1])["health_code"] == (colour or "none")
        assert row[0] == (1 if decision == "refuse" else 0)
        assert [on for _, on in cp.gate.history].count(True) == (1 if decision == "pass" else 0)
        with pytest.raises(CheckpointError, match="no scan is waiting"):
            cp.health_code_colour("green", "guard7")  # a late tap changes nothing
    finally:
        cp.stop()


def test_health_code_taps_need_the_signed_in_guard_and_a_known_colour(tmp_path, key):
    cp = _health_cp(tmp_path, key, "require")
    try:
        with pytest.raises(CheckpointError, match="not signed in"):
            cp.health_code_colour("green", "intruder")
        with pytest.raises(CheckpointError, match="colour"):
            cp.health_code_colour("blue", "guard7")
    finally:
        cp.stop()
