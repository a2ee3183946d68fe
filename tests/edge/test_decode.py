"""QR decoding of frames: both decoders, the scan window, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drivers.camera import render_code, rotate_patch
from edge.decode import DecodeError, QrDecoder, looks_like_code, to_gray, window_pixels

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


# The second chance (issue 20): dark-mode codes, high-resolution frames, and no extra work on empty frames.

def dark_mode(frame: np.ndarray) -> np.ndarray:
    """``frame`` as a dark-mode phone shows it: light modules on a dark screen."""
    return cv2.bitwise_not(frame)


@settings(max_examples=15, deadline=None)
@given(st.integers(-150, 150), st.integers(-100, 100), st.floats(0, 40))
def test_an_inverted_code_decodes_anywhere_at_any_angle(dx, dy, angle):
    frame = dark_mode(frame_with_code(at=(320 + dx, 240 + dy), angle=angle))
    dec = QrDecoder("zxing")
    assert dec.decode(frame) == [TEXT]
    assert dec.second_chances == 1


def test_without_the_second_chance_an_inverted_code_is_missed():
    assert QrDecoder("zxing", second_chance=False).decode(dark_mode(frame_with_code())) == []


def test_a_plain_code_is_read_in_the_first_pass():
    dec = QrDecoder("zxing")
    assert dec.decode(frame_with_code()) == [TEXT]
    assert dec.second_chances == 0 and dec.second is not None and dec.second.attempts == 0


@pytest.mark.parametrize("empty", [np.full((480, 640), 118, np.uint8),
                                   np.random.default_rng(1).normal(118, 3, (480, 640)).clip(0, 255).astype(np.uint8)])
def test_an_empty_frame_takes_the_fast_path_without_a_second_chance(empty):
    cv2.rectangle(empty, (60, 20), (580, 470), 70, 12)  # a door frame: straight edges are not a code
    dec = QrDecoder("zxing")
    assert not looks_like_code(empty)
    for _ in range(5):
        assert dec.decode(empty) == []
    assert dec.second_chances == 0 and dec.second is not None and dec.second.attempts == 0


def test_a_noise_frame_gets_one_bounded_second_chance_per_frame():
    noise = np.random.default_rng(2).integers(0, 256, (480, 640), dtype=np.uint8)
    dec = QrDecoder("zxing")
    assert dec.second is not None
    dec.second.budget = float("inf")  # every variant, however slow the machine (the budget: test_decode_phones)
    variants = len(dec.second.variants(dec.crop(noise)))
    for _ in range(4):
        assert dec.decode(noise) == []
    assert dec.second_chances == 4  # noise looks busy, so it gets its second chance ...
    assert dec.second.attempts == 4 * variants  # ... but each one tries every variant once and stops


def test_a_code_in_a_high_resolution_frame_is_read_downscaled():
    big = cv2.resize(frame_with_code(), (1920, 1440), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 2.0)  # a large, soft code
    assert QrDecoder("zxing", max_side=640).decode(big) == [TEXT]
    assert QrDecoder("zxing").decode(big) == [TEXT]


def test_pyzbar_gets_no_second_chance():
    dec = QrDecoder("pyzbar")
    assert dec.second is None and dec.decode(dark_mode(frame_with_code())) in ([], [TEXT])
    assert dec.second_chances == 0


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64))))
def test_the_gate_never_crashes_on_small_images(image):
    assert looks_like_code(image) in (True, False)
