"""The serial QR scanner driver against ``gatepass sim scanner`` on a real pseudo-terminal."""

from __future__ import annotations

import time

from drivers.config import ScannerConfig
from drivers.scanner import Scanner
from tests.waiting import wait_until

from .conftest import write_scenario


def _texts(scanner: Scanner, n: int, timeout: float = 20) -> list[str]:
    out, deadline = [], time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        text = scanner.read(0.5)
        if text is not None:
            out.append(text)
    return out


def test_texts_arrive_in_order_through_faults(sim, tmp_path):
    link = tmp_path / "scanner"
    scenario = write_scenario(tmp_path / "s.toml", """
[[segment]]
duration_s = 0.5
texts = ["counter", "counter", "counter", "counter", "counter"]
[[segment]]
duration_s = 0.5
texts = ["counter", "counter", "counter", "counter", "counter"]
fault = "split"
[[segment]]
duration_s = 0.5
texts = ["中文通行证 GP1:ÄÖ", "counter"]
""")
    sim("scanner", "--pty", "--link", str(link), "--scenario", scenario)
    scanner = Scanner(ScannerConfig(enabled=True, url=str(link)))
    scanner.open()
    try:
        texts = _texts(scanner, 12)
        assert scanner.status == "ok" and scanner.status_text == "扫码器正常"
    finally:
        scanner.close()
    counters = [t for t in texts if t.startswith("PASS-")]
    assert "中文通行证 GP1:ÄÖ" in texts
    numbers = [int(t[5:]) for t in counters]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_trigger_command_is_answered(sim, tmp_path):
    link = tmp_path / "scanner"
    scenario = write_scenario(tmp_path / "s.toml", '[[segment]]\nduration_s = 600\ntexts = ["ON-DEMAND"]\n'
                                                   '[[segment]]\nduration_s = 1\n')
    sim("scanner", "--pty", "--link", str(link), "--scenario", scenario)
    scanner = Scanner(ScannerConfig(enabled=True, url=str(link)))
    scanner.open()
    try:
        wait_until(lambda: scanner.status == "ok", timeout=5)
        scanner.trigger()
        text = scanner.read(5)
        wait_until(lambda: scanner.replies > 0, timeout=5)
    finally:
        scanner.close()
    assert text == "ON-DEMAND"
    assert scanner.replies == 1


def test_scanner_over_tcp_and_reconnect(sim, tmp_path):
    scenario = write_scenario(tmp_path / "s.toml", """
[[segment]]
duration_s = 0.6
texts = ["A1", "A2"]
[[segment]]
duration_s = 0.6
fault = "unplug"
[[segment]]
duration_s = 1.2
texts = ["B1", "B2", "B3", "B4"]
""")
    proc = sim("scanner", "--tcp", "0", "--scenario", scenario)
    scanner = Scanner(ScannerConfig(enabled=True, url="socket://" + proc.first_line.split(" ", 1)[1]))
    scanner.open()
    try:
        texts, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not any(t.startswith("B") for t in texts):
            text = scanner.read(0.5)
            texts += [text] if text else []
    finally:
        scanner.close()
    assert any(t.startswith("A") for t in texts)
    assert any(t.startswith("B") for t in texts)  # scans made while unplugged are lost, as with a real cable
    assert scanner.link.connects >= 2
