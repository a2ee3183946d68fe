"""Readings are never altered; the body range decides "no subject"."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.thermometer import Reading, body_temperature


@pytest.mark.parametrize(("object_c", "offset_c", "body_c"), [
    (36.5, 0.0, 36.5), (35.9, 0.8, 36.7), (30.0, 0.0, 30.0), (45.0, 0.0, 45.0), (29.99, 0.0, None),
    (45.01, 0.0, None), (25.0, 0.0, None), (29.5, 0.5, 30.0), (44.8, 0.5, None), (-40.0, 0.0, None),
])
def test_body_range_and_offset(object_c, offset_c, body_c):
    reading = Reading.measured(object_c, 20.0, "gy-mcu90614", b"", 1.0, offset_c)
    assert reading.object_c == object_c  # as measured
    assert reading.body_c == body_c
    assert reading.no_subject is (body_c is None)


def test_reading_is_frozen():
    reading = Reading.measured(36.5, None, "ascii-line", b"36.5", 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reading.object_c = 37.0  # type: ignore[misc]


@given(object_c=st.floats(-300, 300, allow_nan=False), offset_c=st.floats(-5, 5, allow_nan=False))
def test_body_is_none_or_in_range(object_c, offset_c):
    body = body_temperature(object_c, offset_c)
    assert body is None or 30.0 <= body <= 45.0
