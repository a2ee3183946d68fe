"""GY-MCU90614 / GY-MCU90615 wire protocol (MLX90614 behind an MCU, TTL UART, 8N1).

Host to module, 3 bytes ``A5 CMD SUM`` (SUM = (A5 + CMD) & FF):
``A5 45 EA`` continuous output (~14 Hz), ``A5 15 BA`` one reading (keep < 10 Hz),
``A5 51 F6`` / ``A5 52 F7`` auto-output at power-up on/off, ``A5 AE 53`` / ``A5 AF 54`` baud
9600 / 115200 (after a power cycle).

Module to host, 9 bytes ``5A 5A 45 04 TOh TOl TAh TAl SUM``: TO object, TA ambient,
big-endian signed int16 in hundredths of a degree C; SUM = sum of bytes 0..7 & FF.
Worked example: ``5A 5A 45 04 0C 78 0D 19 A7`` = object 31.92, ambient 33.53.

Checked against heef87/TemperatureDemo ``SGY_MCU90614_TW.java`` (same commands, same
byte positions and checksum; that code reads the values unsigned and then adds a
distance "correction" to the reading, which we never do).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codec import Codec, sum8

HEADER = b"\x5a\x5a\x45\x04"
FRAME_LEN = 9

CMD_CONTINUOUS = 0x45
CMD_QUERY = 0x15
CMD_AUTOSTART_ON = 0x51
CMD_AUTOSTART_OFF = 0x52
CMD_BAUD_9600 = 0xAE
CMD_BAUD_115200 = 0xAF


@dataclass(frozen=True)
class Mcu90614Frame:
    """One decoded reply: temperatures in degrees C exactly as sent."""

    object_c: float
    ambient_c: float
    raw: bytes


def encode_command(cmd: int) -> bytes:
    """The 3-byte command frame for ``cmd`` (one of the ``CMD_*`` constants)."""
    return bytes([0xA5, cmd & 0xFF, (0xA5 + cmd) & 0xFF])


def _centi(value_c: float) -> bytes:
    centi = max(-32768, min(32767, round(value_c * 100)))
    return centi.to_bytes(2, "big", signed=True)


def encode_reading(object_c: float, ambient_c: float) -> bytes:
    """The 9-byte frame a module sends for these temperatures (used by the simulator)."""
    body = HEADER + _centi(object_c) + _centi(ambient_c)
    return body + bytes([sum8(body)])


class Mcu90614Decoder(Codec[Mcu90614Frame]):
    """Host side: module output bytes -> :class:`Mcu90614Frame`."""

    def _parse_one(self, buf: bytearray) -> tuple[int, Mcu90614Frame | None]:
        used, frame = self._fixed_frame(buf, HEADER, FRAME_LEN, lambda f: sum8(f[:8]) == f[8])
        if frame is None:
            return used, None
        obj = int.from_bytes(frame[4:6], "big", signed=True) / 100
        amb = int.from_bytes(frame[6:8], "big", signed=True) / 100
        return FRAME_LEN, Mcu90614Frame(obj, amb, frame)


class Mcu90614CommandDecoder(Codec[int]):
    """Module side (the simulator): host bytes -> command codes with a valid checksum."""

    def _parse_one(self, buf: bytearray) -> tuple[int, int | None]:
        if buf[0] != 0xA5:
            return self._skip_to(buf, b"\xa5"), None
        if len(buf) < 3:
            return 0, None
        if (0xA5 + buf[1]) & 0xFF != buf[2]:
            self.stats.bad_checksum += 1
            return self._skip_to(buf, b"\xa5"), None
        return 3, buf[1]
