"""The thermometer driver: :class:`Thermometer` over any pyserial URL, three wire protocols.

The model is named in :class:`~drivers.config.ThermometerConfig` (never auto-detected).
``open()`` starts a reader thread; for the GY-MCU90614 and GY-MCU90640 in continuous mode
it sends the continuous-output command on every (re)connect, in query mode it asks
``query_hz`` times a second. Readings go to a small bounded queue (oldest dropped and
counted in ``dropped``); ``read(timeout)`` takes the oldest one still queued, each with
its own monotonic time stamp for pairing with a scan.

Calibration: the configured ``offset_c`` is logged when the thermometer opens and carried
in every :class:`Reading`; ``object_c`` stays as measured.
"""

from __future__ import annotations

import logging
from typing import Any

from drivers.config import ThermometerConfig
from drivers.serialdevice import SerialDevice
from drivers.thermometer import asciiline, mcu90614, mcu90640
from drivers.thermometer.reading import Reading

log = logging.getLogger(__name__)


class Thermometer(SerialDevice[Reading]):
    """A serial infrared thermometer; see the module docstring."""

    device_kind = "thermometer"

    def __init__(self, config: ThermometerConfig) -> None:
        self.config = config
        codec: Any = {
            "gy-mcu90614": mcu90614.Mcu90614Decoder,
            "gy-mcu90640": mcu90640.Mcu90640Decoder,
            "ascii-line": asciiline.AsciiLineDecoder,
        }[config.model]()
        super().__init__(config.url, config.baud, codec, queue_size=config.queue_size)
        if config.model == "gy-mcu90640":
            self.stale_after_s = 3.0  # 1544-byte frames at 1-4 Hz
        self._next_query = 0.0

    def open(self) -> None:
        """Start reading (connects in the background and keeps reconnecting)."""
        log.info("thermometer %s on %s, %s mode; calibration offset %+.2f C added to body temperature "
                 "(object temperature kept as measured)", self.config.model, self.config.url, self.config.mode,
                 self.config.offset_c)
        super().open()

    def read(self, timeout: float) -> Reading | None:
        """The next reading, or None if none arrives within ``timeout`` seconds. Never raises on disconnect."""
        return self._get(timeout)

    def _on_connect(self) -> None:
        self._next_query = 0.0
        if self.config.mode != "continuous":
            return
        if self.config.model == "gy-mcu90614":
            self.link.write(mcu90614.encode_command(mcu90614.CMD_CONTINUOUS))
        elif self.config.model == "gy-mcu90640":
            self.link.write(mcu90640.encode_command(mcu90640.CMD_OUTPUT, mcu90640.OUTPUT_AUTO))

    def _on_idle(self, now: float) -> None:
        if self.config.mode != "query" or now < self._next_query:
            return
        self._next_query = now + 1.0 / self.config.query_hz
        if self.config.model == "gy-mcu90614":
            self.link.write(mcu90614.encode_command(mcu90614.CMD_QUERY))
        elif self.config.model == "gy-mcu90640":
            self.link.write(mcu90640.encode_command(mcu90640.CMD_OUTPUT, mcu90640.OUTPUT_ONE))

    def _on_message(self, message: Any, t_monotonic: float) -> None:
        offset = self.config.offset_c
        if isinstance(message, mcu90640.Mcu90640Frame):
            value, _ = mcu90640.body_from_pixels(message.pixels, offset, self.config.body_pixels)
            reading = Reading.measured(value, message.ambient_c, self.config.model, message.raw, t_monotonic, offset)
        else:
            reading = Reading.measured(message.object_c, message.ambient_c, self.config.model, message.raw,
                                       t_monotonic, offset)
        self._put(reading)
