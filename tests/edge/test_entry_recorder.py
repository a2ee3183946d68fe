"""The entry recorder alone on a real SQLite file: commit durably, THEN the gate and lights, THEN publish."""

from __future__ import annotations

import sqlite3

from drivers.gate import FakeGate
from edge.decision import Decision
from edge.entry_recorder import EntryFields, EntryRecorder
from edge.faults import FaultBoard
from edge.indicators import FakeIndicators
from gatepass.clock import ManualClock
from sync.passes import Now


class CommitCheckingGate(FakeGate):
    """Looks through its own connection for the newest entry at each opening."""

    def __init__(self, db_path) -> None:
        super().__init__()
        self.db_path = db_path
        self.seen_at_open: list[int] = []

    def pulse(self, seconds: float) -> None:
        conn = sqlite3.connect(self.db_path)
        try:
            self.seen_at_open.append(conn.execute("SELECT max(seq) FROM entries").fetchone()[0] or 0)
        finally:
            conn.close()
        super().pulse(seconds)


SCAN_IN = EntryFields(event="scan", direction="in")


def make(opened_store):
    store, settings = opened_store()
    gate, lights, faults, clock = CommitCheckingGate(settings.db_path), FakeIndicators(), FaultBoard(), ManualClock()
    recorder = EntryRecorder(settings, store, faults, clock, gate=gate, indicators=lights, boot_id="boot")
    return recorder, store, gate, lights, faults, clock


def test_a_pass_is_on_disk_before_the_gate_opens_and_then_published(opened_store):
    recorder, store, gate, lights, faults, clock = make(opened_store)
    q = recorder.subscribe()
    fields = EntryFields(event="scan", direction="in", pass_id="1001", household="3-2-401", temp_c=36.5, temps=[36.5])
    out = recorder.record(fields, Decision("pass", "temp_ok"), Now(clock.time(), True), valid_to=5.0)
    assert gate.seen_at_open == [out.seq] and [light for _, light, _ in lights.history] == ["green"]
    assert q.get_nowait() is out and recorder.last_outcome() is out
    assert (out.decision, out.code, out.household, out.valid_to, out.t_decided) == (
        "pass", "temp_ok", "3-2-401", 5.0, clock.monotonic())
    row = store.db.execute("SELECT boot_id, mono_ts, wall_ts FROM entries WHERE uuid = ?", [out.uuid]).fetchone()
    assert row == ("boot", clock.monotonic(), clock.time())


def test_an_entry_stores_the_raw_system_time_beside_the_best_estimate_and_its_trust(opened_store):
    """Issue 21: a gate at 1970 stamps by central's carried time (``wall_ts``) and keeps what its clock said."""
    recorder, store, _gate, _lights, _faults, clock = make(opened_store)
    clock.set_wall(3_600.0)
    out = recorder.record(SCAN_IN, Decision("pass", "ok"), Now(1_790_000_000.0, True))
    row = store.db.execute("SELECT wall_ts, sys_ts, clock_trusted, mono_ts, boot_id FROM entries WHERE uuid = ?",
                           [out.uuid]).fetchone()
    assert row == (1_790_000_000.0, 3_600.0, 1, clock.monotonic(), "boot")


def test_a_refusal_keeps_the_gate_shut_and_a_failed_commit_becomes_log_failed(opened_store):
    recorder, store, gate, lights, faults, clock = make(opened_store)
    refused = recorder.record(SCAN_IN, Decision("refuse", "revoked"), Now(clock.time(), True))
    assert refused.seq > 0 and gate.seen_at_open == []
    other = sqlite3.connect(store.settings.db_path, isolation_level=None)
    store.db.execute("PRAGMA busy_timeout = 100")
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        failed = recorder.record(SCAN_IN, Decision("pass", "temp_ok"), Now(clock.time(), True))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (failed.decision, failed.code, failed.seq, failed.uuid) == ("refuse", "log_failed", -1, "")
    assert gate.seen_at_open == [] and "db_locked" in faults
    assert [light for _, light, _ in lights.history] == ["red", "red"]
    recorder.probe_log()  # the lock is back: the fault clears by itself
    assert "db_locked" not in faults


def test_the_guard_on_duty_is_recorded_unless_one_is_given(opened_store):
    recorder, store, gate, lights, faults, clock = make(opened_store)
    store.shifts.set_pin("g7", "246810")
    assert store.shifts.start("g7", "246810", 0)
    now = Now(clock.time(), True)
    assert recorder.record(SCAN_IN, Decision("refuse", "x"), now).guard_id == "g7"
    assert recorder.record(SCAN_IN, Decision("refuse", "x"), now, guard_id="g8").guard_id == "g8"
