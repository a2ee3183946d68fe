"""The demo's vehicles: seeded once into the gate's log and vehicle book (one new-energy plate), two still inside,
and the demo gate is a vehicle lane."""

from __future__ import annotations

import json

from edge.vehicle_book import VehicleBook
from gatepass import demo
from sync.devicedb import open_db
from sync.plates import is_new_energy, parse_plate


def test_the_demo_seeds_a_few_vehicles_once(tmp_path):
    demo._demo_guard(tmp_path)
    demo._demo_guard(tmp_path)  # a restart of the demo adds none
    db = open_db(tmp_path / "edge" / "edge.db")
    try:
        cars = [json.loads(r[0]) for r in db.execute("SELECT extra FROM entries WHERE event = 'vehicle' ORDER BY seq")]
        exits = db.execute("SELECT count(*) FROM entries WHERE event = 'vehicle_exit'").fetchone()[0]
        assert len(cars) == len(demo.DEMO_VEHICLES) == 3 and exits == 1
        assert all(parse_plate(c["plate"]) == c["plate"] for c in cars)
        assert any(is_new_energy(c["plate"]) for c in cars)
        inside = VehicleBook(db).inside(demo.time.time())
        assert sorted(v.plate for v in inside) == ["京A8B123", "京N12345"]
    finally:
        db.conn.close()
