"""The readings buffer and the fever memory, on a manual clock (no waiting through windows)."""

from __future__ import annotations

from edge.pairing import PairingRules, Sample, TempStatus
from edge.temperatures import FeverMemory, HighReading, TemperatureBuffer
from gatepass.clock import ManualClock

RULES = PairingRules(window_s=5.0, lookback_s=1.0, samples=2, fever_c=37.3)


def test_measure_pairs_readings_once_and_never_for_two_people():
    clock = ManualClock()
    buf = TemperatureBuffer(clock)
    t = clock.monotonic()
    for dt, temp in ((0.1, 36.4), (0.2, 36.6), (0.3, 38.0)):
        buf.add(Sample(t + dt, temp))
    clock.advance(0.5)
    first = buf.measure(t, RULES, lambda: True)
    assert (first.temp_c, first.temps, first.complete) == (36.5, (36.4, 36.6), True)
    clock.advance(10)  # the next person's window is over: only the unused reading is left
    second = buf.measure(t + 0.05, RULES, lambda: True)
    assert second.temps == (38.0,)


def test_measure_stops_at_the_window_end_or_when_told():
    clock = ManualClock()
    buf = TemperatureBuffer(clock)
    t = clock.monotonic()
    clock.advance(RULES.window_s)  # the window is over: no waiting
    assert buf.measure(t, RULES, lambda: True).temp_c is None
    assert not buf.measure(clock.monotonic(), RULES, lambda: False).complete  # stopping: no waiting either


def test_skip_until_leaves_out_readings_taken_before_a_remeasure_request():
    clock = ManualClock()
    buf = TemperatureBuffer(clock)
    t = clock.monotonic()
    buf.add(Sample(t, 38.0))
    buf.skip_until(t + 0.5)
    buf.add(Sample(t + 1.0, 36.5))
    buf.add(Sample(t + 1.1, 36.7))
    clock.advance(2)
    assert buf.measure(t + 0.9, RULES, lambda: True).temps == (36.5, 36.7)


def test_fever_memory_keeps_a_first_high_reading_for_the_window():
    clock = ManualClock()
    fevers = FeverMemory(clock, window_s=180)
    fevers.remember("p", TempStatus.HIGH, 7, "uuid-7", 38.1)
    assert fevers.had_high("p") and fevers.first_high("p") == HighReading(clock.monotonic(), "uuid-7", 38.1)
    assert not fevers.had_high("q") and not fevers.had_high(None) and fevers.first_high(None) is None
    clock.advance(181)
    assert not fevers.had_high("p")
    fevers.remember("q", TempStatus.NORMAL, 8, "uuid-8", 36.5)  # pruned on the next remember
    assert fevers.first_high("p") is None


def test_fever_memory_forgets_after_a_fever_or_a_normal_reading_and_ignores_failed_commits():
    clock = ManualClock()
    fevers = FeverMemory(clock, window_s=180)
    fevers.remember("p", TempStatus.HIGH, -1, "", 38.1)  # not logged: nothing to refer to
    assert not fevers.had_high("p")
    fevers.remember("p", TempStatus.HIGH, 3, "u3", 38.1)
    fevers.remember("p", TempStatus.FEVER, 4, "u4", 38.3)
    assert not fevers.had_high("p")
    fevers.remember("p", TempStatus.HIGH, 5, "u5", 38.1)
    fevers.remember("p", TempStatus.NORMAL, 6, "u6", 36.5)
    assert not fevers.had_high("p")
