"""QR decoding of frames: both decoders, the scan window, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drivers.camera import render_code, rotate_patch
from edge.decode import DecodeError, QrDecoder, to_gray, window_pixels

TEXT = "GP1:6BFOXN*TS0BI$ZDFRH5:OWS1Z4E5"


def frame_with_code(text: str = TEXT, at: tuple[int, int] = (320, 240), angle: float = 0.0) -> np.ndarray:
    """A 640x480 grey frame with a QR code of ``text`` centred at ``at``."""
    frame = np.full((480, 640), 118, np.uint8)
    patch = render_code(text, 4)
    if angle:
        patch = rotate_patch(patch, angle, 118)
    h, w = patch.shape
    y, x = at[1] - h // 2, at[0] - w // 2
    frame[y:y + h, x:x + w] = patch
    return frame


@pytest.mark.parametrize("kind", ["zxing", "pyzbar"])
def test_both_decoders_read_a_plain_code_and_nothing_on_an_empty_frame(kind):
    dec = QrDecoder(kind)
    assert dec.decode(frame_with_code()) == [TEXT]
    assert dec.decode(np.full((480, 640), 118, np.uint8)) == []


def test_bgr_frames_are_accepted():
    bgr = cv2.cvtColor(frame_with_code(), cv2.COLOR_GRAY2BGR)
    assert QrDecoder("zxing").decode(bgr) == [TEXT]


def test_only_the_scan_window_is_decoded():
    frame = frame_with_code(at=(120, 240))  # left part of the frame
    assert QrDecoder("zxing", (0.0, 0.0, 0.5, 1.0)).decode(frame) == [TEXT]
    assert QrDecoder("zxing", (0.5, 0.0, 0.5, 1.0)).decode(frame) == []
    assert QrDecoder("zxing", (0.5, 0.0, 0.5, 1.0)).crop(frame).shape == (480, 320)


def test_zxing_reads_a_tilted_code():
    assert QrDecoder("zxing").decode(frame_with_code(angle=25)) == [TEXT]


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.float32), np.zeros((10, 10, 2), np.uint8), "frame",
                                 np.zeros((0, 5), np.uint8)])
def test_bad_frames_raise_a_decode_error(bad):
    with pytest.raises(DecodeError):
        to_gray(bad)


@given(st.integers(1, 4000), st.integers(1, 4000),
       st.tuples(*[st.floats(-1, 2, allow_nan=False)] * 4))
def test_window_pixels_always_lie_inside_the_frame(h, w, window):
    x0, y0, x1, y1 = window_pixels((h, w), window)
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64))))
def test_decoding_any_small_image_never_crashes(image):
    for kind in ("zxing", "pyzbar"):
        assert isinstance(QrDecoder(kind).decode(image), list)
