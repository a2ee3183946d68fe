"""GM65 / GM805 (and compatible) serial QR scanner modules, 9600 8N1 by default.

Module to host: the decoded text followed by the configured suffix (CR by default;
a CR LF suffix also works, the LF is dropped). Setting replies are binary:
``02 00 TYPE LEN DATA... CRC16`` (success: ``02 00 00 01 00 33 31``).

Host to module: ``7E 00 TYPE LEN ADDRH ADDRL DATA... CRC16`` with TYPE 08 write setting,
09 save; CRC-CCITT (poly 1021, init 0) over TYPE..DATA, big-endian, or ``AB CD`` to skip
the check. Trigger a scan ``7E 00 08 01 00 02 01 AB CD``; save ``7E 00 09 01 00 00 00 DE C8``.
(Verified: ``binascii.crc_hqx(b"\\x09\\x01\\x00\\x00\\x00", 0) == 0xDEC8`` and
``crc_hqx(b"\\x00\\x01\\x00", 0) == 0x3331``, the success reply.)

A text containing control characters or invalid UTF-8 is rejected (a pass is printable
text), and so is one longer than ``MAX_TEXT`` bytes without a suffix.
"""

from __future__ import annotations

from binascii import crc_hqx
from dataclasses import dataclass

from drivers.codec import Codec

MAX_TEXT = 4096
NO_CRC = b"\xab\xcd"
TYPE_WRITE = 0x08
TYPE_SAVE = 0x09
ADDR_SCAN = 0x0002  # write 01: trigger one scan (command-triggered mode)


@dataclass(frozen=True)
class ScanText:
    """One decoded code, as text."""

    text: str
    raw: bytes


@dataclass(frozen=True)
class ScannerReply:
    """A binary reply to a setting command; ``ok`` when TYPE is 00."""

    ok: bool
    data: bytes
    raw: bytes


@dataclass(frozen=True)
class ScannerCommand:
    """A command as the module sees it (simulator side)."""

    type: int
    address: int
    data: bytes
    raw: bytes


def encode_command(type_: int, address: int, data: bytes, check: bool = True) -> bytes:
    """``7E 00 TYPE LEN ADDRH ADDRL DATA CRC`` (``check=False`` sends ``AB CD``)."""
    body = bytes([type_, len(data)]) + address.to_bytes(2, "big") + data
    crc = crc_hqx(body, 0).to_bytes(2, "big") if check else NO_CRC
    return b"\x7e\x00" + body + crc


def encode_reply(ok: bool = True, data: bytes = b"\x00") -> bytes:
    """The module's binary reply (simulator side)."""
    body = bytes([0x00 if ok else 0x01, len(data)]) + data
    return b"\x02\x00" + body + crc_hqx(body, 0).to_bytes(2, "big")


def encode_text(text: str, suffix: bytes = b"\r") -> bytes:
    """What the module sends after decoding ``text`` (simulator side)."""
    return text.encode("utf-8") + suffix


def trigger_command() -> bytes:
    """Trigger one scan (command-triggered mode)."""
    return encode_command(TYPE_WRITE, ADDR_SCAN, b"\x01", check=False)


def _printable(text: str) -> bool:
    return all(ch >= " " and ch != "\x7f" for ch in text)


class ScannerDecoder(Codec[ScanText | ScannerReply]):
    """Host side: module output -> :class:`ScanText` / :class:`ScannerReply`."""

    max_buffer = 2 * MAX_TEXT

    def __init__(self, suffix: bytes = b"\r") -> None:
        super().__init__()
        self.suffix = suffix
        self._discarding = False

    def reset(self) -> None:
        super().reset()
        self._discarding = False

    def _parse_one(self, buf: bytearray) -> tuple[int, ScanText | ScannerReply | None]:
        if buf[0] == 0x02 and not self._discarding:
            if len(buf) < 2:
                return 0, None
            if buf[1] == 0x00:
                return self._parse_reply(buf)
        limit = MAX_TEXT + len(self.suffix)
        end = buf.find(self.suffix, 0, limit)
        if end < 0:
            if len(buf) < limit:
                return 0, None
            # an overlong text: junk up to and including the next suffix (which may not have arrived yet)
            end = buf.find(self.suffix, limit - len(self.suffix) + 1)
            self._discarding = end < 0
            drop = len(buf) if end < 0 else end + len(self.suffix)
            self.stats.junk_bytes += drop
            return drop, None
        used = end + len(self.suffix)
        if self._discarding:
            self._discarding = False
            self.stats.junk_bytes += used
            return used, None
        return used, self._text(bytes(buf[:end]))

    def _text(self, raw: bytes) -> ScanText | None:
        body = raw.strip(b"\n")
        if not body:
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or not _printable(text):
            self.stats.rejected += 1
            self.stats.junk_bytes += len(raw)
            return None
        return ScanText(text, raw)

    def _parse_reply(self, buf: bytearray) -> tuple[int, ScannerReply | None]:
        if len(buf) < 4:
            return 0, None
        total = 4 + buf[3] + 2
        if len(buf) < total:
            # a reply is short; a long "length" is more likely a text starting with junk
            return (0, None) if total <= 4 + 16 + 2 else (1, None)
        frame = bytes(buf[:total])
        if crc_hqx(frame[2:-2], 0) != int.from_bytes(frame[-2:], "big"):
            self.stats.bad_checksum += 1
            self.stats.junk_bytes += 1
            return 1, None
        return total, ScannerReply(frame[2] == 0x00, frame[4:-2], frame)


class ScannerCommandDecoder(Codec[ScannerCommand]):
    """Module side (the simulator): host bytes -> :class:`ScannerCommand`."""

    def _parse_one(self, buf: bytearray) -> tuple[int, ScannerCommand | None]:
        n = min(len(buf), 2)
        if buf[:n] != b"\x7e\x00"[:n]:
            return self._skip_to(buf, b"\x7e\x00"), None
        if len(buf) < 4:
            return 0, None
        total = 6 + buf[3] + 2
        if len(buf) < total:
            return 0, None
        frame = bytes(buf[:total])
        crc = frame[-2:]
        if crc != NO_CRC and crc_hqx(frame[2:-2], 0) != int.from_bytes(crc, "big"):
            self.stats.bad_checksum += 1
            return self._skip_to(buf, b"\x7e\x00"), None
        return total, ScannerCommand(frame[2], int.from_bytes(frame[4:6], "big"), frame[6:-2], frame)
