"""Serial infrared thermometers: GY-MCU90614, GY-MCU90640 and a plain ASCII-line protocol.

``Thermometer(config).open()``, then ``read(timeout) -> Reading | None``. Codecs live in
``mcu90614``, ``mcu90640`` and ``asciiline``; the simulator in ``sim``.
"""

from drivers.thermometer.driver import Thermometer
from drivers.thermometer.reading import BODY_MAX_C, BODY_MIN_C, Reading, body_temperature

__all__ = ["BODY_MAX_C", "BODY_MIN_C", "Reading", "Thermometer", "body_temperature"]
