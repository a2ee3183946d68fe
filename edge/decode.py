"""QR decoding of camera frames: zxing-cpp (primary) or pyzbar (configured alternative).

Most frames hold no code, so what a decoder costs on an *empty* frame is what
matters on a Pi. zxing-cpp restricted to QR, without rotation, downscaling or
inversion passes, is far cheaper there than pyzbar (see ``bench/bench_scan.py``)
and also reads tilted codes pyzbar misses. Only the configured scan window of
each frame is decoded; a window larger than ``max_side`` pixels (a high-resolution
camera) is first area-downscaled, which is cheaper and reads large blurred codes.

A **second chance** (zxing only) handles what phones really show: when the first
pass finds nothing but :func:`looks_like_code` says a code is probably there (a
cheap texture test on a sparse sample grid, microseconds), a short fixed list of
variants is tried, stopping at the first that reads: the inverted window (dark-mode
screens), a 2x area-downscaled window (screen moiré, large or blurred codes, and the
full-resolution window when the first pass was downscaled), and an unsharp-masked
window (defocus). zxing-cpp has no sharpening option, hence the one hand-written
filter; inversion and the binarizer are the library's (``try_invert``). A frame
never gets more than one second chance, so a noisy frame costs at most a few
milliseconds, and an empty frame pays only the texture test.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import numpy as np

from edge.errors import EdgeError

log = logging.getLogger(__name__)

Window = tuple[float, float, float, float]
FULL_FRAME: Window = (0.0, 0.0, 1.0, 1.0)


class DecodeError(EdgeError):
    """A frame cannot be decoded at all (wrong shape or type); the scan loop skips it."""


def window_pixels(shape: tuple[int, ...], window: Window) -> tuple[int, int, int, int]:
    """The scan window ``(x, y, w, h)`` as fractions turned into pixel bounds ``(x0, y0, x1, y1)``.

    The result always lies inside the frame and is at least one pixel wide and high.
    """
    height, width = int(shape[0]), int(shape[1])
    x, y, w, h = (min(1.0, max(0.0, float(v))) for v in window)
    x0 = min(width - 1, int(round(x * width)))
    y0 = min(height - 1, int(round(y * height)))
    x1 = max(x0 + 1, min(width, int(round((x + w) * width))))
    y1 = max(y0 + 1, min(height, int(round((y + h) * height))))
    return x0, y0, x1, y1


def to_gray(image: np.ndarray) -> np.ndarray:
    """A contiguous uint8 grayscale view of a gray or BGR(A) frame."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise DecodeError("a frame must be a uint8 numpy array")
    if image.ndim == 2:
        gray = image
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        import cv2

        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif image.ndim == 3 and image.shape[2] == 1:
        gray = image[:, :, 0]
    else:
        raise DecodeError(f"unsupported frame shape {image.shape}")
    if gray.shape[0] < 1 or gray.shape[1] < 1:
        raise DecodeError("empty frame")
    return np.ascontiguousarray(gray)


Reader = Callable[[np.ndarray], list[str]]


def _zxing_reader(try_invert: bool = False) -> Reader:
    import zxingcpp

    fmt = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def read(gray: np.ndarray) -> list[str]:
        results = zxingcpp.read_barcodes(gray, formats=fmt, try_rotate=False, try_downscale=False,
                                         try_invert=try_invert)
        return [r.text for r in results if r.valid and r.text]

    return read


GATE_STEP = 4  # the texture test samples every 4th pixel of every 4th row
GATE_LEVEL = 16  # grey levels between neighbouring samples that count as a module edge (noise sigma 3: ~4 sigma)
GATE_SHARE = 0.004  # share of samples that must be edges both across and down


def looks_like_code(gray: np.ndarray) -> bool:
    """Whether a code is probably in ``gray``: enough samples differ strongly from both their right and lower neighbour.

    A QR code's modules make such "corners" densely; flat scenes, sensor noise and the straight edges of a door
    or a person make few. It reads 1 pixel in 16 with a few vectorised OpenCV calls (tens of microseconds at
    most), far less than a decoding pass.
    """
    import cv2

    s = np.ascontiguousarray(gray[::GATE_STEP, ::GATE_STEP])
    if s.shape[0] < 3 or s.shape[1] < 3:
        return False
    corner = cv2.min(cv2.absdiff(s[:-1, 1:], s[:-1, :-1]), cv2.absdiff(s[1:, :-1], s[:-1, :-1]))
    _, edges = cv2.threshold(corner, GATE_LEVEL, 1, cv2.THRESH_BINARY)
    return cv2.countNonZero(edges) > GATE_SHARE * corner.size


