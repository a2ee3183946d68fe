"""Simulated LCUS USB relay board: decodes ``A0 CH OP SUM`` and reports every switch as an event line."""

from __future__ import annotations

from drivers.gate.lcus import LcusCommandDecoder
from drivers.sim.device import DeviceSim
from drivers.sim.scenario import Scenario


class RelaySim(DeviceSim):
    """An LCUS board with ``channels`` relays; ``state[ch]`` is True when energised."""

    model = "lcus"

    def __init__(self, scenario: Scenario, channels: int = 8) -> None:
        super().__init__(scenario)
        self.state = {ch: False for ch in range(1, channels + 1)}
        self.history: list[tuple[float, int, bool]] = []
        self._decoder = LcusCommandDecoder()

    def handle(self, rx: bytes) -> bytes:
        for command in self._decoder.feed(rx):
            if "silence" in self.faults or command.channel not in self.state:
                continue
            self.state[command.channel] = command.on
            self.history.append((self.now, command.channel, command.on))
            self.events.append(f"relay: ch{command.channel} {'on' if command.on else 'off'}")
        return b""

    @property
    def bad_frames(self) -> int:
        """Command frames rejected (bad checksum or meaningless)."""
        return self._decoder.stats.errors
