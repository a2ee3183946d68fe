"""The checkpoint end to end: a real SQLite file, the simulated camera, a thermometer on a real
pseudo-terminal speaking the GY-MCU90614 protocol, and the recording gate."""

from __future__ import annotations

import json
import queue
import sqlite3
import time

import pytest

from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge.checkpoint import Checkpoint
from edge.events import Outcome
from edge.indicators import FakeIndicators
from sync import lists
from sync.devicedb import open_db
from sync.locallog import LocalLog
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.waiting import wait_until


def wait_outcome(q: queue.Queue, timeout: float = 10.0) -> Outcome:
    return q.get(timeout=timeout)


class CommitCheckingGate(FakeGate):
    """A FakeGate that, at each opening, looks through its own connection for the newest entry."""

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


@pytest.fixture
def rig(tmp_path, key, pty_thermometer):
    """A started checkpoint wired to real parts; yields (checkpoint, camera, gate, thermometer, indicators)."""
    made = []

    def build(extra_page: list[dict] | None = None, temperature: float | None = 36.5, **sections) -> tuple:
        pty_thermometer.temperature = temperature
        settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)}, **sections)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_db(settings.db_path)
        lists.apply_page(db, key_page(key, extra=extra_page))
        db.conn.close()
        camera = SimCamera(settings.camera)
        gate = CommitCheckingGate(settings.db_path)
        lights = FakeIndicators()
        cp = Checkpoint(settings, frame_source=camera, thermometer=Thermometer(settings.thermometer), gate=gate,
                        indicators=lights)
        cp.start()
        made.append(cp)
        assert wait_until(lambda: cp.status()["devices"]["thermometer"]["status"] in (
            ("ok",) if temperature is not None else ("ok", "no data")))
        return cp, camera, gate, pty_thermometer, lights

    yield build
    for cp in made:
        cp.stop()


