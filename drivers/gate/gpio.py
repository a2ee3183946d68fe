"""A relay on a GPIO pin through gpiozero's ``OutputDevice`` (any pin factory: lgpio, rpi-gpio, mock).

The pin is claimed in ``open()`` with ``initial_value=False`` (off), ``active_high`` from the
config. Pins are BCM numbers handled by gpiozero's factory (never sysfs numbers: on a Pi 5
they start at 512). Tests pass ``pin_factory=gpiozero.pins.mock.MockFactory()``.
"""

from __future__ import annotations

import logging
from typing import Any

from drivers.gate.base import TimedGate

log = logging.getLogger(__name__)


class GpioGate(TimedGate):
    """Gate relay on GPIO ``pin``."""

    def __init__(self, pin: int, active_high: bool = True, max_on_s: float = 30.0, pin_factory: Any = None) -> None:
        super().__init__(max_on_s)
        self.pin = pin
        self.active_high = active_high
        self.pin_factory = pin_factory
        self.device: Any = None
        self.error = ""

    def _claim(self) -> bool:
        if self.device is not None:
            return True
        try:
            from gpiozero import OutputDevice

            self.device = OutputDevice(self.pin, active_high=self.active_high, initial_value=False,
                                       pin_factory=self.pin_factory)
        except Exception as exc:  # no GPIO here, pin busy, no permission: reported, retried
            if str(exc) != self.error:
                log.error("gate GPIO%d unavailable: %s", self.pin, exc)
            self.error = str(exc)
            return False
        self.error = ""
        log.info("gate on GPIO%d (%s)", self.pin, "active high" if self.active_high else "active low")
        return True

    def _apply(self, on: bool) -> bool:
        if not self._claim():
            return False
        if on:
            self.device.on()
        else:
            self.device.off()
        return True

    def _connected(self) -> bool:
        return self.device is not None

    def _shutdown(self) -> None:
        if self.device is not None:
            self.device.close()
            self.device = None
