"""Base of the simulated devices: scenario position, fault effects on frames, event log."""

from __future__ import annotations

import random

from drivers.sim.scenario import Position, Scenario


class DeviceSim:
    """A device state machine. ``tick(t)`` first, then ``handle(rx)`` at that time.

    ``events`` collects human-readable lines (e.g. relay switching) for the host to print.
    """

    model = "device"
    default_rate_hz = 10.0

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.rng = random.Random(scenario.seed)
        self.now = 0.0
        self.events: list[str] = []
        self.frames_sent = 0

    @property
    def rate_hz(self) -> float:
        """Output rate in frames per second (scenario first, else the model's default)."""
        return self.scenario.rate_hz or self.default_rate_hz

    def position(self) -> Position:
        """Where the scenario is now."""
        return self.scenario.at(self.now)

    @property
    def faults(self) -> frozenset[str]:
        """The faults of the segment in force now."""
        return self.position().segment.faults

    def handle(self, rx: bytes) -> bytes:
        """Bytes received from the host -> bytes to answer."""
        return b""

    def tick(self, t: float) -> bytes:
        """Advance to ``t`` (seconds since start) -> bytes the device sends on its own."""
        self.now = t
        return b""

    def next_due(self) -> float:
        """Scenario time at which ``tick`` may next have output."""
        return self.now + 0.05

    def faulty(self, frame: bytes) -> bytes:
        """``frame`` with the active byte-level faults applied (bad checksum, leading junk)."""
        faults = self.faults
        if "bad_checksum" in faults:
            frame = frame[:-1] + bytes([(frame[-1] + 1 + self.rng.randrange(255)) & 0xFF])
        if "junk" in faults:
            junk = bytes(self.rng.choice((0x5A, 0xA5, 0x0D, 0x0A, self.rng.randrange(256)))
                         for _ in range(self.rng.randint(1, 12)))
            frame = junk + frame
        self.frames_sent += 1
        return frame
