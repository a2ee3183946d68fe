"""The loop runner: threads, restart after an exception with the ``loop_failed`` fault, heartbeats."""

from __future__ import annotations

import threading

from edge.faults import FaultBoard
from edge.loops import LoopRunner
from tests.waiting import wait_until


def test_a_failing_loop_is_reported_restarted_and_its_next_turn_clears_the_fault():
    faults = FaultBoard()
    runner = LoopRunner(faults, restart_delay_s=0.0)
    beats: list[str] = []
    runner.heartbeat = beats.append
    turns = {"n": 0}
    reported = threading.Event()

    def loop() -> None:
        turns["n"] += 1
        if turns["n"] == 1:
            raise RuntimeError("driver bug")
        reported.wait(10)  # the second run waits until the fault was seen
        while not runner.stopped:
            runner.beat("work")
            runner.stop_event.wait(0.01)

    runner.start([("work", loop)])
    assert runner.running == 1
    assert wait_until(lambda: faults.get("loop_failed") == "work")
    reported.set()
    assert wait_until(lambda: "loop_failed" not in faults and "work" in beats)
    runner.join()
    assert runner.running == 0 and runner.stopped


def test_a_broken_heartbeat_never_breaks_a_loop():
    runner = LoopRunner(FaultBoard())

    def broken(name: str) -> None:
        raise OSError("no watchdog socket")

    runner.heartbeat = broken
    runner.beat("decide")  # logged, not raised


def test_a_loop_that_returns_is_not_restarted():
    runner = LoopRunner(FaultBoard(), restart_delay_s=0.0)
    calls: list[int] = []
    runner.start([("once", lambda: calls.append(1))])
    runner.join()
    assert calls == [1]
