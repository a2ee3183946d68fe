"""Shifts and PINs, health checks and retention, the lights, and the maintenance commands."""

from __future__ import annotations

import sqlite3
import time

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.health import Housekeeper, clock_faults, disk_faults
from edge.indicators import LedIndicators
from edge.shifts import ShiftBook, ShiftError, check_pin, hash_pin
from sync.locallog import LocalLog
from tests.conftest import run_gatepass
from tests.waiting import wait_until


def invoke(*args: str):
    """Run ``gatepass ARGS`` in this process (a subprocess costs seconds of imports on a busy machine)."""
    from click.testing import CliRunner

    from gatepass.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def invoke_with_input(text: str, *args: str):
    """``gatepass ARGS`` in this process with ``text`` on stdin."""
    from click.testing import CliRunner

    from gatepass.cli import cli

    return CliRunner().invoke(cli, list(args), input=text, catch_exceptions=False)


def _entry(log: LocalLog, **kw):
    fields = dict(device_id="d", gate_id="g", wall_ts=time.time(), mono_ts=1.0, boot_id="b", clock_trusted=True,
                  event="scan", direction="in", decision="pass", reason="temp_ok")
    fields.update(kw)
    return log.append(**fields)


def test_pins_are_hashed_and_checked(tmp_path, edge_db):
    db = edge_db(tmp_path / "edge.db")
    book = ShiftBook(db)
    book.set_pin("g1", "123456")
    stored = db.execute("SELECT pin_hash FROM guard_pins").fetchone()[0]
    assert stored.startswith("hmac-sha256$$argon2id$") and "123456" not in stored
    assert book.verify("g1", "123456") and not book.verify("g1", "654321")
    assert not book.verify("nobody", "123456")
    assert not check_pin("not-a-hash", "1234", book.pepper)
    for bad in ("12", "abcd", "1234", "12345", "1234567890123"):
        with pytest.raises(ShiftError):
            book.set_pin("g1", bad)
    with pytest.raises(ShiftError):
        book.set_pin("bad id with spaces", "123456")


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=20))
def test_any_pin_text_is_either_hashed_or_refused_clearly(pin):
    try:
        h = hash_pin(pin, b"p" * 32)
    except ShiftError:
        return
    assert check_pin(h, pin, b"p" * 32) and not check_pin(h, pin, b"q" * 32)


def test_shift_summary_counts_only_its_own_entries(tmp_path, edge_db):
    db = edge_db(tmp_path / "edge.db")
    log = LocalLog(db)
    book = ShiftBook(db)
    book.set_pin("a", "111111")
    _entry(log)  # before the shift
    assert book.start("a", "111111", log.last_seq())
    _entry(log, guard_id="a")
    _entry(log, decision="refuse", reason="fever", fever=True, priority=True, guard_id="a")
    _entry(log, event="override", reason="override", guard_id="a")
    summary = book.end(log.last_seq())
    _entry(log)  # after
    assert (summary.entries, summary.passed, summary.refused, summary.fevers, summary.overrides) == (3, 2, 1, 1, 1)
    assert book.last_shifts()[0] == summary


def test_retention_purges_only_old_synced_entries_and_checks_disk_and_clock(tmp_path, edge_db):
    db = edge_db(tmp_path / "edge.db")
    log = LocalLog(db)
    now = time.time()
    old = [_entry(log, wall_ts=now - 40 * 86400)["seq"] for _ in range(3)]
    _entry(log, wall_ts=now - 40 * 86400)  # old but unsynced
    log.mark_synced(old)
    keeper = Housekeeper(log, tmp_path, retention_days=30, floor_mb=0)
    report = keeper.run(last_server_time=now, now=now)
    assert report.purged == 3 and log.backlog() == 1 and log.verify_chain().ok
    assert report.faults == [] and report.free_mb > 0
    assert "disk_low" in Housekeeper(log, tmp_path, 30, floor_mb=1e12).run(now, now=now).faults
    assert disk_faults(10, 200) == ["disk_low"] and disk_faults(500, 200) == []
    assert clock_faults(0.0, None, None) == ["clock_untrusted"]  # a Pi booted at 1970
    assert clock_faults(now, None, now + 3600) == ["clock_untrusted"]  # set back behind the log
    assert clock_faults(now, now - 10, now - 5) == []


