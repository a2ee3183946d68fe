"""``gatepass doctor``: what hardware is there, and does each configured device work?

Lists serial ports and V4L2 video devices, then opens every configured device of the
settings (:class:`DoctorSettings`: thermometer, camera, scanner if enabled, gate relay),
takes one reading or frame from each and gives a verdict per device. The gate relay is
only driven off (its safe state) unless ``pulse`` is asked for.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from drivers.config import CameraConfig, RelayConfig, ScannerConfig, ThermometerConfig

log = logging.getLogger(__name__)


class DoctorSettings(Protocol):
    """The device sections the doctor reads (:class:`edge.settings.EdgeSettings` has them)."""

    @property
    def thermometer(self) -> ThermometerConfig:
        """``[thermometer]``."""

    @property
    def camera(self) -> CameraConfig:
        """``[camera]``."""

    @property
    def scanner(self) -> ScannerConfig:
        """``[scanner]``."""

    @property
    def relay(self) -> RelayConfig:
        """``[relay]``."""


@dataclass
class Verdict:
    """One device's result."""

    device: str
    where: str
    ok: bool
    detail: str

    def line(self) -> str:
        """One aligned line: device, OK/FAIL, where, detail."""
        return f"{self.device:<12} {'OK  ' if self.ok else 'FAIL'}  {self.where}  {self.detail}"


def serial_ports() -> list[str]:
    """Serial ports pyserial sees, one description each."""
    from serial.tools import list_ports

    return [f"{p.device}  {p.description}" for p in sorted(list_ports.comports(), key=lambda p: p.device)]


def video_devices() -> list[str]:
    """``/dev/video*`` with the driver's name from sysfs."""
    out = []
    for dev in sorted(glob.glob("/dev/video*")):
        name_file = Path("/sys/class/video4linux") / os.path.basename(dev) / "name"
        try:
            name = name_file.read_text().strip()
        except OSError:
            name = "?"
        out.append(f"{dev}  {name}")
    return out


def check_thermometer(config: ThermometerConfig, timeout: float) -> Verdict:
    """Open the thermometer, wait for one reading."""
    from drivers.thermometer import Thermometer

    therm = Thermometer(config)
    therm.open()
    try:
        reading = therm.read(timeout)
        where = f"{config.url} ({config.model}, {config.baud} baud)"
        if reading is None:
            return Verdict("thermometer", where, False, f"no reading in {timeout:g} s: {therm.status_text} "
                           f"/ {therm.status_text_in('en')}; {therm.link.last_error}".rstrip("; "))
        amb = f", ambient {reading.ambient_c:.2f} C" if reading.ambient_c is not None else ""
        body = "no subject" if reading.no_subject else f"body {reading.body_c:.2f} C"
        return Verdict("thermometer", where, True, f"object {reading.object_c:.2f} C{amb}; {body} "
                       f"(offset {reading.offset_c:+.2f} C)")
    finally:
        therm.close()


def check_camera(config: CameraConfig, timeout: float) -> Verdict:
    """Start the camera, wait for one frame."""
    from drivers.camera import FrameSource, make_frame_source

    source = make_frame_source(config)
    source.start()
    try:
        frame = source.latest(timeout)
        if frame is None:
            error = source.last_error if isinstance(source, FrameSource) else ""
            return Verdict("camera", config.source, False, f"no frame in {timeout:g} s: {source.status_text} "
                           f"({error or 'no error reported'})")
        shape = "x".join(str(v) for v in frame.image.shape)
        return Verdict("camera", config.source, True, f"frame {shape}, mean level {frame.image.mean():.0f}")
    finally:
        source.stop()


def check_scanner(config: ScannerConfig, timeout: float) -> Verdict:
    """Open the scanner; report a text if one is shown within the timeout."""
    from drivers.scanner import Scanner

    scanner = Scanner(config)
    scanner.open()
    try:
        text = scanner.read(timeout)
        if scanner.status == "disconnected":
            return Verdict("scanner", config.url, False, f"{scanner.status_text}; {scanner.link.last_error}")
        detail = f"read {text!r}" if text else "connected (show a code to test decoding)"
        return Verdict("scanner", config.url, True, detail)
    finally:
        scanner.close()


def check_gate(config: RelayConfig, pulse: bool) -> Verdict:
    """Open the gate output (drives it off); pulse it once if asked."""
    from drivers.gate import make_gate

    gate = make_gate(config)
    where = {"gpio": f"GPIO{config.pin}", "lcus": f"{config.url} ch{config.channel}", "fake": "fake"}[config.kind]
    gate.open()
    try:
        if pulse and gate.status == "ok":
            gate.pulse(config.pulse_s)
            import time

            time.sleep(config.pulse_s + 0.2)
        ok = gate.status == "ok"
        return Verdict("gate", where, ok, ("pulsed once; " if pulse and ok else "") + gate.status_text)
    finally:
        gate.close()


def release_gate(config: RelayConfig) -> Verdict:
    """Drive the configured gate output off and exit (for systemd ``ExecStopPost=``)."""
    return check_gate(config, pulse=False)


def run_doctor(settings: DoctorSettings, timeout: float, pulse: bool, echo: Callable[[str], None]) -> bool:
    """Print the inventory and one verdict per configured device; True if all are OK."""
    echo("serial ports:")
    for line in serial_ports() or ["(none)"]:
        echo(f"  {line}")
    echo("video devices:")
    for line in video_devices() or ["(none)"]:
        echo(f"  {line}")
    echo("configured devices:")
    checks = [lambda: check_thermometer(settings.thermometer, timeout),
              lambda: check_camera(settings.camera, timeout)]
    if settings.scanner.enabled:
        checks.append(lambda: check_scanner(settings.scanner, min(timeout, 1.0)))
    checks.append(lambda: check_gate(settings.relay, pulse))
    verdicts = []
    for check in checks:
        verdict = check()
        verdicts.append(verdict)
        echo("  " + verdict.line())
    bad = [v.device for v in verdicts if not v.ok]
    echo("verdict: all configured devices work" if not bad else f"verdict: not working: {', '.join(bad)}")
    return not bad
