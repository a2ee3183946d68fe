"""The demo's visitors: seeded once into the gate's log and visitor book, two of them still inside."""

from __future__ import annotations

import json

from edge.visitor_book import VisitorBook
from gatepass import demo
from sync.devicedb import open_db


def test_the_demo_seeds_a_few_visitors_once(tmp_path):
    demo._demo_guard(tmp_path)
    demo._demo_guard(tmp_path)  # a restart of the demo adds none
    db = open_db(tmp_path / "edge" / "edge.db")
    try:
        visits = db.execute("SELECT extra FROM entries WHERE event = 'visitor' ORDER BY seq").fetchall()
        exits = db.execute("SELECT count(*) FROM entries WHERE event = 'visitor_exit'").fetchone()[0]
        assert len(visits) == len(demo.DEMO_VISITORS) and exits == 2
        assert json.loads(visits[0][0])["name"] == "王小明"
        inside = VisitorBook(db).inside(demo.time.time())
        assert sorted(v.name for v in inside) == ["张师傅", "王小明"]
    finally:
        db.conn.close()


def test_the_demo_visitors_hosts_are_households_central_sends_the_gate(tmp_path):
    from central.db import open_db as open_central_db
    from central.passes import changelog

    demo._demo_passes(tmp_path)
    db = open_central_db(tmp_path / "central" / "central.db")
    try:
        sent = {c["household"] for c in changelog.snapshot(db, fmt=4)["changes"] if c["op"] == "household"}
    finally:
        db.close()
    assert {v[2] for v in demo.DEMO_VISITORS} <= sent and "2-3-401" in sent
