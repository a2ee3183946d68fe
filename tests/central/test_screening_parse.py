"""The screening register's value parsers (central.screening_parse): Hypothesis for dates, train/flight numbers,
phones, categories; every refusal has a Chinese reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from central.screening_parse import (
    household_candidates,
    parse_category,
    parse_date,
    parse_phone,
    parse_text,
    parse_travel,
    severest,
    travel_kind,
)

TODAY = date(2022, 4, 20)
days = st.dates(min_value=date(2019, 1, 1), max_value=TODAY)


def _chinese(reason: str | None) -> bool:
    return reason is not None and any("\u4e00" <= ch <= "\u9fff" for ch in reason.split(" / ")[0])


@given(days)
def test_dates_in_every_written_form(day: date) -> None:
    forms = [f"{day.year}/{day.month}/{day.day}", day.isoformat(), f"{day.year}.{day.month}.{day.day}",
             f"{day.year}年{day.month}月{day.day}日", day.strftime("%Y%m%d"), f"{day.year}-{day.month}-{day.day} 08:30",
             f"{day:%Y/%m/%d %H:%M:%S}", datetime(day.year, day.month, day.day, 9, 0), day,
             f"{day.year}／{day.month:02d}／{day.day:02d}"]
    for form in forms:
        assert parse_date(form, TODAY) == (day.isoformat(), None), form


@given(st.dates(min_value=TODAY - timedelta(days=300), max_value=TODAY + timedelta(days=60)))
def test_a_month_and_day_take_the_nearest_year_not_far_ahead(day: date) -> None:
    if day.month == 2 and day.day == 29:
        return
    value, why = parse_date(f"{day.month}月{day.day}日", TODAY)
    assert why is None and value == day.isoformat()
    assert parse_date(f"{day.month}/{day.day}", TODAY)[0] == day.isoformat()


@given(st.text(max_size=30))
def test_any_text_gives_a_day_or_a_chinese_reason(text: str) -> None:
    value, why = parse_date(text, TODAY)
    assert (value is not None) != (why is not None)
    if why:
        assert _chinese(why)
    elif value:
        assert date(2019, 1, 1) <= date.fromisoformat(value) <= TODAY + timedelta(days=60)


def test_impossible_far_and_early_dates_are_refused_with_reasons() -> None:
    for text, word in (("2022/2/30", "没有这一天"), ("2030-01-01", "将来"), ("2001-01-01", "太早"),
                       ("昨天", "无法识别"), ("13月3日", "没有这一天")):
        value, why = parse_date(text, TODAY)
        assert value is None and why is not None and word in why, text
    assert parse_date("", TODAY) == ("", None) and parse_date(None, TODAY) == ("", None)


@given(st.sampled_from("GDKZTCLYS"), st.integers(1, 9999), st.sampled_from(["", "次", " 次"]),
       st.booleans())
def test_train_numbers(letter: str, number: int, tail: str, lower: bool) -> None:
    text = f"{letter.lower() if lower else letter}{number}{tail}"
    assert parse_travel(text) == (f"{letter}{number}", None)
    assert travel_kind(f"{letter}{number}") == "train"


@given(st.sampled_from(["CA", "MU", "CZ", "HU", "3U", "9C", "ZH", "MF"]), st.integers(1, 9999), st.booleans())
def test_flight_numbers(airline: str, number: int, spaced: bool) -> None:
    text = f"{airline} {number}" if spaced else f"{airline.lower()}{number}"
    assert parse_travel(text) == (f"{airline}{number}", None)
    assert travel_kind(f"{airline}{number}") == "flight"


def test_several_legs_ways_without_numbers_and_bad_numbers() -> None:
    assert parse_travel("G1234/CA1234") == ("G1234 / CA1234", None)
    assert parse_travel("D12、K1") == ("D12 / K1", None)
    assert parse_travel("Ｇ１２３４") == ("G1234", None)
    assert parse_travel("自驾") == ("自驾", None)
    assert parse_travel("") == ("", None)
    for bad in ("G12345", "火车", "ABC1234", "G", "/"):
        value, why = parse_travel(bad)
        assert value is None and _chinese(why) and "车次" in (why or ""), bad


@given(st.text(max_size=30))
def test_any_travel_text_gives_a_value_or_a_chinese_reason(text: str) -> None:
    value, why = parse_travel(text)
    assert (value is not None) != (why is not None)
    assert why is None or _chinese(why)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["{}", "+86 {}", "0086{}", "{} "]))
def test_mobile_numbers_are_normalised(phone: str, form: str) -> None:
    written = form.format(phone[:3] + " " + phone[3:7] + "-" + phone[7:]) if "+" in form else form.format(phone)
    assert parse_phone(written) == (phone, None)


def test_bad_and_missing_phones_have_reasons() -> None:
    assert parse_phone(13812345678.0) == ("13812345678", None)
    assert parse_phone("010-12345678") == ("01012345678", None)
    for bad in ("", "123", "1381234567", "138123456789", "电话", None):
        value, why = parse_phone(bad)
        assert value is None and _chinese(why), bad


def test_categories_texts_and_households() -> None:
    assert parse_category("密切接触者") == ("close_contact", None)
    assert parse_category("次密接") == ("secondary_contact", None)
    assert parse_category("返京人员") == ("returnee", None)
    assert parse_category("") == ("", None)
    assert parse_category("游客")[0] is None
    assert severest(["returnee", "secondary_contact", "close_contact"]) == "close_contact"
    assert severest([]) == "other"
    assert parse_text("  张  三 ") == ("张 三", None)
    assert parse_text("x" * 201)[0] is None
    assert household_candidates("3号楼2单元401室") == ["3号楼2单元401室", "3-2-401"]
    assert household_candidates("3-2-401") == ["3-2-401", "3-2-401"]
    assert household_candidates("") == []


@given(st.lists(st.tuples(st.sampled_from(["13800000001", "13800000002", "13800000003"]),
                          st.sampled_from(["", "张三", "李四"]), st.sampled_from(["", "returnee", "close_contact"])),
                max_size=12))
def test_merge_by_phone_keeps_one_row_per_phone_with_the_latest_values(items) -> None:
    from central.screening import ScreenRow, merge_by_phone

    rows = [ScreenRow(phone, name=name, category=cat, row_no=i) for i, (phone, name, cat) in enumerate(items)]
    merged = merge_by_phone(rows)
    assert [m.phone for m in merged] == list(dict.fromkeys(r.phone for r in rows))
    for m in merged:
        mine = [r for r in rows if r.phone == m.phone]
        assert m.row_no == mine[0].row_no
        assert m.name == next((r.name for r in reversed(mine) if r.name), "")
        cats = [r.category for r in mine if r.category]
        assert m.category == (severest(cats) if cats else "")