def test_led_indicators_light_one_colour_at_a_time():
    factory = MockFactory()
    leds = LedIndicators(22, 23, 24, pin_factory=factory)
    leds.open()
    try:
        leds.show("green", 0.3)
        assert wait_until(lambda: factory.pin(22).state, 2)  # gpiozero blinks in its own thread
        assert not factory.pin(23).state and not factory.pin(24).state
        leds.show("red", 0.3)
        assert wait_until(lambda: factory.pin(23).state and not factory.pin(22).state, 2)
        assert wait_until(lambda: not factory.pin(23).state, 2)  # off again after the time
    finally:
        leds.close()


def test_nothing_is_purged_on_an_untrusted_or_set_back_clock(tmp_path, edge_db):
    """Retention by trusted time only (issue 21): a clock at 1970 or set back by hours purges nothing."""
    db = edge_db(tmp_path / "edge.db")
    log = LocalLog(db)
    now = time.time()
    old = [_entry(log, wall_ts=now - 40 * 86400)["seq"] for _ in range(2)]
    recent = _entry(log, wall_ts=now)["seq"]
    log.mark_synced([*old, recent])
    keeper = Housekeeper(log, tmp_path, retention_days=30, floor_mb=0)
    report = keeper.run(last_server_time=None, now=86400.0)  # booted at 1970, no time from central yet
    assert report.purged == 0 and "clock_untrusted" in report.faults
    report = keeper.run(last_server_time=None, now=now - 3 * 3600)  # set back by three hours
    assert report.purged == 0 and "clock_untrusted" in report.faults
    report = keeper.run(last_server_time=now, now=now + 60)  # right again
    assert report.purged == 2 and report.faults == [] and log.verify_chain().ok


def test_cli_set_pin_verify_log_purge_and_shift_summary(tmp_path, edge_db):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    r = invoke_with_input("987654\n987654\n", "edge", "set-pin", "--config", str(cfg), "--guard", "g9")
    assert r.exit_code == 0, r.output
    db = edge_db(tmp_path / "data" / "edge.db")
    log = LocalLog(db)
    seqs = [_entry(log, wall_ts=time.time() - 100 * 86400)["seq"] for _ in range(2)]
    log.mark_synced(seqs[:1])
    ok = invoke("edge", "verify-log", "--config", str(cfg))
    assert ok.exit_code == 0 and "chain OK" in ok.output
    purged = invoke("edge", "purge", "--config", str(cfg))
    assert purged.exit_code == 0 and "purged 1 " in purged.output and "1 unsynced" in purged.output
    assert invoke("edge", "shift-summary", "--config", str(cfg)).output.strip() == "no shifts yet"
    conn = sqlite3.connect(tmp_path / "data" / "edge.db")
    conn.execute("UPDATE entries SET reason = 'temp_ok_forged' WHERE seq = ?", [seqs[1]])
    conn.commit()
    conn.close()
    bad = invoke("edge", "verify-log", "--config", str(cfg))
    assert bad.exit_code == 1 and "content was changed" in bad.output
    missing = run_gatepass("edge", "verify-log", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_clock_check_uses_the_services_clock_floor_and_survives_a_broken_log(tmp_path, edge_db):
    now = time.time()
    assert clock_faults(now, None, None) == []
    assert clock_faults(now, None, None, clock_floor=now + 60) == ["clock_untrusted"]  # before the last good time
    assert clock_faults(now, now, None, clock_floor=now + 60) == []  # central confirmed the time
    db = edge_db(tmp_path / "edge.db")
    keeper = Housekeeper(LocalLog(db), tmp_path, 30, 0, clock_floor=now + 60)
    assert "clock_untrusted" in keeper.run(None, now=now).faults
    db.conn.close()  # a closed (broken) database: the round reports, it does not raise
    assert "clock_untrusted" in keeper.run(None, now=now).faults
