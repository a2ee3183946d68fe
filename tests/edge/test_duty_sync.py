"""The duty board end to end (issue 17): two guards rostered for a gate at a real central on loopback; one signs
in at the gate with the PIN central set (lists synced), the sign-in is uploaded, and central's board shows the
signed-in guard since when and flags the absent one; a sign-out leaves the post flagged empty."""

from __future__ import annotations

import time

import pytest

from central import duty, people
from sync import client as sync_client
from tests.edge.test_guard_desk import make
from tests.sync.helpers import Central, sync_settings

pytestmark = pytest.mark.usefixtures("central_database")  # on SQLite and PostgreSQL


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path / "central").start_thread()
    yield c
    c.stop()


def _upload_all(client):
    for _ in range(10):
        if client.upload_once() == 0:
            return


def test_board_shows_who_signed_in_and_flags_the_absent_guard(central, opened_store, tmp_path):
    for guard_id, name, pin in (("2001", "王强", "13572468"), ("2002", "李梅", "24681357")):
        people.set_pin(central.db, people.add(central.db, guard_id, name, "", "watch"), pin)
    token = central.add_device("pi-north", gate_id="north")
    desk, store, _, _, clock, _ = make(opened_store, mode="guarded")
    clock.set_wall(time.time())
    client = sync_client.SyncClient(sync_settings(central.url, token, central.public_pem(), tmp_path / "edge"))
    try:
        client.fetch_lists()  # the PINs set at central reach the gate
        duty.sync_gate_posts(central.db)
        post = next(p for p in duty.posts(central.db) if p.gate_id == "north")
        now = time.time()
        for guard_id in ("2001", "2002"):
            duty.add_slot(central.db, post.id, guard_id, now - 3600, now + 3600, by="admin")
        before = next(r for r in duty.board(central.db) if r.post.id == post.id)
        assert before.empty and [s.guard_id for s in before.absent] == ["2001", "2002"]

        assert not desk.start_shift("2001", "00000000")
        assert desk.start_shift("2001", "13572468")
        _upload_all(client)
        row = next(r for r in duty.board(central.db) if r.post.id == post.id)
        assert row.signed_in is not None and row.signed_in.guard_id == "2001" and row.signed_in_name == "王强"
        assert abs(row.signed_in.since - store.shifts.current()[2]) < 1
        assert [s.guard_id for s in row.absent] == ["2002"] and not row.empty and not row.unrostered
        assert duty.summary([row]) == {"posts": 1, "empty": 0, "absent": 1, "unrostered": 0}

        desk.end_shift()
        _upload_all(client)
        after = next(r for r in duty.board(central.db) if r.post.id == post.id)
        assert after.empty and len(after.absent) == 2
    finally:
        client.close()
