"""The failure counter and the hash queue: counted before the check, bounded under bursts."""

from __future__ import annotations

import threading
import time

import pytest

from gatepass.clock import ManualClock
from gatepass.throttle import Busy, FailureCounter, HashQueue, Locked


def test_concurrent_attempts_are_counted_before_any_check_finishes() -> None:
    counter = FailureCounter(limit=5, window_s=900, lockout_s=60, clock=ManualClock())
    started, refused = [], []
    barrier = threading.Barrier(40)

    def attempt() -> None:
        barrier.wait()
        try:
            started.append(counter.begin("pin"))
        except Locked:
            refused.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 5 and len(refused) == 35


def test_success_takes_the_attempt_back_and_lockout_expires() -> None:
    clock = ManualClock()
    counter = FailureCounter(limit=3, window_s=900, lockout_s=60, clock=clock)
    counter.begin("a")
    counter.begin("a")
    counter.succeeded(counter.begin("a"))
    assert counter.failures("a") == 0
    for _ in range(3):
        counter.begin("a")
    with pytest.raises(Locked) as info:
        counter.begin("a")
    assert info.value.retry_after_s == 60
    assert counter.begin("b").key == "b"  # other keys are not affected
    clock.advance(30)
    with pytest.raises(Locked):
        counter.begin("a")
    clock.advance(31)
    for _ in range(3):  # lock-out over: three fresh attempts
        counter.begin("a")
    with pytest.raises(Locked):
        counter.begin("a")


def test_failures_age_out_of_the_window_and_admin_clear_unlocks() -> None:
    clock = ManualClock()
    counter = FailureCounter(limit=2, window_s=100, lockout_s=600, clock=clock)
    counter.begin("a")
    clock.advance(101)
    counter.begin("a")
    assert counter.failures("a") == 1
    counter.begin("a")
    with pytest.raises(Locked):
        counter.begin("a")
    assert counter.locked_for("a") == 600
    counter.clear("a")
    assert counter.locked_for("a") == 0 and counter.failures("a") == 0
    counter.begin("a")


def test_keys_are_bounded() -> None:
    counter = FailureCounter(limit=2, window_s=100, lockout_s=600, clock=ManualClock(), max_keys=10)
    for i in range(1000):
        counter.begin(f"k{i}")
    assert len(counter._failures) == 10


def test_hash_queue_runs_one_at_a_time_and_refuses_beyond_the_queue() -> None:
    queue = HashQueue(workers=1, max_waiting=4, per_key=10, wait_s=5)
    running, peak, refused, done = [0], [0], [], []
    lock = threading.Lock()
    gate = threading.Event()

    def check(key: str) -> None:
        try:
            with queue.slot(key):
                with lock:
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                gate.wait(5)
                with lock:
                    running[0] -= 1
            done.append(key)
        except Busy:
            refused.append(key)

    threads = [threading.Thread(target=check, args=(f"10.0.0.{i}",)) for i in range(10)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while len(refused) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.set()
    for t in threads:
        t.join()
    assert peak[0] == 1
    assert len(done) == 5 and len(refused) == 5  # one running + four waiting; the rest refused at once
    assert queue.stats() == {"running": 0, "waiting": 0, "refused": 5}


def test_hash_queue_limits_waiting_per_key_and_times_out() -> None:
    queue = HashQueue(workers=1, max_waiting=10, per_key=1, wait_s=0.2)
    hold = threading.Event()
    entered = threading.Event()

    def holder() -> None:
        with queue.slot("a"):
            entered.set()
            hold.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    entered.wait(5)
    outcome: list[str] = []

    def wait_for_a_worker() -> None:
        try:
            with queue.slot("b"):
                outcome.append("ran")
        except Busy:
            outcome.append("busy")

    waiter = threading.Thread(target=wait_for_a_worker)
    waiter.start()
    time.sleep(0.05)
    with pytest.raises(Busy):  # "b" already has its one waiting place
        with queue.slot("b"):
            pass
    waiter.join()  # and that one gives up after wait_s
    assert outcome == ["busy"]
    hold.set()
    t.join()
    with queue.slot("b"):
        pass


def test_take_back_forgets_one_attempt_and_keeps_the_others() -> None:
    clock = ManualClock()
    counter = FailureCounter(limit=3, window_s=60, lockout_s=30, clock=clock)
    first = counter.begin("10.0.0.1")
    clock.advance(1)
    second = counter.begin("10.0.0.1")
    counter.take_back(second)
    assert counter.failures("10.0.0.1") == 1
    counter.take_back(second)  # twice: no effect
    counter.take_back(first)
    assert counter.failures("10.0.0.1") == 0
