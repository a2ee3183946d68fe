"""What every wire-protocol codec shares: a byte buffer, counters and a size cap.

A codec is pure: it never touches a port or a clock. ``feed(data)`` takes whatever
bytes arrived (any split, any junk) and returns the complete, valid messages found so
far; partial frames wait in the buffer for the next call. Garbage is skipped one byte
at a time until a header lines up again, so a real frame hidden behind junk or behind a
frame with a bad checksum is still found. ``feed`` never raises: every rejected frame is
counted in :class:`CodecStats` and logged at debug level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

M = TypeVar("M")


@dataclass
class CodecStats:
    """Counters of one codec instance."""

    messages: int = 0
    bad_checksum: int = 0
    junk_bytes: int = 0
    rejected: int = 0  # well-framed but meaningless (bad length, unknown command, unparsable line)

    @property
    def errors(self) -> int:
        """Frames rejected for any reason (junk bytes are counted separately)."""
        return self.bad_checksum + self.rejected


class Codec(Generic[M]):
    """Base of the stream decoders: subclasses implement :meth:`_parse_one`."""

    #: Bytes kept at most while waiting for the rest of a frame; more is a runaway and is dropped.
    max_buffer: int = 8192

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.stats = CodecStats()

    def reset(self) -> None:
        """Forget partial input (after a reconnect)."""
        self.buffer.clear()

    def feed(self, data: bytes) -> list[M]:
        """Add received bytes; return every complete valid message, oldest first."""
        self.buffer += data
        out: list[M] = []
        while self.buffer:
            consumed, message = self._parse_one(self.buffer)
            if consumed == 0:
                break
            del self.buffer[:consumed]
            if message is not None:
                self.stats.messages += 1
                out.append(message)
        if len(self.buffer) > self.max_buffer:
            self.stats.junk_bytes += len(self.buffer)
            log.debug("%s: dropping %d buffered bytes (no frame end)", type(self).__name__, len(self.buffer))
            self.buffer.clear()
        return out

    def _parse_one(self, buf: bytearray) -> tuple[int, M | None]:
        """Look at the start of ``buf``: return (bytes to drop, message or None); (0, None) = need more."""
        raise NotImplementedError

    def _fixed_frame(self, buf: bytearray, header: bytes, length: int,
                     checksum_ok: Callable[[bytes], bool]) -> tuple[int, bytes | None]:
        """A frame of ``length`` bytes starting with ``header``: (bytes to drop, frame or None).

        (0, None) waits for more bytes; a wrong header skips to the next one; a frame failing
        ``checksum_ok`` is counted and skipped past its first byte only, so a real frame that
        starts inside it is still found.
        """
        n = min(len(buf), len(header))
        if buf[:n] != header[:n]:
            return self._skip_to(buf, header), None
        if len(buf) < length:
            return 0, None
        frame = bytes(buf[:length])
        if not checksum_ok(frame):
            self.stats.bad_checksum += 1
            return self._skip_to(buf, header), None
        return length, frame

    def _skip_to(self, buf: bytearray, header: bytes, start: int = 1) -> int:
        """Bytes to drop so that ``buf`` starts at the next possible ``header`` (or its partial tail)."""
        idx = buf.find(header, start)
        if idx >= 0:
            drop = idx
        else:
            # keep a tail that may be the beginning of a header split across reads
            drop = len(buf)
            for keep in range(min(len(header) - 1, len(buf) - start), 0, -1):
                if buf.endswith(header[:keep]):
                    drop = len(buf) - keep
                    break
            drop = max(drop, start)
        self.stats.junk_bytes += drop
        return drop


def sum8(data: bytes) -> int:
    """Sum of the bytes, modulo 256 (the checksum of most of these modules)."""
    return sum(data) & 0xFF
