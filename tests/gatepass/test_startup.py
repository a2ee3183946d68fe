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
