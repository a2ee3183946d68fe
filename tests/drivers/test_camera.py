"""Frame sources: the simulated camera (decoded by zxing-cpp), image sequences and video files."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.camera import Frame, FrameSource, SimCamera, make_frame_source, source_kind
from drivers.config import CameraConfig
from tests.waiting import wait_until


def _decode(frame: Frame) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(frame.image)]


@pytest.mark.parametrize(("source", "kind"), [("sim://", "sim"), ("/dev/video0", "v4l2"), ("0", "v4l2"),
                                              ("libcamerasrc ! appsink", "gstreamer"), ("f/%03d.png", "sequence"),
                                              ("clip.avi", "file")])
def test_source_kinds(source, kind):
    assert source_kind(source) == kind


def test_sim_camera_shows_a_decodable_code_then_nothing():
    cam = make_frame_source(CameraConfig(source="sim://", fps=30))
    assert isinstance(cam, SimCamera)
    cam.start()
    try:
        blank = cam.latest(2)
        assert blank is not None and blank.image.shape == (480, 640) and blank.image.dtype == np.uint8
        assert _decode(blank) == []
        cam.present("GP1:通行证-0001", seconds=0.5)
        shown = cam.latest(2)
        shown = cam.latest(2)  # a frame captured after present()
        assert _decode(shown) == ["GP1:通行证-0001"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _decode(cam.latest(1)):
            pass
        assert _decode(cam.latest(1)) == []
        assert cam.status == "ok" and cam.status_text == "摄像头正常"
    finally:
        cam.stop()


def test_sim_camera_heavy_blur_defeats_the_decoder():
    cam = SimCamera(CameraConfig(source="sim://", fps=30))
    cam.start()
    try:
        cam.present("BLURRED", seconds=5, blur_px=9)
        cam.latest(2)
        assert _decode(cam.latest(2)) == []
        cam.present("ROTATED", seconds=5, rotate_deg=25, module_px=5)
        cam.latest(2)
        assert _decode(cam.latest(2)) == ["ROTATED"]
        with pytest.raises(ValueError):
            cam.present("X", wobble=3)
    finally:
        cam.stop()


def test_stale_frames_are_dropped_and_counted():
    cam = SimCamera(CameraConfig(source="sim://", fps=100))
    cam.start()
    try:
        first = cam.latest(2)
        assert wait_until(lambda: cam.frames_captured > first.seq + 3)  # newer frames came, none read
        newest = cam.latest(2)
    finally:
        cam.stop()
    assert newest.seq > first.seq + 1
    assert cam.dropped >= newest.seq - first.seq - 1 > 0
    assert cam.frames_captured >= newest.seq + 1


def _write_sequence(folder, n=5):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        img = np.full((120, 160, 3), i * 40, dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), img)


def test_image_sequence_loops_and_converts_to_gray(tmp_path):
    _write_sequence(tmp_path / "frames")
    src = FrameSource(CameraConfig(source=str(tmp_path / "frames" / "%03d.png"), fps=50, gray=True))
    src.start()
    try:
        frames = [src.latest(2) for _ in range(12)]
    finally:
        src.stop()
    assert all(f is not None and f.image.shape == (120, 160) for f in frames)
    levels = {int(f.image.mean()) for f in frames}
    assert len(levels) >= 3


def test_video_file(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(10):
        writer.write(np.full((120, 160, 3), i * 20, dtype=np.uint8))
    writer.release()
    src = make_frame_source(CameraConfig(source=str(path), fps=50))
    src.start()
    try:
        frame = src.latest(3)
    finally:
        src.stop()
    assert frame is not None and frame.image.shape == (120, 160, 3)


def test_missing_source_reports_then_reopens_when_it_appears(tmp_path):
    folder = tmp_path / "frames"
    src = FrameSource(CameraConfig(source=str(folder / "%03d.png"), fps=30))
    src.start()
    try:
        assert src.latest(0.3) is None
        assert src.status == "disconnected" and "未连接" in src.status_text
        _write_sequence(folder)
        assert src.latest(10) is not None
        assert src.status == "ok"
    finally:
        src.stop()


def test_device_vanishing_mid_capture_reopens(tmp_path):
    folder = tmp_path / "frames"
    _write_sequence(folder, n=3)
    src = FrameSource(CameraConfig(source=str(folder / "%03d.png"), fps=100))
    src.start()
    try:
        assert src.latest(3) is not None
        for png in folder.glob("*.png"):  # the "device" disappears: reads fail, the source is released
            png.unlink()
        assert wait_until(lambda: src.status == "disconnected")
        assert src.reopens >= 1
        _write_sequence(folder, n=3)  # ... and comes back
        assert src.latest(10) is not None
    finally:
        src.stop()


def test_sim_camera_shows_a_dark_mode_code_inverted():
    cam = SimCamera(CameraConfig(source="sim://", fps=30))
    cam.start()
    try:
        cam.present("DARK", seconds=5, invert=True)
        cam.latest(2)
        frame = cam.latest(2)
        inverted_only = zxingcpp.read_barcodes(frame.image, try_invert=False)
        assert inverted_only == [] or all(r.text != "DARK" for r in inverted_only)
        assert [r.text for r in zxingcpp.read_barcodes(frame.image, try_invert=True)] == ["DARK"]
    finally:
        cam.stop()
