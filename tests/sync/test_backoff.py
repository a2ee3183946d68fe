"""Retry waits after failures: full jitter, and a wait cut short as soon as central answers again."""

from __future__ import annotations

import threading
import time

from sync import client as sync_client
from sync.backoff import ProbingWait
from tests.sync.helpers import Central, device_rows, fill, free_port, sync_settings
from tests.waiting import wait_until


def test_a_wait_ends_when_the_probe_finds_central():
    answers = iter([False, False, True])
    waiting = ProbingWait(threading.Event(), lambda: next(answers), every_s=0.02)
    started = time.monotonic()
    assert waiting.wait(30.0) is True
    assert time.monotonic() - started < 5 and waiting.woken == 1


def test_a_wait_without_probing_or_with_a_broken_probe_runs_its_time():
    def broken() -> bool:
        raise OSError("no route")

    waiting = ProbingWait(threading.Event(), broken, every_s=0.02)
    started = time.monotonic()
    assert waiting.wait(0.2) is False and time.monotonic() - started >= 0.19
    assert ProbingWait(threading.Event(), lambda: True, every_s=0.02).wait(0.1, probing=False) is False


def test_a_stopped_wait_returns_at_once():
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert ProbingWait(stop, lambda: True, every_s=1).wait(60) is False
    assert time.monotonic() - started < 1


def test_the_backlog_drains_within_seconds_of_central_coming_back(tmp_path):
    """A long backoff drawn during the outage is cut short by the probe (default probe interval)."""
    central = Central(tmp_path / "central")
    token = central.add_device("gate-a")
    port = free_port()
    # base 60 s: the first retry wait is drawn from [0, 60] s, as after a long outage with the default cap
    settings = sync_settings(f"http://127.0.0.1:{port}", token, central.public_pem(), tmp_path / "dev",
                             backoff_base_s=60.0)
    settings.data_dir.mkdir()
    fill(settings.db_path, 40)
    stop = threading.Event()
    thread = threading.Thread(target=sync_client.run, args=(settings, stop), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: _error_recorded(settings.db_path), 20)  # the first upload failed: waiting
        central.start_process(port=port)
        back = time.monotonic()
        assert wait_until(lambda: len(central.entries("gate-a")) == 40, 15)
        assert time.monotonic() - back < 5
        # central commits before it replies: the gate marks the rows a moment after central holds them
        assert wait_until(lambda: all(r[-1] == 1 for r in device_rows(settings.db_path)), 5)
    finally:
        stop.set()
        thread.join(20)
        central.stop()


def _error_recorded(path) -> bool:
    import sqlite3

    with sqlite3.connect(path) as conn:
        try:
            row = conn.execute("SELECT value FROM sync_state WHERE key = 'last_error_code'").fetchone()
        except sqlite3.Error:
            return False
    return row is not None and row[0] not in (None, "null")
