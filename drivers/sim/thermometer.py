"""Simulated thermometers: GY-MCU90614, GY-MCU90640 and ASCII-line, sharing the drivers' codecs.

Behaviour as the real modules: the 90614 starts in continuous output (auto-output at
power-up is the factory default) at ``rate_hz`` (default 14 Hz); ``A5 15 BA`` answers one
reading and switches to query mode, ``A5 45 EA`` back to continuous. The 90640 starts in
automatic output at 4 Hz (``A5 25 0n`` sets the rate; ``A5 35 01`` one frame, ``02`` automatic;
a scenario ``rate_hz`` overrides the rate). Its frame shows a 4x4 "forehead" of pixels at
the scenario's object temperature, a ring 1.5 C cooler, on a background at ambient with
0.2 C noise. ASCII-line streams lines at ``rate_hz``.
"""

from __future__ import annotations

import numpy as np

from drivers.sim.device import DeviceSim
from drivers.sim.scenario import Scenario
from drivers.thermometer import asciiline, mcu90614, mcu90640

MODELS = ("gy-mcu90614", "gy-mcu90640", "ascii-line")


class ThermometerSim(DeviceSim):
    """A thermometer module of ``model`` playing ``scenario``."""

    def __init__(self, model: str, scenario: Scenario) -> None:
        super().__init__(scenario)
        if model not in MODELS:
            raise ValueError(f"unknown thermometer model {model!r}; one of {', '.join(MODELS)}")
        self.model = model
        self.default_rate_hz = {"gy-mcu90614": 14.0, "gy-mcu90640": 4.0, "ascii-line": 10.0}[model]
        self._device_rate: float | None = None
        self.continuous = True
        self.counter = 0
        self._next_emit = 0.0
        self._noise = np.random.default_rng(scenario.seed)
        self._decoder = (mcu90640.Mcu90640CommandDecoder() if model == "gy-mcu90640"
                         else mcu90614.Mcu90614CommandDecoder())

    @property
    def rate_hz(self) -> float:
        return self.scenario.rate_hz or self._device_rate or self.default_rate_hz

    def measure(self) -> tuple[float, float]:
        """The (object, ambient) the scenario says the sensor sees now; advances the counter."""
        seg = self.position().segment
        obj = seg.object_c
        if obj == "counter":
            value = (self.counter % 30000) / 100
        elif isinstance(obj, tuple):
            value = round(self.rng.uniform(*obj), 2)
        else:
            value = float(obj)
        self.counter += 1
        return value, seg.ambient_c

    def frame(self) -> bytes:
        """One output frame (faults applied)."""
        obj, amb = self.measure()
        if self.model == "gy-mcu90614":
            raw = mcu90614.encode_reading(obj, amb)
        elif self.model == "ascii-line":
            raw = asciiline.encode_line(obj, amb)
        else:
            raw = mcu90640.encode_frame(self._pixels(obj, amb), amb)
        return self.faulty(raw)

    def _pixels(self, obj: float, amb: float) -> np.ndarray:
        img = amb + self._noise.normal(0.0, 0.2, (mcu90640.ROWS, mcu90640.COLS))
        img[8:14, 12:18] = obj - 1.5
        img[9:13, 13:17] = obj
        return img

    def tick(self, t: float) -> bytes:
        self.now = t
        if not self.continuous or "silence" in self.faults:
            self._next_emit = max(self._next_emit, t)
            return b""
        out = bytearray()
        period = 1.0 / self.rate_hz
        if t - self._next_emit > 1.0:  # far behind (e.g. after unplug): do not burst
            self._next_emit = t
        while self._next_emit <= t and len(out) < 64 * 1024:
            out += self.frame()
            self._next_emit += period
        return bytes(out)

    def next_due(self) -> float:
        return self._next_emit if self.continuous else self.now + 0.05

    def handle(self, rx: bytes) -> bytes:
        out = bytearray()
        for command in self._decoder.feed(rx):
            if "silence" in self.faults:
                continue
            if self.model == "gy-mcu90614" and isinstance(command, int):
                out += self._handle_90614(command)
            elif self.model == "gy-mcu90640" and isinstance(command, tuple):  # (command, value)
                out += self._handle_90640(*command)
        return bytes(out)

    def _handle_90614(self, cmd: int) -> bytes:
        if cmd == mcu90614.CMD_CONTINUOUS:
            if not self.continuous:
                self._next_emit = self.now
            self.continuous = True
        elif cmd == mcu90614.CMD_QUERY:
            self.continuous = False
            return self.frame()
        return b""

    def _handle_90640(self, cmd: int, value: int) -> bytes:
        if cmd == mcu90640.CMD_OUTPUT and value == mcu90640.OUTPUT_ONE:
            self.continuous = False
            return self.frame()
        if cmd == mcu90640.CMD_OUTPUT and value == mcu90640.OUTPUT_AUTO:
            if not self.continuous:
                self._next_emit = self.now
            self.continuous = True
        elif cmd == mcu90640.CMD_RATE and value in mcu90640.RATES_HZ:
            self._device_rate = mcu90640.RATES_HZ[value]
        return b""
