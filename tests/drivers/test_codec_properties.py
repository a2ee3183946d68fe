"""Hypothesis properties of every codec: no crash on any input; frames in junk all recovered."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.catalog import CASES, CodecCase, clean_junk
from drivers.errors import CodecError

IDS = [case.name for case in CASES]


def _feed_in_chunks(decoder, data: bytes, cuts: list[int]) -> list:
    out, start = [], 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        out += decoder.feed(data[start:cut]) if cut >= start else []
        start = max(start, cut)
    return out


def _is_subsequence(wanted: list, got: list) -> bool:
    it = iter(got)
    return all(any(w == g for g in it) for w in wanted)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_any_bytes_never_raise(case: CodecCase, data: bytes, cuts: list[int]):
    decoder = case.decoder()
    try:
        messages = _feed_in_chunks(decoder, data, cuts)
    except CodecError:
        return  # the codec's own error type is allowed (ours never raise at all)
    assert decoder.stats.messages == len(messages)
    assert len(decoder.buffer) <= decoder.max_buffer


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), junks=st.lists(st.binary(max_size=300), min_size=1, max_size=6),
       cuts=st.lists(st.integers(0, 20000), max_size=10))
def test_frames_embedded_in_junk_are_all_recovered(case: CodecCase, rng: random.Random, junks: list[bytes],
                                                   cuts: list[int]):
    frames = [case.make_frame(rng) for _ in junks]
    pieces = zip(junks, frames, strict=True)
    stream = b"".join(clean_junk(case, junk) + case.separator + frame for junk, frame in pieces)
    decoder = case.decoder()
    got = [case.key(m) for m in _feed_in_chunks(decoder, stream, cuts)]
    assert _is_subsequence([case.frame_key(f) for f in frames], got)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=25, deadline=None)
@given(rng=st.randoms(use_true_random=False), cuts=st.lists(st.integers(0, 20000), max_size=20))
def test_split_points_do_not_change_the_result(case: CodecCase, rng: random.Random, cuts: list[int]):
    stream = b"".join(case.separator + case.make_frame(rng) for _ in range(3))
    whole = [case.key(m) for m in case.decoder().feed(stream)]
    split = [case.key(m) for m in _feed_in_chunks(case.decoder(), stream, cuts)]
    assert split == whole and len(whole) == 3
