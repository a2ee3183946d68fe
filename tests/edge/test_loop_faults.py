"""Scans that are not decided must not be lost silently: a dropped scan and a scan whose handling fails are
forgotten by the de-duplication (the person can scan again at once), counted or reported, and the loop
keeps running. A real Checkpoint on a real SQLite file."""

from __future__ import annotations

import threading
import time

import pytest

from drivers.gate import FakeGate
from edge.checkpoint import Checkpoint
from edge.dedupe import Seen
from edge.pairing import Sample
from sync import lists
from sync.devicedb import open_db
from sync.reasons import FAULTS
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.waiting import wait_until


def fail_once(cp: Checkpoint, poison: str) -> None:
    """Fault injection (nothing real raises here on demand): verifying ``poison`` fails once."""
    verify = cp.decider.verify
    left = [poison]

    def failing(text, direction, now):
        if text in left:
            left.remove(text)
            raise RuntimeError("injected failure")
        return verify(text, direction, now)

    cp.decider.verify = failing


@pytest.fixture
def checkpoint(tmp_path, key):
    made = []

    def build(devices: dict | None = None, **sections) -> Checkpoint:
        settings = edge_settings(tmp_path, **{"camera": {"source": "none"}, "gate": {"direction": "out"}, **sections})
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_db(settings.db_path)
        lists.apply_page(db, key_page(key))
        db.conn.close()
        cp = Checkpoint(settings, gate=FakeGate(), **(devices or {}))
        made.append(cp)
        return cp

    yield build
    for cp in made:
        cp.stop()


def test_a_dropped_scan_can_be_scanned_again_at_once(checkpoint, key):
    cp = checkpoint(scan={"queue_size": 1, "cooldown_s": 300})
    t = time.monotonic()
    texts = [make_pass(key, pass_id=i) for i in (1, 2, 3)]
    for i, text in enumerate(texts):  # not started: nobody takes scans off the queue
        assert cp.submit_text(text, t + i * 0.01) is Seen.NEW
    assert cp.dropped_scans == 2
    assert cp.submit_text(texts[2], t + 5) is Seen.COOLDOWN  # still queued: a real re-scan
    assert cp.submit_text(texts[0], t + 5) is Seen.NEW  # dropped, so not in the cooldown
    assert cp.dropped_scans == 3 and cp.intake.next(0).text == texts[0]


def test_a_failing_scan_is_reported_forgotten_and_the_loop_goes_on(checkpoint, key):
    cp = checkpoint(scan={"cooldown_s": 300})
    bad, good = make_pass(key, pass_id=11), make_pass(key, pass_id=12)
    fail_once(cp, bad)
    cp.start()
    q = cp.subscribe()
    assert cp.submit_text(bad) is Seen.NEW
    assert wait_until(lambda: "decide_failed" in cp.faults)
    assert any("扫码处理出错" in f for f in cp.status()["faults"])
    assert q.empty() and cp.db.execute("SELECT count(*) FROM entries").fetchone()[0] == 0
    assert not [on for _, on in cp.gate.history if on]  # never opened for it
    cp.add_reading(Sample(time.monotonic(), 36.5))
    assert cp.submit_text(good) is Seen.NEW  # the loop is still there
    assert q.get(timeout=10).decision == "pass"
    assert cp.submit_text(bad, time.monotonic() + 2) is Seen.NEW  # forgotten: no cooldown for it
    out = q.get(timeout=10)
    assert (out.decision, out.seq > 0) == ("pass", True)
    assert not any("扫码处理出错" in f for f in cp.status()["faults"])


class FlakyCamera:
    """A frame source whose ``latest`` raises ``failures`` times (a driver bug), then has no frame."""

    status, status_text, dropped = "ok", "摄像头正常", 0

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""

    def latest(self, timeout: float):
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("driver bug")
        time.sleep(min(timeout, 0.05))
        return None


def test_a_loop_that_raises_is_reported_restarted_and_the_fault_clears(checkpoint):
    cp = checkpoint(devices={"frame_source": FlakyCamera(failures=1)})
    checked = threading.Event()
    beats: list[str] = []

    def heartbeat(name: str) -> None:
        beats.append(name)
        if name == "frames" and beats.count("frames") == 2:  # the restarted loop's first turn waits for us
            checked.wait(10)

    cp.heartbeat = heartbeat
    cp.start()
    assert wait_until(lambda: "loop_failed" in cp.faults)
    assert FAULTS["loop_failed"]["zh"] in cp.status()["faults"]  # reported on the screen
    checked.set()
    assert wait_until(lambda: beats.count("frames") >= 3)  # restarted and turning again
    assert "loop_failed" not in cp.faults
    assert FAULTS["loop_failed"]["zh"] not in cp.status()["faults"]

