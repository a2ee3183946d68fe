"""QR decoding of camera frames: zxing-cpp (primary) or pyzbar (configured alternative).

Most frames hold no code, so what a decoder costs on an *empty* frame is what
matters on a Pi. zxing-cpp restricted to QR, without rotation, downscaling or
inversion passes, is far cheaper there than pyzbar (see ``bench/bench_scan.py``)
and also reads tilted codes pyzbar misses. Only the configured scan window of
each frame is decoded; a window larger than ``max_side`` pixels (a high-resolution
camera) is first area-downscaled, which is cheaper and reads large blurred codes.

A **second chance** (zxing only) handles what phones really show. When the first pass reads nothing
but a code is probably there -- zxing-cpp located a symbol it could not decode (``return_errors``, free),
or :func:`looks_like_code` (a texture test on a sparse sample grid, ~15 microseconds) fires -- a short fixed
list of :data:`VARIANTS` is tried on the window (area-downscaled to at most ``retry_side`` pixels, which
bounds the cost whatever the camera), stopping at the first that reads: the inverted window (dark-mode
screens), a strong unsharp mask and a 3x3 median each with zxing-cpp's fixed-threshold binarizer (defocus,
motion, glare; screen moiré), a mild unsharp mask, half size (large codes) and, on small windows only, double
size with a strong unsharp mask (a phone held far away, out of focus). zxing-cpp has no sharpening
or median option, hence those OpenCV filters; inversion and the binarizers are the library's. A frame never
gets more than one second chance, so a noisy frame costs a few milliseconds at most (``./run.sh bench scan``
prints the worst case against the 15 fps frame budget), and an empty frame pays only the texture test.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    if image.ndim in (2, 3) and 0 in image.shape[:2]:
        raise DecodeError("empty frame")  # before OpenCV, whose colour conversion asserts on it
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


class _Zxing:
    """zxing-cpp restricted to QR codes, without rotation or downscaling passes.

    :meth:`read` returns the texts read and whether zxing-cpp located a symbol it could not decode (a
    finder-pattern triple whose data failed, ``return_errors``): the cheapest sign that a code is there.
    """

    def __init__(self, try_invert: bool = False, binarizer: str = "LocalAverage") -> None:
        import zxingcpp

        self._zx = zxingcpp
        self._fmt = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        self._invert = try_invert
        self._binarizer = getattr(zxingcpp.Binarizer, binarizer)

    def read(self, gray: np.ndarray) -> tuple[list[str], bool]:
        """Texts of the valid codes in ``gray``, and whether any symbol was located at all."""
        results = self._zx.read_barcodes(gray, formats=self._fmt, try_rotate=False, try_downscale=False,
                                         try_invert=self._invert, binarizer=self._binarizer, return_errors=True)
        return [r.text for r in results if r.valid and r.text], bool(results)

    def texts(self, gray: np.ndarray) -> list[str]:
        """Texts of the valid codes in ``gray``."""
        return self.read(gray)[0]


GATE_STEP = 4  # the texture test samples every 4th pixel of every 4th row
GATE_LEVEL = 16  # grey levels between neighbouring samples that count as a module edge (noise sigma 3: ~4 sigma;
# both differences share their centre sample, so one noisy pixel makes both: 12 fired on noisy empty scenes)
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


def fit(gray: np.ndarray, side: int) -> np.ndarray:
    """``gray`` area-downscaled so that its longer side is at most ``side`` (unchanged when it already is)."""
    longer = max(gray.shape)
    return gray if longer <= side else area_downscale(gray, longer / side)


def unsharp(gray: np.ndarray, sigma: float = 1.5, amount: float = 3.0) -> np.ndarray:
    """``gray`` with its edges steepened (unsharp mask), for defocused codes; zxing-cpp has no such option.

    The blur is a box of the same spread as a Gaussian of ``sigma`` (width ~ sigma * sqrt(12)): a few times
    cheaper than OpenCV's Gaussian at these sizes, and as good for the mask.
    """
    import cv2

    k = max(3, 2 * int(round(sigma * 1.73)) + 1)
    soft = cv2.blur(gray, (k, k))
    return cv2.addWeighted(gray, 1.0 + amount, soft, -amount, 0)


def inverted(gray: np.ndarray) -> np.ndarray:
    """``gray`` with light and dark swapped: a dark-mode screen's code as a printed one."""
    import cv2

    return cv2.bitwise_not(gray)


def median3(gray: np.ndarray) -> np.ndarray:
    """``gray`` through a 3x3 median: removes a screen's pixel grid (moiré) and speckle, keeps module edges."""
    import cv2

    return cv2.medianBlur(gray, 3)


RETRY_BUDGET = 0.020  # seconds a second chance may start variants in: with the first pass, within one 15 fps frame


@dataclass(frozen=True)
class Variant:
    """One retry of the second chance: a filter on the window, then zxing-cpp with this binarizer."""

    name: str
    prepare: Callable[[np.ndarray], np.ndarray]
    binarizer: str = "LocalAverage"
    try_invert: bool = True
    up_to: int = 1 << 30  # tried only on windows whose longer side is at most this (bounds an enlarging filter)


def _strong_unsharp(gray: np.ndarray) -> np.ndarray:
    return unsharp(gray, 2.5, 3.0)


