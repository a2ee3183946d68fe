"""The wired service: drivers + checkpoint + guard page on a real uvicorn on loopback, stopped by one Event."""

from __future__ import annotations

import threading

import httpx

from edge.service import build_checkpoint, run
from gatepass.procs import free_port
from sync import lists
from sync.devicedb import open_db
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.waiting import wait_until


def test_service_serves_status_and_preview_decides_scans_and_stops_through_one_event(tmp_path, key, pty_thermometer,
                                                                                    monkeypatch):
    monkeypatch.setenv("GATEPASS_ALLOW_ROOT", "1")  # the tests run as root in the container
    port = free_port(0)
    passes = tmp_path / "passes.txt"
    passes.write_text(make_pass(key) + "\n")
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)},
                             guard_page={"port": port}, demo={"passes_file": str(passes), "interval_s": 0.5},
                             voice={"enabled": False})
    settings.data_dir.mkdir(parents=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key))
    db.conn.close()
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(settings, stop), daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        def answered() -> dict | None:
            try:
                return httpx.get(base + "/status", timeout=2).json()
            except httpx.HTTPError:
                return None

        assert wait_until(lambda: answered() is not None and _entries(settings) > 0, 20)
        assert _entries(settings) >= 1  # the demo feeder presented the pass to the simulated camera
        preview = httpx.get(base + "/preview.jpg", timeout=2)
        assert preview.status_code == 200 and preview.content[:2] == b"\xff\xd8"
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()


def _entries(settings) -> int:
    db = open_db(settings.db_path)
    try:
        return db.execute("SELECT count(*) FROM entries WHERE decision = 'pass'").fetchone()[0]
    finally:
        db.conn.close()


def test_build_checkpoint_opens_nothing(tmp_path):
    cp = build_checkpoint(edge_settings(tmp_path, scanner={"enabled": True}))
    assert cp.scanner is not None and cp.frame_source is not None and cp.db is None
    assert not cp.runner.running


def test_the_last_good_time_follows_centrals_time_when_the_sync_anchored_it(tmp_path):
    from types import SimpleNamespace

    from edge.service import remember_good_time
    from gatepass.startup import BUILD_FLOOR_TS, ClockGuard
    from sync.passes import Now

    guard = ClockGuard(tmp_path, synchronized=lambda: False)  # NTP blocked at this site
    t = BUILD_FLOOR_TS + 3 * 86400
    anchored = SimpleNamespace(lists=SimpleNamespace(now=lambda: Now(t, True), anchored=lambda: True))
    remember_good_time(guard, anchored)  # type: ignore[arg-type]
    assert ClockGuard(tmp_path).floor == t  # after a power cut the clock must be at least this again
    not_anchored = SimpleNamespace(lists=SimpleNamespace(now=lambda: Now(t + 999, True), anchored=lambda: False))
    remember_good_time(guard, not_anchored)  # type: ignore[arg-type]
    assert ClockGuard(tmp_path).floor == t  # the kernel says unsynchronized: the system clock is not believed
