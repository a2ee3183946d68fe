"""A plain ASCII-line thermometer protocol (many cheap modules and our own bridges).

Each reading is one line: the object temperature in degrees C with one or two decimals,
optionally followed by a separator (comma, semicolon or spaces) and the ambient
temperature, ended by LF (a CR before it is ignored). Examples: ``36.52\\r\\n``,
``36.5,21.0\\n``. No checksum: a line that does not match exactly is rejected whole.
Lines longer than 64 bytes are junk and dropped up to the next LF. There are no
commands; the module streams on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.codec import Codec

MAX_LINE = 64
_LINE = re.compile(rb" *(-?\d{1,3}\.\d{1,2})(?:(?: *[,;] *| +)(-?\d{1,3}\.\d{1,2}))? *")


@dataclass(frozen=True)
class AsciiReading:
    """One line: object temperature and optional ambient, degrees C as sent."""

    object_c: float
    ambient_c: float | None
    raw: bytes


def encode_line(object_c: float, ambient_c: float | None = None) -> bytes:
    """The line a module sends (used by the simulator)."""
    text = f"{object_c:.2f}" if ambient_c is None else f"{object_c:.2f},{ambient_c:.2f}"
    return text.encode() + b"\r\n"


def parse_line(line: bytes) -> AsciiReading | None:
    """One line without its LF -> reading, or None if it is not exactly the format above."""
    match = _LINE.fullmatch(line.rstrip(b"\r"))
    if match is None:
        return None
    first, second = match.group(1), match.group(2)
    return AsciiReading(float(first), float(second) if second else None, bytes(line))


class AsciiLineDecoder(Codec[AsciiReading]):
    """Host side: bytes -> :class:`AsciiReading` per valid line."""

    def __init__(self) -> None:
        super().__init__()
        self._discarding = False

    def reset(self) -> None:
        super().reset()
        self._discarding = False

    def _parse_one(self, buf: bytearray) -> tuple[int, AsciiReading | None]:
        end = buf.find(b"\n", 0, MAX_LINE + 2)
        if end < 0:
            if len(buf) <= MAX_LINE + 1:
                return 0, None
            # an overlong line: junk up to and including the next LF (which may not have arrived yet)
            end = buf.find(b"\n", MAX_LINE + 2)
            self._discarding = end < 0
            drop = len(buf) if end < 0 else end + 1
            self.stats.junk_bytes += drop
            return drop, None
        line = bytes(buf[:end])
        if self._discarding:
            self._discarding = False
            self.stats.junk_bytes += end + 1
            return end + 1, None
        reading = parse_line(line)
        if reading is None and line.strip():
            self.stats.rejected += 1
            self.stats.junk_bytes += end + 1
        return end + 1, reading
