"""Gate outputs: GPIO (gpiozero), the LCUS USB serial relay, and a recording fake.

``make_gate(config)`` builds the one named in :class:`~drivers.config.RelayConfig`;
every implementation follows :class:`GateOutput` and releases the output after a pulse,
after ``max_on_s`` at most, and in ``close()`` (see :mod:`drivers.gate.base` for what the
hardware does if the process is killed outright).
"""

from __future__ import annotations

from typing import Any

from drivers.config import RelayConfig
from drivers.gate.base import GateOutput, TimedGate
from drivers.gate.fake import FakeGate
from drivers.gate.gpio import GpioGate
from drivers.gate.lcus_gate import LcusGate


def make_gate(config: RelayConfig, pin_factory: Any = None) -> GateOutput:
    """The gate output ``config.kind`` names (nothing is opened yet)."""
    if config.kind == "gpio":
        return GpioGate(config.pin, config.active_high, config.max_on_s, pin_factory=pin_factory)
    if config.kind == "lcus":
        return LcusGate(config.url, config.channel, config.inverted, config.max_on_s)
    return FakeGate(config.max_on_s)


__all__ = ["FakeGate", "GateOutput", "GpioGate", "LcusGate", "TimedGate", "make_gate"]
