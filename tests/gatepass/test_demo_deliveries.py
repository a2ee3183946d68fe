"""The demo's deliveries: seeded once into the gate's log and delivery book, one to the quarantined household
(flagged), one picked up."""

from __future__ import annotations

import json

from edge.delivery_book import DeliveryBook
from gatepass import demo
from sync.devicedb import open_db


def test_the_demo_seeds_a_few_deliveries_once(tmp_path):
    demo._demo_guard(tmp_path)
    demo._demo_guard(tmp_path)  # a restart of the demo adds none
    db = open_db(tmp_path / "edge" / "edge.db")
    try:
        left = [json.loads(r[0]) for r in db.execute("SELECT extra FROM entries WHERE event = 'delivery' ORDER BY seq")]
        pickups = db.execute("SELECT count(*) FROM entries WHERE event = 'delivery_pickup'").fetchone()[0]
        assert len(left) == len(demo.DEMO_DELIVERIES) == 3 and pickups == 1
        assert [d["quarantined"] for d in left] == [False, True, False]
        waiting = DeliveryBook(db).waiting(demo.time.time())
        assert [(d.household, d.quarantined) for d in waiting] == [("2-3-401", True), ("3-2-401", False)]
    finally:
        db.conn.close()
