"""Lists snapshots, central's policy winning over the config, and the time to judge passes by."""

from __future__ import annotations

from edge.faults import FaultBoard
from edge.lists_policy import ListsAndPolicy, ListsSnapshot, Policy
from edge.store import LocalStore
from gatepass.clock import ManualClock
from sync import lists
from sync import state as sync_state
from sync.timekeeping import Anchor
from tests.edge.conftest import edge_settings, key_page


def test_central_policy_wins_and_bad_values_are_ignored():
    config = Policy(fever_c=37.3, cooldown_s=10.0, pair_window_s=5.0)
    assert config.with_central({}) == config
    assert config.with_central({"fever_c": 37.0, "cooldown_s": "x", "other": 1}) == Policy(37.0, 10.0, 5.0)
    assert config.with_central({"pair_window_s": None}) == config


def test_reload_keeps_a_snapshot_applies_policy_and_follows_the_version(opened_store, key):
    store, settings = opened_store(extra_page=[{"op": "policy", "key": "cooldown_s", "value": 20}])
    heard: list[Policy] = []
    lp = ListsAndPolicy(settings, store, FaultBoard(), ManualClock(), on_policy=heard.append)
    assert lp.current() == ListsSnapshot() and lp.policy == Policy.from_settings(settings)
    lp.reload()
    assert lp.current().meta.version == 2 and len(lp.current().trust.keys) == 1
    assert lp.policy.cooldown_s == 20.0 and heard == [lp.policy]
    lp.reload()
    assert len(heard) == 1  # same version: nothing reloaded
    lists.apply_page(store.db, key_page(key, version=5, extra=[{"op": "policy", "key": "cooldown_s", "value": 20},
                                                               {"op": "revoke", "pass_id": 9, "reason": "lost"}]))
    lp.reload()
    assert lp.current().meta.version == 5 and 9 in lp.current().lists.revoked and len(heard) == 2


def test_a_failing_load_keeps_the_last_copy_and_raises_lists_failed(opened_store):
    store, settings = opened_store()
    faults = FaultBoard()
    lp = ListsAndPolicy(settings, store, faults, ManualClock())
    lp.reload()
    good = lp.current()
    store.close()
    lp.reload(force=True)
    assert lp.current() is good and "lists_failed" in faults
    store.open()
    lp.reload(force=True)
    assert "lists_failed" not in faults


def test_now_trusts_the_clock_only_after_the_floor(tmp_path):
    clock = ManualClock(wall=1_780_000_000.0)
    settings = edge_settings(tmp_path)
    lp = ListsAndPolicy(settings, LocalStore(settings), FaultBoard(), clock)
    assert lp.now().trusted and lp.now().t == clock.time() and lp.server_time() is None
    lp.clock_floor = clock.time() + 60
    assert not lp.now().trusted


def test_a_gate_at_1970_judges_and_stamps_by_centrals_time_once_the_sync_has_anchored_it(opened_store):
    """Issue 21, hole 1: the running checkpoint follows central's time from the sync state, not only on a new
    list version, and carries it forward on the monotonic clock."""
    store, settings = opened_store()
    clock = ManualClock(wall=100.0, monotonic=500.0)  # booted without a clock
    lp = ListsAndPolicy(settings, store, FaultBoard(), clock, boot_id="boot-1")
    lp.reload()
    assert not lp.now().trusted
    real = 1_790_000_000.0
    sync_state.write(store.db, server_anchor=Anchor(real, 490.0, "boot-1").as_json())  # what the sync wrote
    clock.advance(30)  # (the anchor is read at most once a second: a reload runs before every scan)
    lp.reload()  # the same list version: the anchor is read all the same
    now = lp.now()
    assert now.trusted and now.t == real + 40.0
    sync_state.write(store.db, server_anchor=Anchor(real, 490.0, "another-boot").as_json())
    clock.advance(1)
    lp.reload()
    assert not lp.now().trusted  # an anchor from before a reboot says nothing of the monotonic clock now


def test_a_clock_jumping_years_ahead_without_central_is_judged_against_the_gates_last_good_time(opened_store):
    """Issue 21: no anchor of central's time in this boot; the clock guard's last good time carried on the
    monotonic clock unmasks a clock that jumped years ahead."""
    store, settings = opened_store()
    real = 1_790_000_000.0
    clock = ManualClock(wall=real, monotonic=500.0)
    lp = ListsAndPolicy(settings, store, FaultBoard(), clock, boot_id="boot-1")
    lp.last_good = lambda: (real, 500.0, "boot-1")
    clock.advance(60)
    assert lp.now().trusted
    clock.set_wall(real + 60 + 2 * 365 * 86400)
    now = lp.now()
    assert not now.trusted and now.t == real + 60


def test_a_clock_stepped_away_from_centrals_time_is_a_fault_and_entries_keep_centrals_time(tmp_path, key):
    from tests.edge.test_guard_actions import _health_cp

    cp = _health_cp(tmp_path, key, "off")
    try:
        clock = cp.readings.clock
        real = clock.time()
        sync_state.write(cp.db, server_anchor=Anchor(real, clock.monotonic(), cp.lists.boot_id).as_json())
        clock.advance(1)
        cp.lists.reload()
        cp.health.check_clock_step()
        assert "clock_off" not in cp.faults
        clock.set_wall(real - 3600)  # stepped back by an hour (a bad RTC, a wrong manual setting)
        cp.health.check_clock_step()
        assert "clock_off" in cp.faults
        assert cp.lists.now().t == real + 1 and cp.lists.now().trusted  # central's time carried on, 1 s later
        clock.set_wall(real)
        cp.health.check_clock_step()
        assert "clock_off" not in cp.faults
    finally:
        cp.stop()
