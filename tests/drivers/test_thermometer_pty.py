"""End to end over real pseudo-terminals: ``gatepass sim thermometer`` in a child process, the driver here."""

from __future__ import annotations

import time

import pytest

from drivers.config import ThermometerConfig
from drivers.thermometer import Thermometer
from tests.waiting import wait_until

from .conftest import write_scenario

COUNTER = """
rate_hz = {rate}
[[segment]]
duration_s = 3600
object_c = "counter"
ambient_c = 20.0
"""


def _collect(therm: Thermometer, n: int, timeout: float = 30.0) -> list:
    readings, deadline = [], time.monotonic() + timeout
    while len(readings) < n and time.monotonic() < deadline:
        reading = therm.read(1.0)
        if reading is not None:
            readings.append(reading)
    return readings


def _gaps(values: list[float]) -> int:
    steps = [round((b - a) * 100) % 30000 for a, b in zip(values, values[1:], strict=False)]
    return sum(1 for s in steps if s != 1)


@pytest.mark.parametrize("model", ["gy-mcu90614", "ascii-line"])
def test_500_readings_none_lost_or_corrupted(sim, tmp_path, model):
    link = tmp_path / "thermometer"
    scenario = write_scenario(tmp_path / "s.toml", COUNTER.format(rate=400))
    sim("thermometer", "--model", model, "--pty", "--link", str(link), "--scenario", scenario)
    therm = Thermometer(ThermometerConfig(model=model, url=str(link), queue_size=10000))
    therm.open()
    try:
        readings = _collect(therm, 500)
    finally:
        therm.close()
    assert len(readings) == 500
    assert _gaps([r.object_c for r in readings]) == 0
    assert therm.dropped == 0 and therm.codec.stats.bad_checksum == 0
    assert all(r.ambient_c == 20.0 and r.model == model for r in readings)
    assert all(r.t_monotonic <= s.t_monotonic for r, s in zip(readings, readings[1:], strict=False))


def test_default_demo_scenario_gives_subjects_and_no_subject(sim, tmp_path):
    link = tmp_path / "thermometer"
    out = sim("thermometer", "--pty", "--link", str(link))
    assert out.first_line.startswith("pty: /dev/pts/")
    therm = Thermometer(ThermometerConfig(url=str(link), offset_c=0.3))
    therm.open()
    try:
        readings = _collect(therm, 34, timeout=20)
        assert therm.status == "ok" and therm.status_text == "测温仪正常"
    finally:
        therm.close()
    assert any(r.no_subject for r in readings) and any(not r.no_subject for r in readings)
    for r in readings:  # the reading is as measured; the offset is explicit
        assert r.offset_c == 0.3
        assert r.body_c is None or r.body_c == pytest.approx(r.object_c + 0.3)


def test_unplug_reports_disconnected_then_resumes(sim, tmp_path):
    link = tmp_path / "thermometer"
    scenario = write_scenario(tmp_path / "s.toml", """
rate_hz = 50
loop = false
[[segment]]
duration_s = 0.8
object_c = 36.5
[[segment]]
duration_s = 0.8
fault = "unplug"
[[segment]]
duration_s = 60
object_c = 36.9
""")
    proc = sim("thermometer", "--pty", "--link", str(link), "--scenario", scenario)
    therm = Thermometer(ThermometerConfig(url=str(link)))
    therm.open()
    try:
        assert therm.read(5) is not None
        assert proc.wait_for("unplugged") is not None
        assert wait_until(lambda: therm.status == "disconnected", timeout=5)
        assert proc.wait_for("pty: ") is not None  # plugged back in: a new pty, the link points at it
        reading = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (reading is None or reading.object_c != 36.9):
            reading = therm.read(1.0)
        assert reading is not None and reading.object_c == 36.9
        assert therm.status == "ok"
        assert therm.link.connects == 2 and therm.link.disconnects >= 1
    finally:
        therm.close()