def area_downscale(gray: np.ndarray, factor: float) -> np.ndarray:
    """``gray`` shrunk by ``factor`` with area averaging (no aliasing: it also smooths a screen's pixel grid)."""
    import cv2

    h, w = gray.shape
    return cv2.resize(gray, (max(1, int(w / factor)), max(1, int(h / factor))), interpolation=cv2.INTER_AREA)


def unsharp(gray: np.ndarray, sigma: float = 1.5, amount: float = 3.0) -> np.ndarray:
    """``gray`` with its edges steepened (unsharp mask), for defocused codes; zxing-cpp has no such option."""
    import cv2

    soft = cv2.GaussianBlur(gray, (0, 0), sigma)
    return cv2.addWeighted(gray, 1.0 + amount, soft, -amount, 0)


class SecondChance:
    """The bounded retry for a window where a code probably is but the first pass read nothing.

    :meth:`read` tries each variant once, in order, and stops at the first that reads a code.
    ``attempts`` counts the variants tried so far (for tests and the bench).
    """

    def __init__(self) -> None:
        self._plain = _zxing_reader(False)
        self._either = _zxing_reader(True)
        self.attempts = 0

    def variants(self, full: np.ndarray) -> list[Callable[[], list[str]]]:
        """The retries for the full-resolution window ``full``, cheapest and most often useful first."""
        import cv2

        return [
            lambda: self._plain(cv2.bitwise_not(full)),  # dark mode: light modules on a dark screen
            lambda: self._either(area_downscale(full, 2.0)),  # screen moiré, large or blurred codes
            lambda: self._either(unsharp(full)),  # out of focus
        ]

    def read(self, full: np.ndarray) -> list[str]:
        """Texts read by the first variant that reads any (none: ``[]``)."""
        for attempt in self.variants(full):
            self.attempts += 1
            texts = attempt()
            if texts:
                return texts
        return []


def _pyzbar_reader() -> Callable[[np.ndarray], list[str]]:
    from pyzbar import pyzbar

    symbols = [pyzbar.ZBarSymbol.QRCODE]

    def read(gray: np.ndarray) -> list[str]:
        out = []
        for r in pyzbar.decode(gray, symbols=symbols):
            try:
                out.append(r.data.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(r.data.decode("latin-1"))
        return [t for t in out if t]

    return read


class QrDecoder:
    """Decodes the QR codes inside the scan window of a frame.

    ``QrDecoder("zxing", window=(0.2, 0.1, 0.6, 0.8))``; :meth:`decode` returns the
    texts found (usually none). Constructing it imports the decoder library but
    opens nothing.
    """

    def __init__(self, kind: Literal["zxing", "pyzbar"] = "zxing", window: Window = FULL_FRAME, *,
                 second_chance: bool = True, max_side: int = 960) -> None:
        if kind not in ("zxing", "pyzbar"):
            raise ValueError(f"unknown decoder {kind!r}")
        self.kind = kind
        self.window = tuple(window)
        self.max_side = max_side
        self._read = _zxing_reader() if kind == "zxing" else _pyzbar_reader()
        self.second = SecondChance() if second_chance and kind == "zxing" else None
        self.second_chances = 0  # frames that got a second chance

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The scan window of ``image``, as contiguous grayscale."""
        gray = to_gray(image)
        x0, y0, x1, y1 = window_pixels(gray.shape, self.window)  # type: ignore[arg-type]
        if (x0, y0, x1, y1) == (0, 0, gray.shape[1], gray.shape[0]):
            return gray
        return np.ascontiguousarray(gray[y0:y1, x0:x1])

    def decode(self, image: np.ndarray) -> list[str]:
        """Texts of the QR codes in the scan window (deduplicated, in reading order).

        One pass over the window (area-downscaled when larger than ``max_side``); if it reads nothing and the
        window looks like it holds a code, one :class:`SecondChance` on the full-resolution window.
        """
        full = self.crop(image)
        first = full
        if self.kind == "zxing" and max(full.shape) > self.max_side:
            first = area_downscale(full, max(full.shape) / self.max_side)
        texts = self._read(first)
        if not texts and self.second is not None and looks_like_code(first):
            self.second_chances += 1
            texts = self.second.read(full)
        return list(dict.fromkeys(texts))
