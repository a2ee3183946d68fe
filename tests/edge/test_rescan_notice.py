"""A pass shown again within the cooldown: the real Checkpoint on a real SQLite file logs nothing and leaves
the gate alone, but publishes a bounded re-scan notice pointing at the entry already recorded."""

from __future__ import annotations

import queue
import time

import pytest

from edge.checkpoint import Checkpoint
from edge.dedupe import Seen
from edge.events import Fanout, Notice
from edge.pairing import Sample
from edge.scan_intake import RESCAN_NOTICE_GAP_S
from sync import lists
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.edge.test_direction import CountingGate


@pytest.fixture
def cp(tmp_path, key):
    settings = edge_settings(tmp_path, camera={"source": "none"}, scan={"cooldown_s": 10, "same_scan_gap_s": 1})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key, extra=[{"op": "revoke", "pass_id": 77, "reason": "lost"}]))
    db.conn.close()
    checkpoint = Checkpoint(settings, gate=CountingGate())
    checkpoint.start()
    try:
        yield checkpoint
    finally:
        checkpoint.stop()


def decided(cp: Checkpoint, q: queue.Queue, text: str, t: float):
    cp.add_reading(Sample(t, 36.5))
    cp.add_reading(Sample(t, 36.5))
    assert cp.submit_text(text, t) is Seen.NEW
    return q.get(timeout=10)


def entries(cp: Checkpoint) -> int:
    with cp.store.lock:
        return cp.db.execute("SELECT count(*) FROM entries").fetchone()[0]


def test_rescan_within_the_cooldown_gives_one_notice_per_few_seconds_and_no_entry(cp, key):
    q, notes = cp.subscribe(), cp.subscribe_notices()
    text = make_pass(key, pass_id=601)
    t0 = time.monotonic() - 11.0  # sightings replayed with their own times, all in the past
    first = decided(cp, q, text, t0)
    assert first.decision == "pass" and entries(cp) == 1 and cp.gate.pulses == 1

    assert cp.submit_text(text, t0 + 0.5) is Seen.SAME       # still the same scan: nothing at all
    assert notes.empty()
    assert cp.submit_text(text, t0 + 2.0) is Seen.COOLDOWN   # shown again
    note = notes.get(timeout=1)
    assert isinstance(note, Notice) and note.kind == "rescan"
    assert (note.entry.uuid, note.entry.decision, note.entry.wall_ts) == (first.uuid, "pass", first.wall_ts)
    for i in range(1, 30):  # the camera sees it on many frames: no flood
        cp.submit_text(text, t0 + 2.0 + i * 0.033)
    assert cp.submit_text(text, t0 + 4.0) is Seen.IGNORED     # shown again, but within the notice gap
    assert notes.empty()
    assert cp.submit_text(text, t0 + 2.0 + RESCAN_NOTICE_GAP_S + 1.5) is Seen.IGNORED
    assert notes.get(timeout=1).entry.uuid == first.uuid       # a few seconds on: one more notice
    assert notes.empty() and q.empty()                          # no new outcome either
    assert entries(cp) == 1 and cp.gate.pulses == 1             # nothing logged, the gate did not open again

    # after the cooldown it is a new scan, decided and logged again
    again = decided(cp, q, text, time.monotonic())
    assert again.uuid != first.uuid and entries(cp) == 2


def test_rescan_notice_of_a_refusal_and_per_pass_bounds(cp, key):
    q, notes = cp.subscribe(), cp.subscribe_notices()
    revoked, other = make_pass(key, pass_id=77), make_pass(key, pass_id=602)
    t0 = time.monotonic()
    refused = decided(cp, q, revoked, t0)
    passed = decided(cp, q, other, t0 + 0.1)
    assert refused.decision == "refuse" and passed.decision == "pass"
    assert cp.submit_text(revoked, t0 + 2.0) is Seen.COOLDOWN
    assert cp.submit_text(other, t0 + 2.1) is Seen.COOLDOWN   # another pass has its own bound
    got = [notes.get(timeout=1), notes.get(timeout=1)]
    assert [(n.entry.uuid, n.entry.decision) for n in got] == [(refused.uuid, "refuse"), (passed.uuid, "pass")]
    assert entries(cp) == 2 and cp.gate.pulses == 1


def test_no_notice_for_a_pass_never_decided_here(cp, key):
    notes = cp.subscribe_notices()
    text = make_pass(key, pass_id=603)
    t0 = time.monotonic()
    cp.intake.dedupe.seen(text, t0)  # seen earlier but its decision is not recorded (still pending, or failed)
    assert cp.submit_text(text, t0 + 2.0) is Seen.COOLDOWN
    assert notes.empty() and entries(cp) == 0


def test_fanout_drops_the_oldest_when_a_subscriber_is_slow():
    fan: Fanout[int] = Fanout(maxsize=3)
    slow, other = fan.subscribe(), fan.subscribe()
    for i in range(5):
        fan.publish(i)
    assert [slow.get_nowait() for _ in range(3)] == [2, 3, 4]
    fan.unsubscribe(other)
    fan.unsubscribe(other)  # twice: no error
    fan.publish(9)
    assert slow.get_nowait() == 9 and len(fan) == 1
