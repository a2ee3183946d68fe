"""Decoding what phones show (issue 20): one test per phone-screen condition of the bench's hard set, on a few
frames generated deterministically by ``bench/phone_frames.py``, plus the bounds of the second chance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, scalar_dtypes

from bench.bench_scan import code_frame
from bench.phone_frames import Shot, at_distance, render, scene
from edge.decode import VARIANTS, DecodeError, QrDecoder, SecondChance, looks_like_code

TEXT = "GP1:" + "6BFOXN*TS0BI$ZDFRH5:OWS1Z4E5" * 4  # as long as a real pass (QR version 7), as in the bench
WINDOW = (0.2, 0.1, 0.6, 0.8)  # the bench's scan window
SEEDS = (0, 1, 2)


def old_path() -> QrDecoder:
    """The decoder before issue 20: one pass, try_invert=False, no retry, no downscaling."""
    return QrDecoder("zxing", WINDOW, second_chance=False, max_side=1 << 30)


def frames(shot: Shot) -> list[np.ndarray]:
    """A few frames of ``shot``: the same phone, each with its own scene, noise and glare spot."""
    return [render(TEXT, shot, np.random.default_rng(seed)) for seed in SEEDS]


def far(width: int, height: int, cm: float, **kw: object) -> Shot:
    return Shot(size=(width, height), code_px=at_distance(cm, width), **kw)  # type: ignore[arg-type]


# condition -> (shot, whether the old path already reads it: the second chance must not lose what it read)
CONDITIONS: dict[str, tuple[Shot, bool]] = {
    "dark mode (inverted)": (Shot(dark=True, defocus=0.6, roll=10), False),
    "screen moiré": (Shot(moire=0.45, roll=10, code_px=140), False),
    "screen glare": (Shot(glare=200, roll=-12, tilt=0.1), True),
    "60 cm, 1280x720": (far(1280, 720, 60, roll=5), True),
    "30 cm, 1280x720": (far(1280, 720, 30, roll=-15), True),
    "45 cm, 1920x1080": (far(1920, 1080, 45, roll=12, defocus=1.5), True),
    "out of focus": (Shot(defocus=1.9, roll=5), False),
    "fast motion": (Shot(motion=5.0, motion_deg=30, roll=-8), True),
    "60 cm, out of focus": (Shot(code_px=95, defocus=1.1, roll=3), False),
    "dark mode + fast motion": (Shot(dark=True, motion=4.0, motion_deg=120, roll=15), False),
    "dark mode + glare": (Shot(dark=True, glare=160, roll=-5), False),
    "moiré + out of focus": (Shot(moire=0.3, defocus=1.8, roll=20), False),
    "glare + fast motion": (Shot(glare=150, motion=4.0, motion_deg=60), True),
    "60 cm, 1920x1080, out of focus, dark": (far(1920, 1080, 55, dark=True, defocus=3.0, roll=-10), False),
}


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_each_phone_condition_decodes(condition):
    shot, old_reads = CONDITIONS[condition]
    dec = QrDecoder("zxing", WINDOW)
    for frame in frames(shot):
        assert dec.decode(frame) == [TEXT], condition
    if not old_reads:  # the old path misses these: the second chance is what reads them
        assert dec.second_chances == len(SEEDS)
        assert [old_path().decode(f) for f in frames(shot)] != [[TEXT]] * len(SEEDS)


@pytest.mark.parametrize("shot", [Shot(moire=0.45, roll=10, code_px=140), Shot(moire=0.5, roll=25, code_px=140),
                                  Shot(moire=0.3, defocus=1.8, roll=20)])
def test_moiré_and_blur_are_read_by_a_fixed_threshold_variant(shot):
    """The local-average binarizer gives up on a screen's pixel grid; a median or unsharp mask + fixed threshold
    reads it (the second chance before this change, local average only, missed these frames)."""
    dec = QrDecoder("zxing", WINDOW)
    assert dec.second is not None
    for frame in frames(shot):
        assert dec.decode(frame) == [TEXT]
        assert "fixed threshold" in dec.second.last


def test_a_far_soft_code_in_a_small_window_is_read_at_double_size():
    """~2 px per module and out of focus: only enlarged and sharpened does it read (the variant is skipped on
    windows larger than its ``up_to``, which keeps a high-resolution frame's retry bounded)."""
    dec = QrDecoder("zxing", WINDOW)
    assert dec.second is not None
    for frame in frames(Shot(code_px=95, defocus=1.1, motion=3, motion_deg=20)):
        assert dec.decode(frame) == [TEXT]
        assert dec.second.last == "double size, unsharp 3"


@pytest.mark.parametrize("seed", [4, 5])
def test_a_located_but_undecoded_code_gets_a_second_chance_the_texture_test_misses(seed):
    """A very faint card: too little contrast for the texture test, but zxing-cpp finds its finder patterns."""
    frame = code_frame(np.random.default_rng(seed), contrast=0.06)
    dec = QrDecoder("zxing", WINDOW)
    assert not looks_like_code(dec.crop(frame))
    assert dec.decode(frame) == [TEXT]
    assert dec.second_chances == 1


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (1920, 1080)])
def test_an_empty_frame_takes_the_single_cheap_path(size):
    dec = QrDecoder("zxing", WINDOW)
    rng = np.random.default_rng(4)
    for _ in range(5):
        empty = np.clip(scene(rng, size) + rng.normal(0, 3, (size[1], size[0])), 0, 255).astype(np.uint8)
        assert dec.decode(empty) == []
    assert dec.second_chances == 0 and dec.second is not None and dec.second.attempts == 0


def test_a_hopeless_frame_at_1080p_retries_once_on_a_bounded_window():
    noise = np.random.default_rng(5).integers(0, 256, (1080, 1920), dtype=np.uint8)
    dec = QrDecoder("zxing", WINDOW)
    assert dec.second is not None
    dec.second.budget = float("inf")  # every variant, however slow the machine
    assert dec.decode(noise) == []
    assert dec.second_chances == 1  # every variant that fits a window of retry_side ran once, nothing more:
    assert dec.second.attempts == len([v for v in VARIANTS if v.up_to >= dec.retry_side]) < len(VARIANTS)
    assert max(dec.crop(noise).shape) > dec.retry_side  # the retry ran on the window shrunk to retry_side


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(scalar_dtypes(), array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=24)))
@example(np.zeros((0, 5, 3), np.uint8))  # an empty colour frame: OpenCV's conversion asserted on it
@example(np.zeros((4, 0, 4), np.uint8))
def test_decode_never_crashes_on_any_array(image):
    """Anything the camera might hand over: a list of texts, or DecodeError (the scan loop skips the frame)."""
    try:
        assert QrDecoder("zxing").decode(image) == []
    except DecodeError:
        assert image.dtype != np.uint8 or image.ndim not in (2, 3) or 0 in image.shape or (
            image.ndim == 3 and image.shape[2] not in (1, 3, 4))


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4]))))
def test_decode_never_raises_on_any_uint8_frame(image):
    dec = QrDecoder("zxing", WINDOW)
    assert dec.decode(image) == []
    assert QrDecoder("zxing").decode(np.ascontiguousarray(image[::-1, ::2])) == []


def test_the_second_chance_stops_starting_variants_once_its_budget_is_spent():
    ticks = iter(range(100))
    noise = np.random.default_rng(6).integers(0, 256, (480, 640), dtype=np.uint8)
    chance = SecondChance(budget=1.5, clock=lambda: float(next(ticks)))  # one second passes per look at the clock
    assert chance.read(noise) == []
    assert chance.attempts == 1  # the first variant starts at once; by the next look 2 s have gone
