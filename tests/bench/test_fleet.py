"""Smoke test of the fleet simulator (``python -m bench fleet``): a small fleet for a few seconds against a real
central on loopback; every entry a gate saw confirmed is at central exactly once, in order, with no gap alarm."""

from __future__ import annotations

import asyncio
import random

from bench import bench_fleet
from central import ingest
from sync.signing import load_public_key
from tests.sync.helpers import Central


def test_a_small_fleet_reaches_central_exactly_once(tmp_path):
    central = Central(tmp_path / "central").start_thread()
    try:
        tokens = bench_fleet.register(central.db, 20)
        rules = {**bench_fleet._defaults(), "interval_s": 0.5, "lists_interval_s": 1.0}
        gates = [bench_fleet.SimGate(d, t, random.Random(i), rules) for i, (d, t) in enumerate(tokens)]
        run = asyncio.run(bench_fleet.simulate(central.url, load_public_key(central.public_pem()), gates, 3.0, [],
                                               peak_per_hour=20_000))
    finally:
        central.stop()
    assert run["errors"] == 0, run["error_kinds"]
    assert run["uploads"] > 0 and run["lists"] > 0 and run["entries"] > 50
    held = dict(central.db.execute("SELECT device_id, COUNT(*) FROM entries GROUP BY device_id").fetchall())
    assert sum(held.values()) == run["entries"]
    for gate in gates:
        confirmed = gate.seq - len(gate.pending)
        assert held.get(gate.device_id, 0) == confirmed
    devices = {d["device_id"]: d for d in ingest.list_devices(central.db)}
    assert all(devices[g.device_id]["highest_contiguous_seq"] == g.seq - len(g.pending) for g in gates)
    assert not ingest.open_gaps(central.db)
    assert 0 <= run["sim_cpu"] and run["p99"] < 30
    # the client's list rule: a page each at start, then again only while no reply has told the version (the
    # day's quiet first hours, no uploads); asking every lists_interval_s, 3 s would take about 3 a gate
    assert len(gates) <= run["lists"] < 2 * len(gates)


def test_the_canned_baseline_server_answers_the_simulator(tmp_path):
    canned = bench_fleet.CannedCentral(tmp_path).start()
    try:
        rules = {**bench_fleet._defaults(), "interval_s": 0.5, "lists_interval_s": 1.0}
        gates = [bench_fleet.SimGate(f"sim-{i}", f"t-{i}", random.Random(i), rules) for i in range(20)]
        run = asyncio.run(bench_fleet.simulate(canned.url, canned.public_key, gates, 3.0, [canned.proc.pid],
                                               peak_per_hour=20_000))
    finally:
        canned.stop()
    assert run["errors"] == 0, run["error_kinds"]
    assert run["uploads"] > 0 and run["lists"] > 0 and run["entries"] > 50
    assert all(not gate.pending or gate.pending[0]["seq"] > gate.seq - len(gate.pending) for gate in gates)
    assert run["central_cpu"] > 0  # the server's own process is watched
