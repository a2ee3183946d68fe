"""GY-MCU90640 wire protocol (MLX90640 32x24 thermal array behind an STM32, UART 8N1).

Host to module, 4 bytes ``A5 CMD VAL SUM`` (SUM = sum of the three & FF): rate
``A5 25 0n`` (n = 0..4: 0.5, 1, 2, 4, 8 Hz), one frame ``A5 35 01 DB``, auto output
``A5 35 02 DC``, baud ``A5 15 01/02/03`` (9600 / 115200 / 460800), emissivity
``A5 45 XX`` (XX = emissivity x 100), save ``A5 65 01 0B``.

Module to host, 1544 bytes: ``5A 5A``, length little-endian (``02 06`` = 1538), 768
pixels as little-endian signed int16 in hundredths of a degree C, row by row (32 per row,
24 rows; the image is mirrored: pixel 1 is top-right), the ambient (sensor) temperature
the same way, then a checksum: the sum of the 771 little-endian 16-bit words of bytes
0..1541, & FFFF, sent little-endian.

Checked against vvkuryshev/GY-MCU90640-RPI-Python ``main.py`` (little-endian int16
pixels from byte 4, ambient at bytes 1540-1541, commands ``A5 25 01 CB`` and
``A5 35 02 DC``); the checksum layout follows the module manual as summarised in our
protocol notes (the PDF itself was not machine-readable here).

Body temperature (:func:`body_from_pixels`): the mean of the ``n`` hottest pixels whose
value plus the configured offset lies in the body range 30..45 C (default n = 4, about
a forehead at 0.5-1 m). Pixels outside the range (background, a hot cup, a lamp) are
ignored; if none is in range there is no subject and the hottest pixel is reported as
measured, so the screen can say "no subject" instead of a temperature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drivers.codec import Codec, sum8

HEADER = b"\x5a\x5a\x02\x06"
FRAME_LEN = 1544
ROWS, COLS = 24, 32
BODY_MIN_C, BODY_MAX_C = 30.0, 45.0

CMD_BAUD = 0x15
CMD_RATE = 0x25
CMD_OUTPUT = 0x35  # VAL 01 one frame, 02 automatic
CMD_EMISSIVITY = 0x45
CMD_SAVE = 0x65
OUTPUT_ONE = 0x01
OUTPUT_AUTO = 0x02
RATES_HZ = {0: 0.5, 1: 1.0, 2: 2.0, 3: 4.0, 4: 8.0}


@dataclass(frozen=True, eq=False)
class Mcu90640Frame:
    """One thermal frame: ``pixels`` (24x32 float32, deg C, wire order) and the sensor ambient."""

    pixels: np.ndarray = field(repr=False)
    ambient_c: float
    raw: bytes = field(repr=False)

    def image(self) -> np.ndarray:
        """The pixels as seen from behind the sensor (wire order is mirrored left-right)."""
        return self.pixels[:, ::-1]


def _word_sum(data: bytes) -> int:
    return int(np.frombuffer(data, dtype="<u2").sum(dtype=np.uint64)) & 0xFFFF


def encode_command(cmd: int, value: int) -> bytes:
    """The 4-byte command ``A5 CMD VAL SUM``."""
    body = bytes([0xA5, cmd & 0xFF, value & 0xFF])
    return body + bytes([sum8(body)])


def encode_frame(pixels_c: np.ndarray, ambient_c: float) -> bytes:
    """The 1544-byte frame for a 24x32 (or 768) array of temperatures (used by the simulator)."""
    centi = np.clip(np.round(np.asarray(pixels_c, dtype=np.float64).reshape(-1) * 100), -32768, 32767)
    amb = int(max(-32768, min(32767, round(ambient_c * 100))))
    body = HEADER + centi.astype("<i2").tobytes() + amb.to_bytes(2, "little", signed=True)
    return body + _word_sum(body).to_bytes(2, "little")


def body_from_pixels(pixels: np.ndarray, offset_c: float = 0.0, n: int = 4) -> tuple[float, bool]:
    """(measured temperature, subject present) by the method in the module docstring."""
    flat = np.asarray(pixels, dtype=np.float64).reshape(-1)
    corrected = flat + offset_c
    in_range = flat[(corrected >= BODY_MIN_C) & (corrected <= BODY_MAX_C)]
    if in_range.size == 0:
        return float(flat.max()), False
    hottest = np.sort(in_range)[-max(1, n):]
    return round(float(hottest.mean()), 2), True


class Mcu90640Decoder(Codec[Mcu90640Frame]):
    """Host side: module output -> :class:`Mcu90640Frame`."""

    max_buffer = 4 * FRAME_LEN

    def _parse_one(self, buf: bytearray) -> tuple[int, Mcu90640Frame | None]:
        used, frame = self._fixed_frame(buf, HEADER, FRAME_LEN,
                                        lambda f: _word_sum(f[:1542]) == int.from_bytes(f[1542:1544], "little"))
        if frame is None:
            return used, None
        pixels = (np.frombuffer(frame, dtype="<i2", count=ROWS * COLS, offset=4) / 100).astype(np.float32)
        ambient = int.from_bytes(frame[1540:1542], "little", signed=True) / 100
        return FRAME_LEN, Mcu90640Frame(pixels.reshape(ROWS, COLS), ambient, frame)


class Mcu90640CommandDecoder(Codec[tuple[int, int]]):
    """Module side (the simulator): host bytes -> (command, value) with a valid checksum."""

    def _parse_one(self, buf: bytearray) -> tuple[int, tuple[int, int] | None]:
        if buf[0] != 0xA5:
            return self._skip_to(buf, b"\xa5"), None
        if len(buf) < 4:
            return 0, None
        if sum8(bytes(buf[:3])) != buf[3]:
            self.stats.bad_checksum += 1
            return self._skip_to(buf, b"\xa5"), None
        return 4, (buf[1], buf[2])
