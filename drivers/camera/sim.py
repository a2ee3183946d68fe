"""``sim://``: a simulated camera for the demo and tests (no device needed).

Produces gray frames of the configured size (640x480 by default) at the configured fps:
a flat mid-grey scene with mild sensor noise and no code. ``present(text, seconds)``
makes the following frames show a QR code of ``text`` (rendered with segno, error
correction M) roughly centred at about 4 pixels per module, for ``seconds``.

Distortions (keyword arguments of ``present``): ``module_px`` (pixels per module, default
4), ``rotate_deg`` (rotation), ``blur_px`` (horizontal motion blur length; ~7 px defeats
decoders), ``contrast`` (0..1, default 1), ``noise`` (sensor noise sigma, default 3),
``offset`` ((dx, dy) from the centre in pixels), ``invert`` (true: a dark-mode phone screen, light
modules on a dark ground).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from drivers.camera.source import FrameSource
from drivers.config import CameraConfig

BACKGROUND = 118
DISTORTIONS = {"module_px", "rotate_deg", "blur_px", "contrast", "noise", "offset", "invert"}


def rotate_patch(patch: np.ndarray, angle_deg: float, fill: int) -> np.ndarray:
    """``patch`` turned by ``angle_deg`` on a square canvas large enough to hold all of it, padded with ``fill``."""
    import cv2

    h, w = patch.shape
    size = int(np.ceil(np.hypot(h, w)))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    m[:, 2] += ((size - w) / 2, (size - h) / 2)
    return cv2.warpAffine(patch, m, (size, size), borderValue=fill)


def render_code(text: str, module_px: int = 4, contrast: float = 1.0) -> np.ndarray:
    """A QR code of ``text`` with its 4-module quiet zone as a uint8 gray image."""
    import segno

    matrix = np.array(segno.make(text, error="m", micro=False).matrix, dtype=bool)
    matrix = np.pad(matrix, 4, constant_values=False)
    mid, half = 128.0, 110.0 * max(0.0, min(1.0, contrast))
    img = np.where(matrix, mid - half, mid + half).astype(np.uint8)
    return np.kron(img, np.ones((module_px, module_px), dtype=np.uint8))


def _number(distortions: dict[str, object], key: str, default: float) -> float:
    """Distortion ``key`` as a number (``default`` when not given)."""
    value = distortions.get(key, default)
    if not isinstance(value, int | float | str):
        raise TypeError(f"distortion {key} must be a number, not {value!r}")
    return float(value)


def _offset(value: object) -> tuple[int, int]:
    """The ``offset`` distortion: (dx, dy) in pixels."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"distortion offset must be (dx, dy), not {value!r}")
    return int(value[0]), int(value[1])


class SimCamera(FrameSource):
    """A :class:`FrameSource` that draws its frames; see the module docstring."""

    def __init__(self, config: CameraConfig) -> None:
        super().__init__(config)
        self.kind = "sim"
        self._lock = threading.Lock()
        self._overlay: tuple[np.ndarray, float, tuple[int, int], float] | None = None  # patch, until, offset, noise
        self._rng = np.random.default_rng(7)
        self._noise = [self._rng.normal(0, 3, (config.height, config.width)).astype(np.int16) for _ in range(4)]
        self._n = 0
        self._shown_until: float | None = None  # when the newest code presented stops being shown (monotonic)

    def present(self, text: str, seconds: float = 1.5, **distortions: object) -> None:
        """Show a QR code of ``text`` in the frames of the next ``seconds``."""
        unknown = set(distortions) - DISTORTIONS
        if unknown:
            raise ValueError(f"unknown distortion(s) {sorted(unknown)}; known: {sorted(DISTORTIONS)}")
        patch = render_code(text, int(_number(distortions, "module_px", 4)), _number(distortions, "contrast", 1.0))
        if distortions.get("invert"):
            patch = 255 - patch
        angle = _number(distortions, "rotate_deg", 0.0)
        if angle:
            patch = rotate_patch(patch, angle, BACKGROUND)
        blur = int(_number(distortions, "blur_px", 0))
        if blur > 1:
            import cv2

            patch = cv2.blur(patch, (blur, 1))
        offset = _offset(distortions.get("offset", (0, 0)))
        noise = _number(distortions, "noise", 3.0)
        with self._lock:
            self._overlay = (patch, time.monotonic() + seconds, offset, noise)
            self._shown_until = self._overlay[1]

    def quiet_for(self) -> float:
        """Seconds since the last code left the frames (0 while one is shown; inf if none ever was)."""
        with self._lock:
            until = self._shown_until
        return float("inf") if until is None else max(0.0, time.monotonic() - until)

    def _open(self) -> bool:
        return True

    def _release(self) -> None:
        self._opened = False

    def _grab(self) -> np.ndarray:
        h, w = self.config.height, self.config.width
        frame = np.full((h, w), BACKGROUND, dtype=np.int16)
        scale = 1.0
        with self._lock:
            overlay = self._overlay
            if overlay is not None and time.monotonic() > overlay[1]:
                overlay = self._overlay = None
        if overlay is not None:
            patch, _, (dx, dy), noise = overlay
            scale = noise / 3.0
            ph, pw = patch.shape
            top = max(0, min(h - ph, (h - ph) // 2 + dy))
            left = max(0, min(w - pw, (w - pw) // 2 + dx))
            frame[top:top + ph, left:left + pw] = patch[: h - top, : w - left]
        self._n += 1
        noise_img = self._noise[self._n % len(self._noise)]
        frame += noise_img if scale == 1.0 else (noise_img * scale).astype(np.int16)
        return np.clip(frame, 0, 255).astype(np.uint8)
