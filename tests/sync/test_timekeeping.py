"""One notion of time on the gate (issue 21): central's time carried on the monotonic clock within a boot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.timekeeping import AGREE_S, Anchor, best_now

REAL = 1_790_000_000.0
FLOOR = 1_767_225_600.0


def test_a_gate_booted_at_1970_stamps_central_time_once_it_has_an_anchor():
    anchor = Anchor(REAL, mono=40.0, boot="b1")
    now = best_now(system=100.0, mono=100.0, boot="b1", anchor=anchor, last_server_time=REAL, floor=FLOOR)
    assert now.trusted and now.t == REAL + 60.0  # not 1970, and it moves with the monotonic clock
    later = best_now(system=130.0, mono=130.0, boot="b1", anchor=anchor, last_server_time=REAL, floor=FLOOR)
    assert later.t == REAL + 90.0


def test_a_clock_an_hour_behind_or_a_year_ahead_is_corrected_and_one_that_agrees_is_kept():
    anchor = Anchor(REAL, mono=10.0, boot="b1")
    behind = best_now(REAL + 5 - 3600, 15.0, "b1", anchor, REAL, FLOOR)
    ahead = best_now(REAL + 5 + 365 * 86400, 15.0, "b1", anchor, REAL, FLOOR)
    agrees = best_now(REAL + 7, 15.0, "b1", anchor, REAL, FLOOR)
    assert (behind.t, behind.trusted) == (REAL + 5, True)
    assert (ahead.t, ahead.trusted) == (REAL + 5, True)
    assert (agrees.t, agrees.trusted) == (REAL + 7, True)  # NTP's own time, a little finer than the carry


def test_without_an_anchor_of_this_boot_a_clock_behind_central_is_not_trusted():
    old_boot = Anchor(REAL, mono=10.0, boot="before-the-power-cut")
    behind = best_now(REAL - 3600, 5.0, "b2", old_boot, REAL, FLOOR)
    assert (behind.t, behind.trusted) == (REAL - 3600, False)  # its own time, flagged: not one stale stamp
    unset = best_now(100.0, 5.0, "b2", None, None, FLOOR)
    assert not unset.trusted
    fine = best_now(REAL + 600, 5.0, "b2", old_boot, REAL, FLOOR)
    assert (fine.t, fine.trusted) == (REAL + 600, True)


def test_anchors_round_trip_and_bad_ones_are_ignored():
    anchor = Anchor(REAL, 12.5, "b1")
    assert Anchor.from_json(anchor.as_json()) == anchor
    for bad in (None, [], {"t": "x", "mono": 1, "boot": "b"}, {"t": float("inf"), "mono": 1, "boot": "b"},
                {"t": 1.0, "mono": 1.0}, {"t": True, "mono": 1.0, "boot": "b"}):
        assert Anchor.from_json(bad) is None


@given(system=st.floats(0, 4e9), mono=st.floats(0, 1e6), offset=st.floats(0, 1e6))
def test_within_a_boot_the_estimate_never_strays_from_the_carried_time(system, mono, offset):
    anchor = Anchor(REAL, mono, "b")
    now = best_now(system, mono + offset, "b", anchor, REAL, FLOOR)
    assert now.trusted and abs(now.t - (REAL + offset)) <= AGREE_S


def test_without_central_a_clock_stepped_away_from_the_gates_last_good_time_of_this_boot_is_not_trusted():
    """Issue 21: no anchor in this boot, a clock jumping years ahead (or hours back) of the gate's own last good
    time carried on the monotonic clock is not believed; the carried time is the estimate."""
    good = Anchor(REAL, mono=100.0, boot="b1")  # what the clock guard last found good
    years = best_now(REAL + 60 + 3 * 365 * 86400, 160.0, "b1", None, None, FLOOR, reference=good)
    hours = best_now(REAL + 7200, 10_900.0, "b1", None, None, FLOOR, reference=good)
    assert (years.t, years.trusted) == (REAL + 60, False)
    assert (hours.t, hours.trusted) == (REAL + 10_800, False)
    steady = best_now(REAL + 65, 160.0, "b1", None, None, FLOOR, reference=good)
    assert (steady.t, steady.trusted) == (REAL + 65, True)  # a few seconds of drift: the clock is kept
    other_boot = best_now(REAL + 3 * 365 * 86400, 5.0, "b2", None, None, FLOOR, reference=good)
    assert other_boot.trusted  # after a reboot the monotonic clock says nothing of the time between
