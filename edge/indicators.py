"""Lights for unattended stations: green (pass), red (refuse), amber (wait / guard decides).

:class:`LedIndicators` drives three gpiozero LEDs (any pin factory, so tests use
gpiozero's ``MockFactory``); :class:`FakeIndicators` records what it was asked
to show. Constructors open nothing: LEDs are created in :meth:`open`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

Light = Literal["green", "red", "amber"]

#: Which light a decision shows.
LIGHT_FOR: dict[str, Light] = {"pass": "green", "refuse": "red", "guard": "amber"}


class Indicators(Protocol):
    """What the checkpoint asks of the lights."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def show(self, light: Light, seconds: float) -> None:
        """Light ``light`` alone for ``seconds`` (returns at once)."""


class NoIndicators:
    """No lights (guarded stations with a screen)."""

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def show(self, light: Light, seconds: float) -> None:
        """Nothing to show."""


class FakeIndicators:
    """Records ``(t_monotonic, light, seconds)`` in :attr:`history`."""

    def __init__(self) -> None:
        self.history: list[tuple[float, str, float]] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def show(self, light: Light, seconds: float) -> None:
        """Record the request."""
        with self._lock:
            self.history.append((time.monotonic(), light, seconds))


class LedIndicators:
    """Three gpiozero LEDs; ``pin_factory`` None means gpiozero's default (the Pi's GPIO)."""

    def __init__(self, green_pin: int, red_pin: int, amber_pin: int, pin_factory: Any = None) -> None:
        self.pins = {"green": green_pin, "red": red_pin, "amber": amber_pin}
        self.pin_factory = pin_factory
        self._leds: dict[str, Any] = {}

    def open(self) -> None:
        """Create the LEDs (all off)."""
        from gpiozero import LED

        self._leds = {name: LED(pin, pin_factory=self.pin_factory) for name, pin in self.pins.items()}

    def close(self) -> None:
        """Switch off and release the pins."""
        for led in self._leds.values():
            led.close()
        self._leds = {}

    def show(self, light: Light, seconds: float) -> None:
        """Light ``light`` for ``seconds`` (in gpiozero's background thread), the others off."""
        if not self._leds:
            return
        for name, led in self._leds.items():
            if name == light:
                led.blink(on_time=seconds, off_time=0.01, n=1, background=True)
            else:
                led.off()


def make_indicators(kind: str, green_pin: int = 22, red_pin: int = 23, amber_pin: int = 24) -> Indicators:
    """Indicators of the configured kind: none, gpio or fake."""
    if kind == "gpio":
        return LedIndicators(green_pin, red_pin, amber_pin)
    if kind == "fake":
        return FakeIndicators()
    return NoIndicators()