def entries(cp: Checkpoint) -> list[dict]:
    conn = sqlite3.connect(cp.settings.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM entries ORDER BY seq")]
    finally:
        conn.close()


def test_valid_pass_normal_temperature_commits_before_the_gate_opens(rig, key, edge_db):
    cp, camera, gate, therm, lights = rig(temperature=36.4)
    q = cp.subscribe()
    camera.present(make_pass(key), seconds=1.0)
    out = wait_outcome(q)
    assert (out.decision, out.code) == ("pass", "temp_ok")
    assert out.temperature_c == pytest.approx(36.4, abs=0.01)
    assert out.message_zh == "体温正常，请通行"
    rows = entries(cp)
    assert len(rows) == 1 and rows[0]["uuid"] == out.uuid and rows[0]["decision"] == "pass"
    assert rows[0]["pass_id"] == "1001" and rows[0]["household"] == "3-2-401"
    # the gate's own connection already saw the committed entry when the gate was told to open
    assert gate.seen_at_open == [rows[0]["seq"]]
    opens = [t for t, on in gate.history if on]
    assert len(opens) == 1 and opens[0] >= rows[0]["mono_ts"]
    assert [light for _, light, _ in lights.history] == ["green"]
    assert LocalLog(edge_db(cp.settings.db_path)).verify_chain().ok


def test_fever_refuses_asks_to_remeasure_then_second_high_is_a_priority_fever_event(rig, key, edge_db):
    cp, camera, gate, therm, lights = rig(temperature=38.2)
    q = cp.subscribe()
    text = make_pass(key)
    camera.present(text, seconds=0.6)
    first = wait_outcome(q)
    assert (first.decision, first.code, first.remeasure, first.fever) == ("refuse", "temp_high", True, False)
    # the pass leaves the view (longer than the same-scan gap), then is shown again for the re-measure
    assert wait_until(lambda: camera.quiet_for() > cp.settings.scan.same_scan_gap_s)
    camera.present(text, seconds=0.6)
    second = wait_outcome(q)
    assert (second.decision, second.code, second.fever) == ("refuse", "fever", True)
    rows = entries(cp)
    assert [r["reason"] for r in rows] == ["temp_high", "fever"]
    assert rows[1]["priority"] == 1 and rows[1]["fever"] == 1 and rows[1]["ref_uuid"] == first.uuid
    assert len(json.loads(rows[1]["temps"])) >= 2
    assert not [on for _, on in gate.history if on]  # never opened
    assert LocalLog(edge_db(cp.settings.db_path)).pending(1)[0]["seq"] == rows[1]["seq"]  # synced first


def test_rescan_within_cooldown_is_ignored(rig, key):
    cp, camera, gate, therm, lights = rig()
    q, notes = cp.subscribe(), cp.subscribe_notices()
    text = make_pass(key)
    camera.present(text, seconds=0.5)
    assert wait_outcome(q).decision == "pass"
    # the pass leaves the camera's view for longer than the same-scan gap (real frames, real time)
    assert wait_until(lambda: camera.quiet_for() > cp.settings.scan.same_scan_gap_s)
    camera.present(text, seconds=0.5)
    assert notes.get(timeout=10).kind == "rescan"  # seen again and recognised as a re-scan
    assert q.empty()
    assert len(entries(cp)) == 1


def test_invalid_passes_are_refused_with_the_verifier_reason(rig, key):
    cp, camera, gate, therm, lights = rig(extra_page=[{"op": "revoke", "pass_id": 77, "reason": "lost"}])
    q = cp.subscribe()
    camera.present(make_pass(key, pass_id=77), seconds=0.5)
    revoked = wait_outcome(q)
    assert revoked.code == "revoked" and revoked.as_json()["detail"] == "lost"  # the precise reason for the screen
    cp.submit_text("hello world")
    assert wait_outcome(q).code == "not_our_format"
    assert not [on for _, on in gate.history if on]


def test_no_reading_in_window_refuses(rig, key):
    cp, camera, gate, therm, lights = rig(temperature=20.0)  # no subject: outside the body range
    q = cp.subscribe()
    camera.present(make_pass(key), seconds=0.5)
    out = wait_outcome(q)
    assert (out.decision, out.code) == ("refuse", "temp_missing")


def test_unplugged_thermometer_is_reported_and_recovers(rig, key):
    cp, camera, gate, therm, lights = rig()
    therm.unplug()
    assert wait_until(lambda: any("测温仪" in f for f in cp.status()["faults"]))
    assert cp.status()["devices"]["thermometer"]["status"] != "ok"
    # the readings taken before the unplug fall out of the pairing look-back
    assert wait_until(lambda: _older_than_lookback(cp))
    q = cp.subscribe()
    camera.present(make_pass(key, pass_id=5), seconds=0.5)  # the loop keeps running meanwhile
    assert wait_outcome(q).code == "temp_missing"
    therm.replug()
    assert wait_until(lambda: cp.status()["devices"]["thermometer"]["status"] == "ok")
    assert not any("测温仪" in f for f in cp.status()["faults"])
    camera.present(make_pass(key, pass_id=6), seconds=0.5)
    assert wait_outcome(q).code == "temp_ok"


def test_disk_full_keeps_the_gate_shut_and_reports_the_fault(rig, key):
    cp, camera, gate, therm, lights = rig()
    q = cp.subscribe()
    camera.present(make_pass(key, pass_id=1), seconds=0.5)
    assert wait_outcome(q).decision == "pass"
    before = entries(cp)
    with cp.store.lock:  # cap the database at its current size: SQLite answers SQLITE_FULL
        pages = cp.db.execute("PRAGMA page_count").fetchone()[0]
        cp.db.execute(f"PRAGMA max_page_count = {pages}")
    opened = len(gate.seen_at_open)
    for pid in range(2, 40):  # fill the remaining free pages until a commit fails
        camera.present(make_pass(key, pass_id=pid, household="x" * 60), seconds=0.3)
        out = wait_outcome(q)
        if out.code == "log_failed":
            break
        assert wait_until(lambda: camera.quiet_for() > cp.settings.scan.same_scan_gap_s)  # this pass has left
    assert out.code == "log_failed" and out.decision == "refuse" and out.seq == -1
    assert len(gate.seen_at_open) == opened + pid - 2  # no opening for the failed one
    assert gate.seen_at_open[-1] == entries(cp)[-1]["seq"]  # every opening followed its own commit
    assert any("存储空间已满" in f for f in cp.status()["faults"])
    assert entries(cp)[:len(before)] == before  # nothing already logged is lost
    with cp.store.lock:
        cp.db.execute("PRAGMA max_page_count = 1073741823")
    assert wait_until(lambda: not any("存储空间已满" in f for f in cp.status()["faults"]), timeout=10)
    assert wait_until(lambda: camera.quiet_for() > cp.settings.scan.same_scan_gap_s)
    camera.present(make_pass(key, pass_id=99), seconds=0.5)
    assert wait_outcome(q).decision == "pass"


def _older_than_lookback(cp: Checkpoint) -> bool:
    """Whether every reading is older than the pairing look-back (none can pair with a scan made now)."""
    newest = cp.readings.newest()
    return newest is None or time.monotonic() - newest > cp.settings.policy.pair_lookback_s
