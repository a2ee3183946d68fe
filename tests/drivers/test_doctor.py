"""``gatepass doctor``: any object with the four device sections will do (drivers/ knows nothing of edge/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.config import CameraConfig, RelayConfig, ScannerConfig, ThermometerConfig
from drivers.doctor import DoctorSettings, run_doctor


@dataclass
class Sections:
    thermometer: ThermometerConfig = field(default_factory=lambda: ThermometerConfig(url="/dev/gatepass-test-none"))
    camera: CameraConfig = field(default_factory=lambda: CameraConfig(source="sim://"))
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)


def test_doctor_reads_the_device_sections_and_gives_one_verdict_each():
    settings: DoctorSettings = Sections()
    lines: list[str] = []
    ok = run_doctor(settings, timeout=0.3, pulse=False, echo=lines.append)
    devices = ("thermometer", "camera", "scanner", "gate")
    verdicts = {line.split()[0]: line for line in lines if line.startswith("  ") and line.split()[0] in devices}
    assert not ok  # no thermometer there
    assert "FAIL" in verdicts["thermometer"]
    assert "OK" in verdicts["camera"] and "OK" in verdicts["gate"]
    assert "scanner" not in verdicts  # not enabled
    assert lines[-1] == "verdict: not working: thermometer"
