"""LCUS-1/2/4/8 USB serial relay boards (CH340, 9600 8N1) wire protocol.

Host to board, 4 bytes ``A0 CH OP SUM``: CH the channel (1-8), OP 01 on / 00 off,
SUM = (A0 + CH + OP) & FF. Channel 1 on ``A0 01 01 A2``, off ``A0 01 00 A1``. The board
does not answer on/off commands; leave about 100 ms between commands. On some boards
"on" opens the contact instead of closing it (``RelayConfig.inverted``).

Checked against Pebble94464/lcus-usb-relay-module-controller ``DeviceBase.py``
(start byte A0, 1-based channel, op 1/0, sum checksum, 100 ms delay).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codec import Codec, sum8

START = 0xA0
OP_OFF = 0x00
OP_ON = 0x01


@dataclass(frozen=True)
class RelayCommand:
    """One decoded command: channel 1-8 and whether the coil is energised."""

    channel: int
    on: bool
    raw: bytes


def encode_switch(channel: int, on: bool) -> bytes:
    """The 4-byte command energising (``on``) or releasing channel ``channel``."""
    body = bytes([START, channel & 0xFF, OP_ON if on else OP_OFF])
    return body + bytes([sum8(body)])


class LcusCommandDecoder(Codec[RelayCommand]):
    """Board side (the simulator): host bytes -> :class:`RelayCommand`."""

    def _parse_one(self, buf: bytearray) -> tuple[int, RelayCommand | None]:
        if buf[0] != START:
            return self._skip_to(buf, bytes([START])), None
        if len(buf) < 4:
            return 0, None
        frame = bytes(buf[:4])
        if sum8(frame[:3]) != frame[3]:
            self.stats.bad_checksum += 1
            return self._skip_to(buf, bytes([START])), None
        if not 1 <= frame[1] <= 8 or frame[2] not in (OP_ON, OP_OFF):
            self.stats.rejected += 1
            return self._skip_to(buf, bytes([START])), None
        return 4, RelayCommand(frame[1], frame[2] == OP_ON, frame)
