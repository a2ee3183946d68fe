"""Frame sources: a capture thread that keeps only the newest frame.

:class:`FrameSource` reads from ``cv2.VideoCapture`` on V4L2 devices (``cv2.CAP_V4L2``),
GStreamer pipelines (``cv2.CAP_GSTREAMER``; the PyPI wheels have no GStreamer, Debian's
``python3-opencv`` has), video files and image sequences (``frames/%03d.png``). Files and
sequences are played at the configured fps and start again at the end. A device that
fails (unplugged, driver error) is released and reopened with backoff (0.25 s doubling to
2 s). ``latest(timeout)`` returns the newest frame not yet returned; frames nobody took in
time are dropped and counted in ``dropped`` (a one-slot queue: a stale frame is worse
than none at a gate).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from drivers.config import CameraConfig
from drivers.texts import status_text
from drivers.worker import stop_worker

if TYPE_CHECKING:
    import cv2

log = logging.getLogger(__name__)

FAILS_BEFORE_REOPEN = 10


@dataclass
class Frame:
    """One captured image (uint8, HxW gray or HxWx3 BGR) with its capture time."""

    image: np.ndarray = field(repr=False)
    t_monotonic: float
    seq: int


def source_kind(source: str) -> str:
    """"sim", "gstreamer", "sequence", "v4l2" or "file" for a ``CameraConfig.source`` string."""
    if source.startswith("sim://"):
        return "sim"
    if "!" in source:
        return "gstreamer"
    if "%" in source:
        return "sequence"
    if source.isdigit() or source.startswith("/dev/video") or source.startswith("/dev/v4l/"):
        return "v4l2"
    return "file"


class FrameSource:
    """Capture thread over ``cv2.VideoCapture``; see the module docstring."""

    stale_after_s = 2.0

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.kind = source_kind(config.source)
        self.frames_captured = 0
        self.dropped = 0
        self.reopens = 0
        self.last_error = ""
        self._slot: Frame | None = None
        self._returned_seq = -1
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: cv2.VideoCapture | None = None
        self._opened = False
        self._last_frame_t = 0.0
        self._opened_t = 0.0

    # -- public API ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the capture thread (it opens the source and keeps reopening it)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gatepass-camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the capture thread and release the source."""
        stop_worker(self._stop, self._cond, self._thread)
        self._thread = None
        self._release()

    def latest(self, timeout: float) -> Frame | None:
        """The newest frame not returned before, waiting up to ``timeout`` seconds; None if none came."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._slot is None or self._slot.seq <= self._returned_seq:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(left)
            self._returned_seq = self._slot.seq
            return self._slot

    @property
    def status(self) -> str:
        """"ok", "disconnected" (cannot open) or "no data" (open, no frames lately)."""
        if self._thread is None or not self._opened:
            return "disconnected"
        quiet = time.monotonic() - max(self._last_frame_t, self._opened_t)
        return "ok" if quiet <= max(self.stale_after_s, 3 / self.config.fps) else "no data"

    @property
    def status_text(self) -> str:
        """The status in plain zh-CN words."""
        return status_text("camera", self.status)

    # -- the source ------------------------------------------------------------------------------
    def _open(self) -> bool:
        import cv2

        src = self.config.source
        if self.kind == "v4l2":
            cap = cv2.VideoCapture(int(src) if src.isdigit() else src, cv2.CAP_V4L2)
        elif self.kind == "gstreamer":
            cap = cv2.VideoCapture(src, cv2.CAP_GSTREAMER)
        elif self.kind == "sequence":
            cap = cv2.VideoCapture(src, cv2.CAP_IMAGES)
        else:
            if not os.path.exists(src):
                self.last_error = f"{src} does not exist"
                return False
            cap = cv2.VideoCapture(src)
        if not cap.isOpened():
            cap.release()
            self.last_error = f"cannot open {src}" + (
                " (this OpenCV has no GStreamer; use Debian's python3-opencv)" if self.kind == "gstreamer" else "")
            return False
        if self.kind == "v4l2":
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, self.config.width),
                                (cv2.CAP_PROP_FRAME_HEIGHT, self.config.height), (cv2.CAP_PROP_FPS, self.config.fps),
                                (cv2.CAP_PROP_BUFFERSIZE, 1)):
                if not cap.set(prop, value):
                    log.warning("camera %s: the device refused property %d = %s", src, prop, value)
        self._cap = cap
        return True

    def _grab(self) -> np.ndarray | None:
        cap = self._cap
        if cap is None:
            return None
        ok, image = cap.read()
        if not ok and self.kind in ("file", "sequence"):
            cap.set(1, 0)  # CAP_PROP_POS_FRAMES: play again from the start
            ok, image = cap.read()
        return image if ok else None

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()
        self._opened = False

    def _paced(self) -> bool:
        """Sources that do not pace themselves (files, sequences, the simulator)."""
        return self.kind in ("file", "sequence", "sim")

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.25
        while not self._stop.is_set():
            try:
                opened = self._open()
            except Exception as exc:  # noqa: BLE001 - OpenCV raises cv2.error for odd sources
                self.last_error, opened = str(exc), False
            if not opened:
                log.warning("camera %s unavailable: %s; retrying in %.2f s", self.config.source, self.last_error,
                            backoff)
                self._stop.wait(backoff)
                backoff = min(2.0, backoff * 2)
                continue
            backoff = 0.25
            self._opened, self._opened_t = True, time.monotonic()
            log.info("camera %s opened (%s)", self.config.source, self.kind)
            self._capture_loop()
            self._release()
            if not self._stop.is_set():
                self.reopens += 1
                log.warning("camera %s stopped delivering frames; reopening", self.config.source)

    def _capture_loop(self) -> None:
        fails = 0
        period = 1.0 / self.config.fps
        next_t = time.monotonic()
        while not self._stop.is_set():
            if self._paced():
                delay = next_t - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                next_t = max(next_t + period, time.monotonic() - period)
            try:
                image = self._grab()
            except Exception as exc:  # noqa: BLE001
                log.debug("camera grab failed: %s", exc)
                image = None
            if image is None:
                fails += 1
                if fails >= FAILS_BEFORE_REOPEN:
                    return
                self._stop.wait(0.05)
                continue
            fails = 0
            self._publish(image)

    def _publish(self, image: np.ndarray) -> None:
        if self.config.gray and image.ndim == 3:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        now = time.monotonic()
        with self._cond:
            if self._slot is not None and self._slot.seq > self._returned_seq:
                self.dropped += 1
            self._slot = Frame(image, now, self.frames_captured)
            self.frames_captured += 1
            self._last_frame_t = now
            self._cond.notify_all()
