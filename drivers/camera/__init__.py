"""Cameras: :class:`FrameSource` (V4L2, GStreamer, video file, image sequence) and :class:`SimCamera`.

``make_frame_source(config)`` picks by ``config.source``: ``sim://`` the simulator, a
string with ``!`` a GStreamer pipeline, one with ``%`` an image sequence, ``/dev/video*``
or a number a V4L2 device, anything else a video file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.camera.sim import SimCamera, render_code, rotate_patch
from drivers.camera.source import Frame, FrameSource, source_kind
from drivers.config import CameraConfig

if TYPE_CHECKING:  # drivers.interfaces imports drivers.camera.source, hence this package
    from drivers.interfaces import FrameSourceDevice


def make_frame_source(config: CameraConfig) -> FrameSourceDevice:
    """The frame source for ``config.source`` (not started yet)."""
    if source_kind(config.source) == "sim":
        return SimCamera(config)
    return FrameSource(config)


__all__ = ["Frame", "FrameSource", "SimCamera", "make_frame_source", "render_code", "rotate_patch", "source_kind"]
