"""Every real driver and simulator satisfies its Protocol of drivers/interfaces.py (built, never opened).

mypy checks the same statically (the ``TYPE_CHECKING`` block at the end of drivers/interfaces.py); this is the
run-time half, with the ``runtime_checkable`` protocols, plus what the factories return.
"""

from __future__ import annotations

import pytest

from drivers.camera import FrameSource, SimCamera, make_frame_source
from drivers.config import CameraConfig, RelayConfig, ScannerConfig, ThermometerConfig
from drivers.gate import FakeGate, GpioGate, LcusGate, make_gate
from drivers.interfaces import (
    DemoPresenter,
    DeviceStatus,
    FrameSourceDevice,
    GateOutput,
    ScannerDevice,
    ThermometerDevice,
)
from drivers.scanner import Scanner
from drivers.thermometer import Thermometer

NOWHERE = "/dev/gatepass-test-nothing-here"


def _devices() -> list[tuple[object, type]]:
    return [
        (Thermometer(ThermometerConfig(url=NOWHERE)), ThermometerDevice),
        (Thermometer(ThermometerConfig(url=NOWHERE, model="gy-mcu90640")), ThermometerDevice),
        (Thermometer(ThermometerConfig(url=NOWHERE, model="ascii-line")), ThermometerDevice),
        (Scanner(ScannerConfig(url=NOWHERE)), ScannerDevice),
        (FrameSource(CameraConfig(source="/dev/video-not-here")), FrameSourceDevice),
        (SimCamera(CameraConfig(source="sim://")), FrameSourceDevice),
        (SimCamera(CameraConfig(source="sim://")), DemoPresenter),
        (GpioGate(17), GateOutput),
        (LcusGate(NOWHERE), GateOutput),
        (FakeGate(), GateOutput),
    ]


@pytest.mark.parametrize("device,protocol", [pytest.param(d, p, id=f"{type(d).__name__}-{p.__name__}")
                                             for d, p in _devices()])
def test_each_driver_satisfies_its_protocol(device, protocol):
    assert isinstance(device, protocol)
    if protocol is not DemoPresenter:
        assert isinstance(device, DeviceStatus)
        assert isinstance(device.status, str) and isinstance(device.status_text, str)


def test_devices_are_not_taken_for_another_kind():
    assert not isinstance(FakeGate(), ThermometerDevice)
    assert not isinstance(FrameSource(CameraConfig(source="/dev/video-not-here")), DemoPresenter)


@pytest.mark.parametrize("source", ["sim://", "/dev/video-not-here", "clip.mp4"])
def test_make_frame_source_returns_a_frame_source_device(source):
    assert isinstance(make_frame_source(CameraConfig(source=source)), FrameSourceDevice)


@pytest.mark.parametrize("kind", ["fake", "gpio", "lcus"])
def test_make_gate_returns_a_gate_output(kind):
    assert isinstance(make_gate(RelayConfig(kind=kind, url=NOWHERE)), GateOutput)
