"""Every wire codec with a generator of valid frames, for property tests and the fuzz benchmark.

Each :class:`CodecCase` says how to build a decoder, how to make a random valid frame,
which ``raw`` bytes a decoded message carries, what must precede a frame so that a line
protocol can find it after junk (``separator``), and which byte patterns junk must not
contain to be "junk" rather than the start of a frame (``headers``: a complete header in
the junk may legitimately begin a frame that swallows the next real one; with one-byte
start bytes and 8-bit sums this is a property of the protocol, not of the decoder).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drivers.codec import Codec
from drivers.gate import lcus
from drivers.scanner import gm65
from drivers.thermometer import asciiline, mcu90614, mcu90640


@dataclass(frozen=True)
class CodecCase:
    """One codec under test."""

    name: str
    decoder: Callable[[], Codec]
    make_frame: Callable[[random.Random], bytes]
    separator: bytes = b""
    headers: tuple[bytes, ...] = ()
    #: The identity of a decoded message, and of the frame it should decode from.
    key: Callable[[object], object] = lambda message: message.raw  # type: ignore[attr-defined]  # most messages keep .raw
    frame_key: Callable[[bytes], object] = lambda frame: frame


def _centi(rng: random.Random) -> float:
    return rng.randint(-32768, 32767) / 100


def _frame_90640(rng: random.Random) -> bytes:
    pixels = np.random.default_rng(rng.getrandbits(32)).integers(-4000, 30000, 768) / 100
    return mcu90640.encode_frame(pixels, _centi(rng))


def _ascii(rng: random.Random) -> bytes:
    obj = rng.randint(-9999, 99999) / 100
    return asciiline.encode_line(obj, None if rng.random() < 0.5 else rng.randint(-9999, 99999) / 100)


_TEXT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:通行证"


def _scan_text(rng: random.Random) -> bytes:
    if rng.random() < 0.1:
        return gm65.encode_reply(rng.random() < 0.5, bytes([rng.randrange(256)]))
    text = "".join(rng.choice(_TEXT_ALPHABET) for _ in range(rng.randint(1, 120))).strip() or "X"
    return gm65.encode_text(text)


def _scanner_command(rng: random.Random) -> bytes:
    data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    return gm65.encode_command(rng.choice((0x07, 0x08, 0x09)), rng.randrange(0x10000), data, rng.random() < 0.7)


CASES: tuple[CodecCase, ...] = (
    CodecCase("gy-mcu90614", mcu90614.Mcu90614Decoder,
              lambda r: mcu90614.encode_reading(_centi(r), _centi(r)), headers=(mcu90614.HEADER,)),
    CodecCase("gy-mcu90614-commands", mcu90614.Mcu90614CommandDecoder,
              lambda r: mcu90614.encode_command(r.randrange(256)), headers=(b"\xa5",),
              key=lambda m: m, frame_key=lambda f: f[1]),
    CodecCase("gy-mcu90640", mcu90640.Mcu90640Decoder, _frame_90640, headers=(mcu90640.HEADER,)),
    CodecCase("gy-mcu90640-commands", mcu90640.Mcu90640CommandDecoder,
              lambda r: mcu90640.encode_command(r.randrange(256), r.randrange(256)), headers=(b"\xa5",),
              key=lambda m: m, frame_key=lambda f: (f[1], f[2])),
    CodecCase("ascii-line", asciiline.AsciiLineDecoder, _ascii, separator=b"\n", frame_key=lambda f: f[:-1]),
    CodecCase("lcus-commands", lcus.LcusCommandDecoder,
              lambda r: lcus.encode_switch(r.randint(1, 8), r.random() < 0.5), headers=(b"\xa0",)),
    CodecCase("gm65", gm65.ScannerDecoder, _scan_text, separator=b"\r",
              frame_key=lambda f: f if f.startswith(b"\x02\x00") else f[:-1]),
    CodecCase("gm65-commands", gm65.ScannerCommandDecoder, _scanner_command, headers=(b"\x7e\x00",)),
)


def clean_junk(case: CodecCase, junk: bytes) -> bytes:
    """``junk`` with every header of ``case`` broken up (see the module docstring)."""
    for header in case.headers:
        while header in junk:
            junk = junk.replace(header, header[:-1] + bytes([(header[-1] + 1) & 0xFF]))
    return junk
