"""The self-report token and the temperature parser: pure functions, checked with Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central import care, selfreport
from gatepass.clock import ManualClock

KEY = bytes(range(32))
FIRST, LAST = "2026-11-27", "2026-12-10"

ids = st.integers(min_value=1, max_value=10**12 - 1)
persons = st.integers(min_value=0, max_value=10**6)


@given(ids, persons)
def test_a_token_opens_its_own_person_and_period(qid, person):
    token = selfreport.make_token(KEY, qid, person, FIRST, LAST)
    assert len(token) <= selfreport.MAX_TOKEN
    assert selfreport.check_token(KEY, token, FIRST, LAST) == selfreport.Subject(qid, person)
    with pytest.raises(selfreport.TokenError):
        selfreport.check_token(KEY, token, FIRST, "2026-12-11")  # the period changed
    with pytest.raises(selfreport.TokenError):
        selfreport.check_token(bytes(32), token, FIRST, LAST)  # another server's secret


@given(ids, persons, st.data())
def test_any_change_to_a_token_is_refused(qid, person, data):
    token = selfreport.make_token(KEY, qid, person, FIRST, LAST)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    ch = data.draw(st.sampled_from("0123456789abcXYZ-_"))
    changed = token[:i] + ch + token[i + 1:]
    if changed != token:
        with pytest.raises(selfreport.TokenError):
            selfreport.check_token(KEY, changed, FIRST, LAST)


@given(ids, persons)
def test_a_token_has_one_spelling(qid, person):
    token = selfreport.make_token(KEY, qid, person, FIRST, LAST)
    with pytest.raises(selfreport.TokenError):
        selfreport.check_token(KEY, "0" + token, FIRST, LAST)


@given(st.text(max_size=200))
def test_the_token_parser_never_crashes(text):
    try:
        subject, sig = selfreport.parse_token(text)
    except selfreport.TokenError as exc:
        assert "链接无效" in str(exc)
    else:
        assert subject.quarantine_id >= 0 and len(sig) == 22


@given(st.text(max_size=40))
def test_the_temperature_parser_gives_a_value_in_range_or_a_chinese_reason(text):
    try:
        value = care.parse_temp(text)
    except care.CareError as exc:
        assert "体温" in str(exc)
    else:
        assert care.MIN_C <= value <= care.MAX_C and round(value, 1) == value


@given(st.decimals(min_value=34, max_value=43, places=1))
def test_every_plausible_reading_is_read_back(value):
    assert care.parse_temp(str(value)) == float(value)
    assert care.parse_temp(f"{value}℃") == float(value)


def test_limits_count_per_token_and_per_address_and_failed_checks():
    clock = ManualClock()
    limits = selfreport.Limits(clock, address_limit=5, token_limit=3, bad_limit=2)
    assert [limits.admit("1.2.3.4", "t") for _ in range(3)] == [None, None, None]
    assert limits.admit("1.2.3.4", "t") is not None  # the token's limit
    assert limits.admit("1.2.3.4", "u") is None
    assert limits.admit("1.2.3.4", "v") is not None  # the address's limit (5 counted)
    assert limits.admit("5.6.7.8", "w") is None
    assert limits.failed("5.6.7.8") is None and limits.failed("5.6.7.8") is not None
    assert limits.admit("5.6.7.8", "x") is not None  # locked out after failed checks
    clock.advance(selfreport.WINDOW_S + selfreport.LOCKOUT_S + 1)
    assert limits.admit("5.6.7.8", "x") is None
