"""End to end over a real pseudo-terminal: simulator and driver in two processes.

1. 10,000 GY-MCU90614 readings (a "counter" scenario at 2,000 and at 10,000 readings a second;
   the real module sends 14): lost, corrupted and dropped must be 0; the time is compared with
   a bare pyserial loop receiving the same number of frames from the same simulator in the
   same run (the baseline). A ratio of 1 means the driver keeps up with the wire.
2. Reconnect: the simulator unplugs and replugs its pty (udev-style symlink) several times;
   the figure is the time from the replug (the simulator's "pty:" line) to the first reading.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import serial

from bench.harness import Result, percentile
from drivers.config import ThermometerConfig
from drivers.thermometer import Thermometer
from drivers.thermometer.mcu90614 import Mcu90614Decoder

COUNTER = 'rate_hz = {rate}\n[[segment]]\nduration_s = 36000\nobject_c = "counter"\n'
UNPLUGS = ('rate_hz = 50\n[[segment]]\nduration_s = 1.0\nobject_c = 36.5\n'
           '[[segment]]\nduration_s = 0.7\nfault = "unplug"\n')


class _Sim:
    def __init__(self, folder: Path, scenario: str) -> None:
        path = folder / "scenario.toml"
        path.write_text(scenario)
        self.link = folder / "thermometer"
        self.proc = subprocess.Popen([sys.executable, "-m", "drivers.sim", "thermometer", "--pty", "--link",
                                     str(self.link), "--scenario", str(path)], stdout=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_line("pty:", 0)

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.strip()))
                self._cond.notify_all()

    def wait_line(self, prefix: str, after: int) -> tuple[int, float]:
        with self._cond:
            while True:
                for i in range(after, len(self.lines)):
                    if self.lines[i][1].startswith(prefix):
                        return i, self.lines[i][0]
                if not self._cond.wait(30):
                    raise RuntimeError(f"simulator printed no {prefix!r}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _driver_run(link: Path, n: int) -> tuple[float, list[float], int, int]:
    therm = Thermometer(ThermometerConfig(url=str(link), queue_size=1000))
    therm.open()
    values: list[float] = []
    try:
        first = therm.read(10)
        t0 = time.perf_counter()
        values.append(first.object_c)
        while len(values) < n:
            reading = therm.read(5)
            if reading is None:
                break
            values.append(reading.object_c)
        seconds = time.perf_counter() - t0
    finally:
        therm.close()
    return seconds, values, therm.dropped, therm.codec.stats.errors


def _bare_run(link: Path, n: int) -> float:
    port = serial.serial_for_url(str(link), baudrate=9600, timeout=0.05)
    decoder = Mcu90614Decoder()
    got = 0
    try:
        while not decoder.feed(port.read(max(1, port.in_waiting))):
            pass
        t0 = time.perf_counter()
        while got < n - 1:
            got += len(decoder.feed(port.read(max(1, port.in_waiting))))
        return time.perf_counter() - t0
    finally:
        port.close()


def _integrity(values: list[float], n: int) -> tuple[int, int]:
    lost = n - len(values)
    steps = [round((b - a) * 100) % 30000 for a, b in zip(values, values[1:], strict=False)]
    corrupted = sum(1 for s in steps if s != 1)
    return lost, corrupted


def _reconnects(folder: Path, cycles: int) -> list[float]:
    sim = _Sim(folder, UNPLUGS)
    therm = Thermometer(ThermometerConfig(url=str(sim.link)))
    therm.open()
    latencies = []
    try:
        line = 0
        for _ in range(cycles):
            line, _ = sim.wait_line("unplugged", line + 1)
            line, t_plug = sim.wait_line("pty:", line + 1)
            while True:  # drain readings from before the unplug, then wait for a fresh one
                reading = therm.read(10)
                if reading is None:
                    raise RuntimeError("no reading after replug")
                if reading.t_monotonic > t_plug:
                    latencies.append(reading.t_monotonic - t_plug)
                    break
    finally:
        therm.close()
        sim.stop()
    return latencies


def _stream_result(folder: Path, n: int, rate: int) -> Result:
    folder.mkdir(exist_ok=True)
    sim = _Sim(folder, COUNTER.format(rate=rate))
    try:
        bare_s = _bare_run(sim.link, n)
        seconds, values, dropped, errors = _driver_run(sim.link, n)
    finally:
        sim.stop()
    lost, corrupted = _integrity(values, n)
    return Result(f"driver, {n:,} readings over a pty, sim at {rate}/s", seconds, "s", "bare pyserial + codec",
                  bare_s, {"lost": lost, "corrupted": corrupted, "dropped": dropped, "codec errors": errors,
                           "readings/s": round(len(values) / seconds)})


def run(quick: bool = False) -> list[Result]:
    n = 2_000 if quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = [_stream_result(folder / "a", n, 2000), _stream_result(folder / "b", n, 10000)]
        os.makedirs(folder / "r", exist_ok=True)
        latencies = _reconnects(folder / "r", 3 if quick else 8)
    return [
        *results,
        Result("resume after replug (median)", statistics.median(latencies) * 1e3, "ms", "", 0.0,
               {"max ms": round(max(latencies) * 1e3), "p90 ms": round(percentile(latencies, 90) * 1e3),
                "cycles": len(latencies), "limit": "2000 ms"}),
    ]