def test_faults_bad_checksum_junk_split_are_survived(sim, tmp_path):
    link = tmp_path / "thermometer"
    scenario = write_scenario(tmp_path / "s.toml", """
rate_hz = 100
[[segment]]
duration_s = 0.5
object_c = 36.6
fault = ["junk", "split"]
[[segment]]
duration_s = 0.5
object_c = 99.0
fault = "bad_checksum"
""")
    sim("thermometer", "--pty", "--link", str(link), "--scenario", scenario)
    therm = Thermometer(ThermometerConfig(url=str(link), queue_size=1000))
    therm.open()
    try:
        readings = _collect(therm, 100)
    finally:
        therm.close()
    assert len(readings) == 100
    assert {r.object_c for r in readings} == {36.6}  # every corrupted frame was rejected
    assert therm.codec.stats.bad_checksum > 0 and therm.codec.stats.junk_bytes > 0


def test_silence_gives_no_data_status(sim, tmp_path):
    link = tmp_path / "thermometer"
    scenario = write_scenario(tmp_path / "s.toml", '[[segment]]\nduration_s = 60\nfault = "silence"\n')
    sim("thermometer", "--pty", "--link", str(link), "--scenario", scenario)
    therm = Thermometer(ThermometerConfig(url=str(link)))
    therm.stale_after_s = 0.3
    therm.open()
    try:
        assert therm.read(0.5) is None
        deadline = time.monotonic() + 10
        while therm.status != "no data" and time.monotonic() < deadline:
            assert therm.read(0.1) is None
        assert therm.status == "no data"
        assert "没有数据" in therm.status_text
    finally:
        therm.close()


def test_query_mode_90614(sim, tmp_path):
    link = tmp_path / "thermometer"
    scenario = write_scenario(tmp_path / "s.toml", COUNTER.format(rate=14))
    sim("thermometer", "--pty", "--link", str(link), "--scenario", scenario)
    therm = Thermometer(ThermometerConfig(url=str(link), mode="query", query_hz=8))
    therm.open()
    try:
        readings = _collect(therm, 5)
    finally:
        therm.close()
    assert len(readings) == 5 and _gaps([r.object_c for r in readings]) == 0


def test_90640_over_tcp(sim, tmp_path):
    scenario = write_scenario(tmp_path / "s.toml", "rate_hz = 8\n[[segment]]\nduration_s = 60\nobject_c = 36.7\n"
                                                   "ambient_c = 21.0\n")
    proc = sim("thermometer", "--model", "gy-mcu90640", "--tcp", "0", "--scenario", scenario)
    assert proc.first_line.startswith("tcp: 127.0.0.1:")
    url = "socket://" + proc.first_line.split(" ", 1)[1]
    therm = Thermometer(ThermometerConfig(model="gy-mcu90640", url=url, baud=115200))
    therm.open()
    try:
        readings = _collect(therm, 3)
    finally:
        therm.close()
    assert len(readings) == 3
    assert all(r.object_c == 36.7 and r.body_c == 36.7 and len(r.raw) == 1544 for r in readings)
    assert all(abs(r.ambient_c - 21.0) < 0.001 for r in readings)


def test_missing_device_never_raises(tmp_path):
    therm = Thermometer(ThermometerConfig(url=str(tmp_path / "nothing-here")))
    therm.open()
    try:
        assert therm.read(0.3) is None
        assert therm.status == "disconnected"
        assert "未连接" in therm.status_text
    finally:
        therm.close()


def test_spy_url_logs_the_traffic(sim, tmp_path):
    link = tmp_path / "thermometer"
    sim("thermometer", "--pty", "--link", str(link))
    spy_log = tmp_path / "spy.txt"
    therm = Thermometer(ThermometerConfig(url=f"spy://{link}?file={spy_log}"))
    therm.open()
    try:
        readings = _collect(therm, 3)
    finally:
        therm.close()
    assert len(readings) == 3
    text = spy_log.read_text()
    assert " RX " in text and "5A 45 04" in text.upper()  # readings in (possibly split across reads)
    assert " TX " in text and "A5 45 EA" in text.upper()  # the continuous-output command out
