"""QR decoding of camera frames: zxing-cpp (primary) or pyzbar (configured alternative).

Most frames hold no code, so what a decoder costs on an *empty* frame is what
matters on a Pi. zxing-cpp restricted to QR, without rotation, downscaling or
inversion passes, is far cheaper there than pyzbar (see ``bench/bench_scan.py``)
and also reads tilted codes pyzbar misses. Only the configured scan window of
each frame is decoded.
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


def _zxing_reader() -> Callable[[np.ndarray], list[str]]:
    import zxingcpp

    fmt = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def read(gray: np.ndarray) -> list[str]:
        results = zxingcpp.read_barcodes(gray, formats=fmt, try_rotate=False, try_downscale=False,
                                         try_invert=False)
        return [r.text for r in results if r.valid and r.text]

    return read


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

    def __init__(self, kind: Literal["zxing", "pyzbar"] = "zxing", window: Window = FULL_FRAME) -> None:
        if kind not in ("zxing", "pyzbar"):
            raise ValueError(f"unknown decoder {kind!r}")
        self.kind = kind
        self.window = tuple(window)
        self._read = _zxing_reader() if kind == "zxing" else _pyzbar_reader()

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The scan window of ``image``, as contiguous grayscale."""
        gray = to_gray(image)
        x0, y0, x1, y1 = window_pixels(gray.shape, self.window)  # type: ignore[arg-type]
        if (x0, y0, x1, y1) == (0, 0, gray.shape[1], gray.shape[0]):
            return gray
        return np.ascontiguousarray(gray[y0:y1, x0:x1])

    def decode(self, image: np.ndarray) -> list[str]:
        """Texts of the QR codes in the scan window (deduplicated, in reading order)."""
        texts = self._read(self.crop(image))
        return list(dict.fromkeys(texts))
