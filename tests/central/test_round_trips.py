"""What a device request costs the central database (issue 20: the fleet on PostgreSQL is bound by round trips),
pinned so that it does not creep back; and the shortcuts that saved them keep the ingest's semantics (gap alarms
opened and resolved, faults closed, refusals counted) on both backends.

Counted by :mod:`tests.central.roundtrips`: statements on SQLite (BEGIN and COMMIT included), round trips on
PostgreSQL (BEGIN and COMMIT each one). Before this change: a 1-entry upload 21 statements on SQLite, 22 round
trips on PostgreSQL; a heartbeat 14 and 16.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from central import ingest
from central.db import open_db
from sync.protocol import decode_upload, encode_upload
from tests.central.roundtrips import _entry, _report, device_requests

# token look-up; BEGIN; the device read (PostgreSQL: the row lock, then the read); batch ledger; rows; hourly counts;
# pass-sharing notes; boot anchor; device row; COMMIT (the list version comes with the device read)
EXPECTED = {
    "sqlite": {"upload": 10, "heartbeat": 5, "list poll": 4, "list poll, page built already": 2},
    "postgresql": {"upload": 11, "heartbeat": 6, "list poll": 4, "list poll, page built already": 2},
}


@pytest.fixture
def db(central_url):
    opened = open_db(central_url)
    yield opened
    opened.close()


def test_a_device_request_makes_no_more_round_trips_than_pinned(db, central_backend):
    counts = device_requests(db)
    assert {k: c.trips for k, c in counts.items()} == EXPECTED[central_backend], \
        {k: c.statements for k, c in counts.items()}


# -- the shortcuts keep the semantics ------------------------------------------------------------------------


def test_the_next_contiguous_seq_follows_without_a_read_only_in_the_steady_state():
    assert ingest.next_contiguous(4, 4, [5, 6]) == 6
    assert ingest.next_contiguous(4, 0, [6, 5]) == 6    # order does not matter; nothing held (retention) is fine
    assert ingest.next_contiguous(4, 4, []) == 4        # a heartbeat
    assert ingest.next_contiguous(4, 9, [5]) is None    # something is held above: the entries must be read
    assert ingest.next_contiguous(4, 4, [6]) is None    # not the next run
    assert ingest.next_contiguous(4, 4, [5, 7]) is None


def _upload(db, device, seqs, *, last_seq=None, pending=None, faults=None, decision="pass"):
    rows = [{**_entry(device["device_id"], s), "decision": decision} for s in seqs]
    last = max(seqs, default=0) if last_seq is None else last_seq
    report = {**_report(last, last + 1 if pending is None else pending), "faults": faults or []}
    return ingest.ingest(db, device, decode_upload(encode_upload(uuid.uuid4().hex, rows, report), "gzip"),
                         received_at=1_795_000_100.0, lists=True)


def test_gap_alarms_open_and_resolve_through_the_short_path(db):
    token = ingest.add_device(db, "gap-gate")
    device = ingest.authenticate(db, token)
    assert _upload(db, device, [1, 2]).highest_contiguous_seq == 2
    # a heartbeat: the gate logged 3..5, says it no longer has them pending (lost on the device)
    reply = _upload(db, device, [], last_seq=5, pending=6)
    assert reply.open_gaps == [[3, 5]] and [(g["from_seq"], g["to_seq"]) for g in ingest.open_gaps(db)] == [(3, 5)]
    # the next entry comes; 3..5 are still missing
    reply = _upload(db, device, [6], last_seq=6, pending=7)
    assert reply.highest_contiguous_seq == 2 and reply.open_gaps == [[3, 5]]
    # they turn up after all (an SD image put back): the alarm is resolved, the contiguous seq moves on
    reply = _upload(db, device, [3, 4, 5], last_seq=6, pending=7)
    assert reply.highest_contiguous_seq == 6 and reply.open_gaps == [] and ingest.open_gaps(db) == []
    assert reply.central_list_version == 0 and "central_list_version" not in reply.as_json()


def test_a_fault_is_closed_by_the_first_report_without_it_and_a_refusal_is_counted(db):
    token = ingest.add_device(db, "fault-gate")
    device = ingest.authenticate(db, token)
    _upload(db, device, [1], faults=[{"code": "thermometer", "since": 1_795_000_000.0}])
    assert db.execute("SELECT COUNT(*) FROM device_faults WHERE until IS NULL").fetchone()[0] == 1
    _upload(db, device, [], last_seq=1)  # a heartbeat, no faults any more
    assert db.execute("SELECT COUNT(*) FROM device_faults WHERE until IS NULL").fetchone()[0] == 0
    _upload(db, device, [2], decision="refuse")
    assert db.execute("SELECT SUM(refusals) FROM refusal_counts").fetchone()[0] == 1
    assert db.execute("SELECT SUM(refusals), SUM(total) FROM entry_counts").fetchone() == (1, 2)


def test_a_batch_sent_again_while_the_first_send_still_runs_is_acknowledged_not_refused(pg_server):
    """PostgreSQL: the second upload waits for the device row's lock, then reads the ledger, the entries and the
    alarms as the first left them (its read starts after the wait: read in the same statement as the lock, it
    would see the ledger as it was before and insert the batch a second time: a unique-key error, a 500)."""
    url = pg_server.new_database()
    first, second = open_db(url), open_db(url)
    try:
        device = ingest.authenticate(first, ingest.add_device(first, "retry-gate"))
        rows = [_entry("retry-gate", 1)]
        raw = encode_upload("batch-0001", rows, _report(1, 2))
        done: dict = {}

        def resend():
            try:
                done["reply"] = ingest.ingest(second, device, decode_upload(raw, "gzip"), 1_795_000_100.0)
            except Exception as exc:  # noqa: BLE001 - examined below
                done["error"] = exc

        with first.transaction():  # the first send, holding the device's row until it commits
            first.execute("SELECT 1 FROM devices WHERE device_id = ? FOR UPDATE", ["retry-gate"])
            waiting = threading.Thread(target=resend)
            waiting.start()
            time.sleep(0.5)  # the re-send is now waiting for the lock
            assert waiting.is_alive(), done
            ingest.ingest(first, device, decode_upload(raw, "gzip"), 1_795_000_100.0)
        waiting.join(30)
        assert "error" not in done, done
        reply = done["reply"]
        assert (reply.inserted, reply.duplicates, reply.held, reply.highest_contiguous_seq) == (0, 1, [[1, 1]], 1)
        assert first.execute("SELECT times_received FROM upload_batches").fetchone()[0] == 2
        assert first.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 1
    finally:
        first.close()
        second.close()


def test_the_upload_looks_for_undated_rows_by_their_index_on_sqlite(db, central_backend):
    """The device read's look for undated rows took the primary key on SQLite, reading every row the device had
    sent on every upload (a quadratic ingest: `bench sync` at 100,000 rows)."""
    if central_backend != "sqlite":
        pytest.skip("the query plan checked is SQLite's (PostgreSQL's planner picks by its statistics)")
    plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + ingest.sqlite_state_sql(True),
                                         {"dev": "gate-1", "batch": "b"}).fetchall()]
    assert any("entries_undated" in step for step in plan), plan
