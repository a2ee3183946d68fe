"""The devices a checkpoint holds, typed by their seams in :mod:`drivers.interfaces` (None: not used).

:meth:`Devices.open_all` opens them at :meth:`edge.checkpoint.Checkpoint.start` (the camera is started) and
:meth:`Devices.close_all` releases them at stop (the gate last); a device that fails to open or close is
logged, never raised, so the others still work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.interfaces import DeviceStatus, FrameSourceDevice, GateOutput, ScannerDevice, ThermometerDevice
from edge.indicators import Indicators, NoIndicators

log = logging.getLogger(__name__)


def safely(fn: Callable[[], object], what: str) -> None:
    """Call ``fn``; log (never raise) what goes wrong."""
    try:
        fn()
    except Exception:
        log.exception("%s failed", what)


@dataclass
class Devices:
    """The camera, scanner, thermometer, gate output and lights of one checkpoint."""

    frame_source: FrameSourceDevice | None = None
    scanner: ScannerDevice | None = None
    thermometer: ThermometerDevice | None = None
    gate: GateOutput | None = None
    indicators: Indicators = field(default_factory=NoIndicators)

    def open_all(self) -> None:
        """Open the gate, thermometer, scanner and lights, and start the camera."""
        for device in (self.gate, self.thermometer, self.scanner, self.indicators):
            if device is not None:
                safely(device.open, f"opening {type(device).__name__}")
        if self.frame_source is not None:
            safely(self.frame_source.start, "starting the camera")

    def close_all(self) -> None:
        """Stop the camera, close the scanner, thermometer and lights, and release the gate last."""
        if self.frame_source is not None:
            safely(self.frame_source.stop, "stopping the camera")
        for device in (self.scanner, self.thermometer, self.indicators, self.gate):
            if device is not None:
                safely(device.close, f"closing {type(device).__name__}")

    def shown(self) -> list[tuple[str, DeviceStatus]]:
        """The devices the guard screen lists, by name (camera, thermometer, scanner, gate)."""
        named: list[tuple[str, DeviceStatus | None]] = [
            ("camera", self.frame_source), ("thermometer", self.thermometer), ("scanner", self.scanner),
            ("gate", self.gate)]
        return [(name, dev) for name, dev in named if dev is not None]
