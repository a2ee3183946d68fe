"""Gate outputs: the fake, GPIO through gpiozero's MockFactory, the LCUS relay against its simulator."""

from __future__ import annotations

import subprocess
import sys

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.config import RelayConfig
from drivers.gate import FakeGate, GateOutput, GpioGate, LcusGate, make_gate
from tests.waiting import wait_until


def test_make_gate_picks_by_kind():
    assert isinstance(make_gate(RelayConfig(kind="fake")), FakeGate)
    assert isinstance(make_gate(RelayConfig(kind="gpio")), GpioGate)
    assert isinstance(make_gate(RelayConfig(kind="lcus")), LcusGate)
    assert all(isinstance(make_gate(RelayConfig(kind=k)), GateOutput) for k in ("fake", "gpio", "lcus"))


def test_fake_pulse_is_released_by_the_watchdog():
    gate = FakeGate()
    gate.open()
    try:
        gate.pulse(0.2)
        assert gate.is_on
        assert wait_until(lambda: not gate.is_on)
    finally:
        gate.close()
    states = [on for _, on in gate.history]
    assert states == [False, True, False]
    assert gate.history[2][0] - gate.history[1][0] >= 0.2


def test_set_on_is_released_after_max_on_s_and_by_close():
    gate = FakeGate(max_on_s=0.2)
    gate.open()
    gate.set(True)
    assert wait_until(lambda: not gate.is_on)
    gate.set(True)
    gate.close()
    assert [on for _, on in gate.history] == [False, True, False, True, False]


def test_gpio_active_low_with_mock_factory():
    factory = MockFactory()
    gate = GpioGate(17, active_high=False, pin_factory=factory)
    pin = factory.pin(17)
    gate.open()
    try:
        assert pin.state is True  # active low: a high level is "off" (safe initial state)
        pin.clear_states()
        gate.pulse(0.1)
        assert pin.state is False
        assert wait_until(lambda: pin.state is True)
    finally:
        gate.close()
    pin.assert_states([True, False, True])


def test_gpio_active_high_states_and_times():
    factory = MockFactory()
    gate = make_gate(RelayConfig(kind="gpio", pin=27, active_high=True), pin_factory=factory)
    pin = factory.pin(27)
    gate.open()
    pin.clear_states()
    gate.pulse(0.15)
    assert wait_until(lambda: not gate.is_on)
    gate.close()
    # assert_states_and_times would be a timed assertion; check order and the guaranteed minimum instead
    pin.assert_states([False, True, False])
    on_s = pin.states[2].timestamp - pin.states[1].timestamp
    assert on_s >= 0.15


def test_gpio_unavailable_is_reported_not_raised():
    gate = GpioGate(17, pin_factory=None)
    gate.pin_factory = "no-such-factory"
    gate.open()
    try:
        gate.pulse(0.1)
        assert gate.status == "disconnected"
        assert "未连接" in gate.status_text
    finally:
        gate.close()


def test_lcus_pulse_reaches_the_simulated_board(sim, tmp_path):
    link = tmp_path / "relay"
    board = sim("relay", "--pty", "--link", str(link))
    gate = LcusGate(str(link), channel=2)
    gate.open()
    try:
        assert board.wait_for("relay: ch2 off") is not None  # open() drives it off first
        gate.pulse(0.2)
        on = board.wait_for("relay: ch2 ")
        off = board.wait_for("relay: ch2 ")
        assert on is not None and on[1] == "relay: ch2 on"
        assert off is not None and off[1] == "relay: ch2 off"
        assert gate.status == "ok"
    finally:
        gate.close()


def test_lcus_inverted_board(sim, tmp_path):
    link = tmp_path / "relay"
    board = sim("relay", "--pty", "--link", str(link))
    gate = make_gate(RelayConfig(kind="lcus", url=str(link), channel=1, inverted=True))
    gate.open()
    try:
        assert board.wait_for("relay: ch1 ")[1] == "relay: ch1 on"  # "off" energises an inverted board
        gate.set(True)
        assert board.wait_for("relay: ch1 ")[1] == "relay: ch1 off"
    finally:
        gate.close()


KILLED_CHILD = """
import os, signal, sys
from drivers.gate import LcusGate
gate = LcusGate(sys.argv[1], channel=1)
gate.open()
gate.set(True)
print("on", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_process_killed_while_on_next_open_releases(sim, tmp_path):
    """A SIGKILL leaves the LCUS relay latched (documented); the next open() releases it first."""
    link = tmp_path / "relay"
    board = sim("relay", "--pty", "--link", str(link))
    child = subprocess.run([sys.executable, "-c", KILLED_CHILD, str(link)], capture_output=True, text=True,
                           timeout=30)
    assert child.returncode == -9 and "on" in child.stdout
    assert board.wait_for("relay: ch1 off") is not None
    assert board.wait_for("relay: ch1 ")[1] == "relay: ch1 on"
    gate = LcusGate(str(link), channel=1)
    gate.open()
    try:
        assert board.wait_for("relay: ch1 ")[1] == "relay: ch1 off"
    finally:
        gate.close()


def test_lcus_missing_board_is_reported_then_recovers(sim, tmp_path):
    link = tmp_path / "relay"
    gate = LcusGate(str(link), channel=1)
    gate.open()
    try:
        assert gate.status == "disconnected"
        board = sim("relay", "--pty", "--link", str(link))
        assert wait_until(lambda: gate.status == "ok", timeout=10)  # the watchdog keeps retrying the safe state
        assert board.wait_for("relay: ch1 off", timeout=10) is not None
        gate.pulse(0.3)
        assert board.wait_for("relay: ch1 on", timeout=10) is not None
        assert board.wait_for("relay: ch1 off", timeout=10) is not None
    finally:
        gate.close()


@pytest.mark.parametrize("seconds", [0.0, 100.0])
def test_pulse_is_clamped(seconds):
    gate = FakeGate(max_on_s=0.2)
    gate.open()
    gate.pulse(seconds)
    assert wait_until(lambda: not gate.is_on)
    gate.close()


@pytest.mark.parametrize("closed_before", [False, True])
def test_on_while_not_open_still_gets_the_release_watchdog(closed_before):
    # Regression: pulse()/set(True) before open() (or after close()) energised the output with no watchdog
    # thread, so nothing ever released it.
    gate = FakeGate(max_on_s=0.2)
    if closed_before:
        gate.open()
        gate.close()
    try:
        gate.pulse(0.05)
        assert wait_until(lambda: gate.history and gate.history[-1][1] is False and len(gate.history) >= 2)
        gate.set(True)
        assert wait_until(lambda: not gate.is_on)  # released by max_on_s
    finally:
        gate.close()
    assert [on for _, on in gate.history][-1] is False
