"""The device seams the checkpoint holds: one ``typing.Protocol`` per kind of device.

The real drivers (:class:`drivers.thermometer.Thermometer`, :class:`drivers.scanner.Scanner`,
:class:`drivers.camera.FrameSource`, the gates in :mod:`drivers.gate`), their simulators and the tests' fakes
all satisfy these structurally; nothing inherits from them. No method here opens hardware in a constructor:
``open``/``start`` do, and ``close``/``stop`` undo it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from drivers.camera.source import Frame
from drivers.gate.base import GateOutput
from drivers.thermometer.reading import Reading

__all__ = ["DemoPresenter", "DeviceStatus", "FrameSourceDevice", "GateOutput", "ScannerDevice",
           "ThermometerDevice"]


@runtime_checkable
class DeviceStatus(Protocol):
    """What the guard screen shows of a device."""

    @property
    def status(self) -> str:
        """"ok", "disconnected", ... (a code, for logic)."""

    @property
    def status_text(self) -> str:
        """The status in plain zh-CN words for the guard screen."""


@runtime_checkable
class ThermometerDevice(DeviceStatus, Protocol):
    """A serial infrared thermometer (any of the codecs in :mod:`drivers.thermometer`)."""

    def open(self) -> None:
        """Start reading in the background (returns at once; reconnects by itself)."""

    def close(self) -> None:
        """Stop reading and release the port."""

    def read(self, timeout: float) -> Reading | None:
        """The next reading, waiting at most ``timeout`` seconds (None: none came)."""


@runtime_checkable
class ScannerDevice(DeviceStatus, Protocol):
    """A serial QR scanner module: each decoded code arrives as text."""

    def open(self) -> None:
        """Start reading in the background (returns at once; reconnects by itself)."""

    def close(self) -> None:
        """Stop reading and release the port."""

    def read(self, timeout: float) -> str | None:
        """The next scanned text, waiting at most ``timeout`` seconds (None: none came)."""


@runtime_checkable
class FrameSourceDevice(DeviceStatus, Protocol):
    """A camera (V4L2, a file, a simulator) giving the newest frame."""

    def start(self) -> None:
        """Start capturing in the background."""

    def stop(self) -> None:
        """Stop capturing and release the camera."""

    def latest(self, timeout: float) -> Frame | None:
        """A frame newer than the last one returned, waiting at most ``timeout`` seconds."""


@runtime_checkable
class DemoPresenter(Protocol):
    """A simulated camera that can be shown a code (the demo's feeder)."""

    def present(self, text: str, seconds: float = 1.5, **distortions: object) -> None:
        """Show ``text`` as a QR code in front of the camera for ``seconds``."""


if TYPE_CHECKING:  # mypy checks every driver and simulator against its Protocol here (nothing imported at run time)
    from drivers.camera.sim import SimCamera
    from drivers.camera.source import FrameSource
    from drivers.gate.fake import FakeGate
    from drivers.gate.gpio import GpioGate
    from drivers.gate.lcus_gate import LcusGate
    from drivers.scanner.driver import Scanner
    from drivers.thermometer.driver import Thermometer

    _THERMOMETERS: tuple[type[ThermometerDevice], ...] = (Thermometer,)
    _SCANNERS: tuple[type[ScannerDevice], ...] = (Scanner,)
    _FRAME_SOURCES: tuple[type[FrameSourceDevice], ...] = (FrameSource, SimCamera)
    _GATES: tuple[type[GateOutput], ...] = (GpioGate, LcusGate, FakeGate)
    _PRESENTERS: tuple[type[DemoPresenter], ...] = (SimCamera,)
