"""Start-up checks of every service: root refusal, the clock floor, alarms."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gatepass import startup
from gatepass.startup import BUILD_FLOOR_TS, ClockGuard, StartupError, check_not_root


def test_root_is_refused_without_the_override():
    with pytest.raises(StartupError, match="root"):
        check_not_root({}, euid=0)


def test_root_is_allowed_with_the_override_and_users_always():
    check_not_root({"GATEPASS_ALLOW_ROOT": "1"}, euid=0)
    check_not_root({}, euid=1000)
    with pytest.raises(StartupError):
        check_not_root({"GATEPASS_ALLOW_ROOT": "yes"}, euid=0)


def test_1970_is_untrusted(tmp_path):
    guard = ClockGuard(tmp_path, synchronized=lambda: None)
    state = guard.check(now=12.0)
    assert not state.trusted and "unset" in state.reason
    assert guard.check(now=BUILD_FLOOR_TS + 10).trusted


def test_last_good_time_raises_the_floor_and_survives_restarts(tmp_path):
    good = BUILD_FLOOR_TS + 100 * 86400
    guard = ClockGuard(tmp_path, synchronized=lambda: True, save_every_s=600)
    assert guard.remember(now=good)
    assert not guard.remember(now=good + 10)  # rate-limited
    again = ClockGuard(tmp_path, synchronized=lambda: None)
    assert again.floor == pytest.approx(good, abs=0.01)
    # fake-hwclock restored a time a day before the last good one: untrusted
    assert not again.check(now=good - 86400).trusted
    assert again.check(now=good + 1).trusted


def test_an_unsynchronized_clock_never_raises_the_floor(tmp_path):
    guard = ClockGuard(tmp_path, synchronized=lambda: False)
    assert guard.check(now=BUILD_FLOOR_TS + 5e8).trusted  # plausible, so trusted ...
    assert not guard.remember(now=BUILD_FLOOR_TS + 5e8, force=True)  # ... but not remembered
    assert not (tmp_path / startup.LAST_GOOD_TIME_FILE).exists()


def test_kernel_clock_state_is_a_bool_or_unknown():
    assert startup.kernel_clock_synchronized() in (True, False, None)


@settings(max_examples=50, deadline=None)
@given(content=st.binary(max_size=40))
@example(content=b"inf")
@example(content=b"nan")
def test_any_last_good_time_file_is_read_without_crashing(tmp_path_factory, content):
    d = tmp_path_factory.mktemp("clock")
    (d / startup.LAST_GOOD_TIME_FILE).write_bytes(content)
    guard = ClockGuard(d, synchronized=lambda: None)
    assert math.isfinite(guard.floor) and guard.floor >= BUILD_FLOOR_TS  # "inf"/"nan" are ignored
    guard.check(now=BUILD_FLOOR_TS + 1)


@settings(max_examples=50, deadline=None)
@given(content=st.binary(max_size=300))
def test_any_alarms_file_is_read_without_crashing(tmp_path_factory, content):
    d = tmp_path_factory.mktemp("alarms")
    (d / startup.ALARMS_FILE).write_bytes(content)
    try:
        alarms = startup.read_alarms(d)
    except UnicodeDecodeError:
        return  # not UTF-8 at all: reported, not silently misread
    assert isinstance(alarms, list)


def test_timesyncds_flag_file_counts_as_synchronized(tmp_path):
    flag = tmp_path / "synchronized"
    flag.touch()
    assert startup.kernel_clock_synchronized(flag) is True


def test_a_time_confirmed_by_central_is_remembered_even_when_the_kernel_says_unsynchronized(tmp_path):
    now = BUILD_FLOOR_TS + 86400
    guard = ClockGuard(tmp_path, synchronized=lambda: False)
    assert guard.remember(now=now, force=True) is False  # the kernel says NTP has not set the clock
    assert guard.remember(now=now, force=True, confirmed=True) is True  # central's time carried forward
    assert ClockGuard(tmp_path).floor == now


# -- issue 21: a clock that steps within a boot; chrony ------------------------------------------------------------

GOOD = BUILD_FLOOR_TS + 200 * 86400


def _guard(tmp_path, clock, synced=None, boot="boot-1"):
    return ClockGuard(tmp_path, synchronized=lambda: synced, wall=clock.time, mono=clock.monotonic, boot=boot)


def test_a_clock_jumping_forward_by_years_or_back_by_hours_is_not_trusted_and_is_alarmed(tmp_path):
    from gatepass.clock import ManualClock
    clock = ManualClock(wall=GOOD, monotonic=500.0)
    guard = _guard(tmp_path, clock)
    assert guard.remember(force=True) and guard.check().trusted
    clock.advance(6 * 3600)
    assert guard.check().trusted
    clock.set_wall(GOOD + 4 * 3600)  # back by two hours, still later than the last good time saved
    behind = guard.check()
    assert not behind.trusted and "behind" in behind.reason
    clock.set_wall(GOOD + 6 * 3600 + 5)  # where the monotonic clock says it should be
    assert guard.check().trusted
    clock.advance(60)
    clock.set_wall(clock.time() + 3 * 365 * 86400)  # a bad RTC write, no NTP, no anchor of central's time
    ahead = guard.check()
    assert not ahead.trusted and "ahead" in ahead.reason
    assert not guard.remember(force=True) and guard.floor == GOOD  # a wrong clock never raises the floor
    alarms = startup.read_alarms(tmp_path)
    assert [a["code"] for a in alarms] == ["clock_step", "clock_step"]
    assert alarms[0]["step_s"] < -2 * 3600 + 10 and alarms[1]["step_s"] > 3 * 365 * 86400 - 10
    assert "时钟" in alarms[1]["message"]


def test_a_step_ntp_vouches_for_or_central_confirmed_becomes_the_new_reference(tmp_path):
    from gatepass.clock import ManualClock
    clock = ManualClock(wall=GOOD - 3600, monotonic=500.0)  # an hour behind, but past the floor
    guard = _guard(tmp_path, clock)
    assert guard.check().trusted
    clock.advance(10)
    assert guard.remember(now=GOOD + 10, confirmed=True, force=True)  # central's time carried forward
    clock.set_wall(GOOD + 20)
    clock.advance(10)
    assert guard.check().trusted  # agrees with the new reference
    synced = _guard(tmp_path / "x", ManualClock(wall=GOOD, monotonic=1.0), synced=True)
    assert synced.check().trusted and synced.check(now=GOOD + 10 * 86400).trusted  # NTP set it: believed


def test_the_reference_survives_a_restart_in_the_same_boot_only(tmp_path):
    from gatepass.clock import ManualClock
    clock = ManualClock(wall=GOOD, monotonic=500.0)
    assert _guard(tmp_path, clock).remember(force=True)
    clock.advance(100)
    clock.set_wall(GOOD + 2 * 365 * 86400)
    assert not _guard(tmp_path, clock).check().trusted  # the restarted checkpoint still sees the jump
    assert _guard(tmp_path, clock, boot="boot-2").check().trusted  # after a reboot the monotonic clock restarted
    assert _guard(tmp_path, clock).reference() == (GOOD, 500.0, "boot-1")


CHRONY_SYNCED = ("A29FC87B,162.159.200.123,3,1767225600.123456789,-0.000012345,0.000001234,0.000025678,"
                 "-12.345,-0.001,0.010,0.012345678,0.001234567,64.2,Normal\n")
CHRONY_UNSYNCED = ("00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,"
                   "1.000000000,0.0,Not synchronised\n")


def test_chronyc_tracking_output_is_read_for_the_leap_status():
    assert startup.parse_chrony_tracking(CHRONY_SYNCED) is True
    assert startup.parse_chrony_tracking(CHRONY_SYNCED.replace("Normal", "Insert second")) is True
    assert startup.parse_chrony_tracking(CHRONY_UNSYNCED) is False
    assert startup.parse_chrony_tracking("") is None
    assert startup.parse_chrony_tracking("506 Cannot talk to daemon\n") is None


def test_chrony_is_asked_with_a_timeout_and_a_missing_or_failing_chronyc_is_unknown():
    asked = []

    def runner(argv, timeout):
        asked.append((argv, timeout))
        return 0, CHRONY_SYNCED

    assert startup.chrony_synchronized(runner) is True
    assert asked == [(["chronyc", "-c", "tracking"], startup.CHRONYC_TIMEOUT_S)]
    assert startup.chrony_synchronized(lambda argv, t: None) is None  # missing or timed out
    assert startup.chrony_synchronized(lambda argv, t: (1, "506 Cannot talk to daemon")) is None
    assert startup.run_command(["/nonexistent/chronyc", "-c", "tracking"], 1.0) is None


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_chronyc_output_is_read_without_crashing(text):
    assert startup.parse_chrony_tracking(text) in (True, False, None)


def test_chrony_vouches_for_the_clock_where_the_kernel_flag_is_unset_or_unavailable(tmp_path):
    flag = tmp_path / "no-such-flag"
    for kernel in (False, None):
        assert startup.kernel_clock_synchronized(flag, chrony=lambda: True, kernel=lambda k=kernel: k) is True
        assert startup.kernel_clock_synchronized(flag, chrony=lambda: None, kernel=lambda k=kernel: k) is kernel
    assert startup.kernel_clock_synchronized(flag, chrony=lambda: False, kernel=lambda: None) is False
    assert startup.kernel_clock_synchronized(flag, chrony=lambda: False, kernel=lambda: True) is True
