"""Mainland plates (sync.plates): every valid form is taken and written one way, anything else gets a Chinese reason."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.plates import ENERGY, PROVINCES, SUFFIXES, PlateError, is_new_energy, normalise, parse_plate

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
province = st.sampled_from(PROVINCES)
letter = st.sampled_from(LETTERS)
digit = st.sampled_from(DIGITS)
alnum = st.sampled_from(LETTERS + DIGITS)


def _join(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


ordinary = _join(province, letter, alnum, alnum, alnum, alnum, st.one_of(alnum, st.sampled_from(SUFFIXES)))
small_nev = _join(province, letter, st.sampled_from(ENERGY), alnum, digit, digit, digit, digit)
large_nev = _join(province, letter, digit, digit, digit, digit, digit, st.sampled_from(ENERGY))
valid = st.one_of(ordinary, small_nev, large_nev)


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


@given(valid)
def test_every_valid_plate_is_taken_as_written(plate):
    assert parse_plate(plate) == plate
    assert is_new_energy(plate) == (len(plate) == 8)


@given(valid, st.sampled_from(["", " ", "·", "-", "\u3000"]), st.booleans(), st.booleans())
def test_full_width_lower_case_and_separators_are_normalised(plate, sep, wide, lower):
    typed = plate[:2] + sep + plate[2:]
    typed = typed.lower() if lower else typed
    typed = _full_width(typed) if wide else typed
    assert parse_plate(" " + typed + " ") == plate


@given(st.text(max_size=30))
def test_any_text_is_a_plate_or_refused_with_a_chinese_reason(text):
    try:
        plate = parse_plate(text)
    except PlateError as exc:
        assert exc.zh and any("\u4e00" <= ch <= "\u9fff" for ch in exc.zh) and exc.en
        return
    assert plate == normalise(text) and plate[0] in PROVINCES and len(plate) in (7, 8)
    assert "I" not in plate and "O" not in plate
    assert all(unicodedata.category(ch)[0] != "C" for ch in plate)


@given(_join(province, letter, st.text(alphabet=LETTERS + DIGITS, min_size=0, max_size=9)))
def test_the_length_decides_between_ordinary_and_new_energy(text):
    try:
        plate = parse_plate(text)
    except PlateError:
        return
    number = plate[2:]
    if len(number) == 6:
        assert re.fullmatch(f"[{ENERGY}][A-Z0-9][0-9]{{4}}|[0-9]{{5}}[{ENERGY}]", number)
    else:
        assert len(number) == 5


@pytest.mark.parametrize(("typed", "plate"), [
    ("京A12345", "京A12345"), ("粤ＢＤ１２３４５", "粤BD12345"), ("沪a·12345d", "沪A12345D"),
    ("京A1234学", "京A1234学"), ("粤Z1234港", "粤Z1234港"), ("粤Z1234澳", "粤Z1234澳"),
    ("苏E1234挂", "苏E1234挂"), ("川A1234警", "川A1234警"),
    ("京AF12345", "京AF12345"), ("京ADA1234", "京ADA1234"), ("浙A 12345F", "浙A12345F"),
])
def test_known_plates(typed, plate):
    assert parse_plate(typed) == plate


@pytest.mark.parametrize(("typed", "reason"), [
    ("", "请填写车牌号"), ("   ", "请填写车牌号"), ("A12345", "省份简称"), ("港A12345", "省份简称"),
    ("京112345", "发牌机关字母"), ("京AI2345", "没有字母I和O"), ("京A1234", "位数不对"), ("京A123456789", "位数不对"),
    ("京AX12345", "新能源车牌"), ("京A1234X5", "新能源车牌"), ("京A1学234", "只能是字母和数字"), ("京A1234使", "使馆"),
    ("使123456", "使馆"), ("沪A1234领", "领馆"), ("WJ京12345", "武警"), ("VA12345", "军队"), ("军A12345", "军队"),
    ("京A12\x0045", "控制字符"), ("京" * 40, "太长"),
])
def test_refusals_say_why_in_chinese(typed, reason):
    with pytest.raises(PlateError) as caught:
        parse_plate(typed)
    assert reason in caught.value.zh