def _half(gray: np.ndarray) -> np.ndarray:
    return area_downscale(gray, 2.0)


def _double_sharp(gray: np.ndarray) -> np.ndarray:
    """``gray`` at twice the size (cubic), then strongly unsharp-masked: a small, soft code's modules get the
    pixels the detector needs (a phone held far from a 640x480 camera, ~2 px per module)."""
    import cv2

    return unsharp(cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), 3.0, 3.0)


# Chosen on the generated hard set (bench/phone_frames.py): a fixed threshold after a strong unsharp mask
# reads most blurred, moiré and glared codes the local-average binarizer gives up on, the median most of the
# rest. Ordered cheapest first (an unsharp-masked screen grid makes zxing-cpp chase many false finder
# patterns: milliseconds, where the others cost a fraction of one).
VARIANTS: tuple[Variant, ...] = (
    Variant("inverted", inverted, try_invert=False),  # dark mode: light modules on a dark screen (one pass)
    Variant("median 3x3, fixed threshold", median3, "FixedThreshold"),  # moiré, motion along the grid
    Variant("half size", _half),  # large, soft codes: half of the (at most retry_side) window
    Variant("unsharp 2.5, fixed threshold", _strong_unsharp, "FixedThreshold"),  # defocus, motion, glare
    Variant("unsharp 1.5", unsharp),  # mild defocus of small codes
    Variant("double size, unsharp 3", _double_sharp, up_to=480),  # far phone, soft: only small windows
)


class SecondChance:
    """The bounded retry for a window where a code probably is but the first pass read nothing.

    :meth:`read` tries each of :data:`VARIANTS` once, in order, and stops at the first that reads a code or
    once ``budget`` seconds of ``clock`` have gone, so a retried frame ends within the budget plus one variant.
    The clock is the scan thread's CPU time: on a Pi that runs nothing else it is wall time, and on a loaded
    machine other jobs' share of the core does not cut the retry short. ``attempts`` counts the variants tried
    so far and ``last`` names the one that read.
    """

    def __init__(self, variants: tuple[Variant, ...] = VARIANTS, *, budget: float = RETRY_BUDGET,
                 clock: Callable[[], float] = time.thread_time) -> None:
        self._variants = [(v, _Zxing(v.try_invert, v.binarizer)) for v in variants]
        self.budget = budget
        self._clock = clock
        self.attempts = 0
        self.last = ""

    def variants(self, full: np.ndarray) -> list[Callable[[], list[str]]]:
        """The retries for the full-resolution window ``full``, in the order they are tried."""
        return [lambda v=v, zx=zx: zx.texts(v.prepare(full)) for v, zx in self._fitting(full)]  # type: ignore[misc]

    def _fitting(self, full: np.ndarray) -> list[tuple[Variant, _Zxing]]:
        return [(v, zx) for v, zx in self._variants if max(full.shape) <= v.up_to]

    def read(self, full: np.ndarray) -> list[str]:
        """Texts read by the first variant that reads any (none: ``[]``)."""
        self.last = ""
        start = self._clock()
        for (variant, _), attempt in zip(self._fitting(full), self.variants(full), strict=True):
            if self._clock() - start > self.budget:
                break
            self.attempts += 1
            texts = attempt()
            if texts:
                self.last = variant.name
                return texts
        return []


def _pyzbar_reader() -> Callable[[np.ndarray], tuple[list[str], bool]]:
    from pyzbar import pyzbar

    symbols = [pyzbar.ZBarSymbol.QRCODE]

    def read(gray: np.ndarray) -> tuple[list[str], bool]:
        out = []
        for r in pyzbar.decode(gray, symbols=symbols):
            try:
                out.append(r.data.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(r.data.decode("latin-1"))
        return [t for t in out if t], False

    return read


class QrDecoder:
    """Decodes the QR codes inside the scan window of a frame.

    ``QrDecoder("zxing", window=(0.2, 0.1, 0.6, 0.8))``; :meth:`decode` returns the
    texts found (usually none). Constructing it imports the decoder library but
    opens nothing.
    """

    def __init__(self, kind: Literal["zxing", "pyzbar"] = "zxing", window: Window = FULL_FRAME, *,
                 second_chance: bool = True, max_side: int = 960, retry_side: int = 640) -> None:
        if kind not in ("zxing", "pyzbar"):
            raise ValueError(f"unknown decoder {kind!r}")
        self.kind = kind
        self.window = tuple(window)
        self.max_side = max_side
        self.retry_side = retry_side
        self._read = _Zxing().read if kind == "zxing" else _pyzbar_reader()
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

        One pass over the window (zxing: area-downscaled when larger than ``max_side``); if it reads nothing
        and a code is probably there (zxing-cpp located a symbol it could not decode, or :func:`looks_like_code`),
        one :class:`SecondChance` on the full-resolution window.
        """
        full = self.crop(image)
        first = full
        if self.kind == "zxing" and max(full.shape) > self.max_side:
            first = area_downscale(full, max(full.shape) / self.max_side)
        texts, located = self._read(first)
        if not texts and self.second is not None and (located or looks_like_code(first)):
            self.second_chances += 1
            texts = self.second.read(fit(full, self.retry_side))
        return list(dict.fromkeys(texts))
