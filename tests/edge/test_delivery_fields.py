"""The delivery form's field parsers: every input gives a clean value or a FieldError with a Chinese reason."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge import delivery_fields as f
from edge.visitor_fields import FieldError

PARSERS = {"company": f.parse_company, "count": f.parse_count, "courier_phone": f.parse_courier_phone,
           "note": f.parse_note, "household": f.parse_household, "name": f.parse_pickup_name}
anything = st.one_of(st.text(max_size=80), st.integers(), st.none(), st.booleans(), st.floats(),
                     st.lists(st.integers(), max_size=3))


def _no_control(value: str) -> bool:
    return not any(unicodedata.category(ch)[0] == "C" for ch in value)


@pytest.mark.parametrize("field", sorted(PARSERS))
@given(value=anything)
def test_every_parser_returns_a_clean_value_or_says_why_in_chinese(field, value):
    try:
        clean = PARSERS[field](value)
    except FieldError as exc:
        assert exc.field == field and exc.zh and any("\u4e00" <= ch <= "\u9fff" for ch in exc.zh) and exc.en
        return
    if isinstance(clean, str):
        assert _no_control(clean) and clean == clean.strip()
    else:
        assert 1 <= clean <= f.COUNT_MAX


@given(st.sampled_from(f.COMPANIES))
def test_a_tapped_company_is_kept(company):
    assert f.parse_company(company) == company


@given(st.text(alphabet=st.characters(categories=["Lo"]), min_size=1, max_size=f.COMPANY_MAX))
def test_other_with_a_name_is_kept_with_its_prefix(name):
    name = unicodedata.normalize("NFC", name)  # compatibility ideographs become their unified form
    assert f.parse_company(f"其他：{name}") in (name, f"其他：{name}")


@pytest.mark.parametrize("bad", ["其他", "其他：", " ", "", "x" * (f.COMPANY_MAX + 1), "快递\x00", "<b>"])
def test_a_bare_other_or_a_bad_company_is_refused(bad):
    with pytest.raises(FieldError) as exc:
        f.parse_company(bad)
    assert exc.value.field == "company"


@given(st.integers(min_value=1, max_value=f.COUNT_MAX))
def test_counts_in_range_are_kept_as_numbers_or_digits(n):
    assert f.parse_count(n) == n == f.parse_count(str(n)) == f.parse_count(str(n).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")))


@pytest.mark.parametrize("bad", [0, -1, f.COUNT_MAX + 1, 10**30, "0", "1000", "1.5", 2.0, True, "", None, "二"])
def test_a_count_of_zero_or_absurd_or_not_a_number_is_refused(bad):
    with pytest.raises(FieldError, match="count"):
        f.parse_count(bad)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobile_numbers_are_kept_and_separators_dropped(phone):
    assert f.parse_courier_phone(phone) == phone == f.parse_courier_phone(f"{phone[:3]}-{phone[3:7]} {phone[7:]}")


@pytest.mark.parametrize("bad", ["1234", "138001380001234567", "138abc", "电话", "1380013800\x00"])
def test_bad_phones_are_refused(bad):
    with pytest.raises(FieldError) as exc:
        f.parse_courier_phone(bad)
    assert exc.value.zh == "快递员电话应为5到15位数字"


@pytest.mark.parametrize("bad", ["生鲜\x1b[31m", "a\nb", "药" * (f.NOTE_MAX + 1), "\u202e反转"])
def test_notes_with_control_characters_or_too_long_are_refused(bad):
    with pytest.raises(FieldError, match="note"):
        f.parse_note(bad)


@pytest.mark.parametrize(("typed", "clean"), [("3-2-401", "3-2-401"), (" ３-２-４０１ ", "3-2-401"),
                                              ("5栋1单元302", "5栋1单元302")])
def test_household_numbers(typed, clean):
    assert f.parse_household(typed) == clean


@pytest.mark.parametrize("bad", ["", "3 2 401", "3-2-401;DROP", "1" * 31, "3-2\x00"])
def test_bad_household_numbers_are_refused(bad):
    with pytest.raises(FieldError, match="household"):
        f.parse_household(bad)
