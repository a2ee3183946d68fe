"""Reliability: kill -9 at random points, a faulty network, a server killed between commit and reply, bad clocks.

Each run is bounded in time; the larger runs are in bench/bench_sync.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from central import ingest
from sync import client as sync_client
from sync.devicedb import open_db as open_edge
from sync.locallog import LocalLog

from . import killloop
from .faultproxy import FaultProxy, FaultRates
from .helpers import Central, bulk_fill, device_rows, entry, fill, sync_settings, sync_toml, wait_until

pytestmark = pytest.mark.usefixtures("central_database")  # each test on SQLite and PostgreSQL


def _assert_exact(central, db_path, device_id="gate-a"):
    """Central holds exactly the device's entries, once each, and the device marked them all."""
    dev = device_rows(db_path)
    cen = central.entries(device_id)
    assert len(cen) == len({r[2] for r in cen})  # no uuid twice
    assert [(r[1], r[2]) for r in cen] == [(r[1], r[2]) for r in dev]
    assert all(r[3] == 1 for r in dev)
    assert central.db.integrity_check() == "ok"
    assert ingest.open_gaps(central.db) == []


def test_kill9_writer_and_sync_200_times(tmp_path):
    central = Central(tmp_path / "central").start_process()
    try:
        token = central.add_device("gate-a")
        settings = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev", batch_rows=50)
        settings.data_dir.mkdir()
        report = killloop.kill_loop(settings, kills=200, max_delay_s=0.05)
        assert report.kills >= 200 and report.integrity_failures == []
        db = open_edge(settings.db_path)
        try:
            assert wait_until(lambda: LocalLog(db).backlog() == 0, 60), "backlog did not drain"
        finally:
            killloop.stop_sync(report.sync_pid)
        acked = killloop.acked(settings)
        held = {seq: uuid for _, seq, uuid, _ in device_rows(settings.db_path)}
        assert len(acked) > 100
        assert all(held.get(seq) == uuid for seq, uuid in acked.items())  # zero acknowledged entries lost
        _assert_exact(central, settings.db_path)
        assert LocalLog(db).verify_chain().ok
        db.close()
    finally:
        central.stop()


def test_faulty_network_5000_entries_then_drain(tmp_path):
    central = Central(tmp_path / "central").start_thread()
    proxy = FaultProxy(central.port, FaultRates(drop=0.15, hang=0.15, slow=0.3, cut=0.05, lose_reply=0.25),
                       seed=7).start()
    proc = None
    try:
        token = central.add_device("gate-a")
        data = tmp_path / "dev"
        data.mkdir()
        bulk_fill(data / "edge.db", 4000)
        cfg = sync_toml(tmp_path / "sync.toml", f"http://127.0.0.1:{proxy.port}", token, central.public_pem(),
                        data, batch_rows=200, timeout_s=1.0, backoff_cap_s=0.5)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}, "GATEPASS_ALLOW_ROOT": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "gatepass", "sync", "run", "--config", str(cfg)], env=env,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / "sync.log", "wb"))
        fill(data / "edge.db", 1000, start=4000)  # more entries arrive while the link is bad
        db = open_edge(data / "edge.db")
        # until the faults really hit uploads: a batch sent again after its reply was lost (the proxy's counters
        # also count the list fetches and the /healthz probes of a waiting retry)
        wait_until(lambda: proxy.stats["reply_lost"] >= 3 and proxy.stats["hung"] >= 1
                   and proxy.stats["dropped"] + proxy.stats["cut"] >= 1 and _resent(central) >= 1, 60)
        faulty = proxy.stats.copy()
        proxy.faults = False
        assert wait_until(lambda: LocalLog(db).backlog() == 0, 60), (tmp_path / "sync.log").read_text()[-2000:]
        db.close()
        assert faulty["reply_lost"] >= 1 and faulty["dropped"] + faulty["cut"] >= 1, faulty
        _assert_exact(central, data / "edge.db")
        assert len(central.entries()) == 5000
        assert _resent(central) >= 1  # some batches really were sent again after a lost reply
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        proxy.stop()
        central.stop()


def test_server_killed_between_commit_and_reply(tmp_path):
    central = Central(tmp_path / "central")
    token = central.add_device("gate-a")
    settings = sync_settings("http://127.0.0.1:1", token, central.public_pem(), tmp_path / "dev", batch_rows=10,
                             drain_rows=10)
    settings.data_dir.mkdir()
    fill(settings.db_path, 25)
    client = None
    for _ in range(2):
        central.start_process(script="crashserver.py")  # same port every time
        client = client or sync_client.SyncClient(settings.model_copy(update={"central_url": central.url}))
        with pytest.raises(sync_client.TransientSyncError):
            client.upload_once()  # the server commits, then dies before it can answer
        central.proc.wait(10)
        assert central.proc.returncode == -signal.SIGKILL
        assert [r[1] for r in central.entries()] == list(range(1, 11))  # committed, once
        assert client.log.backlog() == 25  # nothing confirmed, so nothing marked
    central.start_process()
    try:
        while client.upload_once():
            pass
        client.close()
        _assert_exact(central, settings.db_path)
        times = central.db.execute("SELECT times_received FROM upload_batches ORDER BY first_received_at").fetchall()
        assert times[0] == (3,)  # the first batch was sent three times and stored once
    finally:
        central.stop()


def test_clock_at_1970_then_a_step_back(tmp_path):
    central = Central(tmp_path / "central").start_thread()
    try:
        token = central.add_device("gate-a")
        settings = sync_settings(central.url, token, central.public_pem(), tmp_path / "dev", batch_rows=4,
                                 drain_rows=4)
        settings.data_dir.mkdir()
        off = [5.0 - time.time()]  # the Pi booted without network: its clock says 1970

        def clock() -> float:
            return time.time() + off[0]

        client = sync_client.SyncClient(settings, clock=clock)
        log = LocalLog(client.db)
        for i in range(6):
            log.append(**entry(i, wall_ts=clock() + i, clock_trusted=False))
        assert client.upload_once() == 4
        assert ingest.list_devices(central.db)[0]["clock_skewed"]
        off[0] = 0.0  # NTP arrives, then the clock steps back an hour mid-run
        for i in range(3):
            log.append(**entry(i, wall_ts=clock() + i))
        off[0] = -3600.0
        for i in range(3):
            log.append(**entry(i, wall_ts=clock() + i))
        while client.upload_once():
            pass
        rows = central.db.execute("SELECT seq, wall_ts FROM entries ORDER BY seq").fetchall()
        assert [r[0] for r in rows] == list(range(1, 13))  # order by seq, whatever the clock said
        assert rows[-1][1] < rows[-4][1]                   # the step back is kept as it was
        _assert_exact(central, settings.db_path)
        dev = ingest.list_devices(central.db)[0]
        assert dev["clock_skewed"] and 3500 < -dev["clock_skew_s"] < 3700
        client.close()
    finally:
        central.stop()


def _resent(central: Central) -> int:
    """How many times central received a batch it already held (a lost reply, then the same batch again)."""
    value = central.db.execute("SELECT coalesce(sum(times_received - 1), 0) FROM upload_batches").fetchone()[0]
    return int(value)
