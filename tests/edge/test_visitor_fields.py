"""The visitor form's field parsers (edge.visitor_fields) and the gate's visitor book (edge.visitor_book)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.visitor_book import Visit, VisitorBook
from edge.visitor_fields import FieldError, parse_city, parse_id_last4
from sync.devicedb import open_db


@given(st.text(max_size=12))
def test_id_last4_is_three_digits_and_a_digit_or_x_or_a_reason_in_chinese(text):
    try:
        value = parse_id_last4(text)
    except FieldError as exc:
        assert exc.field == "id_last4" and "身份证后四位" in exc.zh
        return
    assert value == "" or (len(value) == 4 and value[:3].isdigit() and value.isascii() and value[3] in "0123456789X")


@given(st.from_regex(r"[0-9]{3}[0-9xX]", fullmatch=True), st.sampled_from(["", " ", "\u3000"]))
def test_every_valid_id_last4_is_taken_upper_cased(text, pad):
    assert parse_id_last4(pad + text + pad) == text.upper()


@pytest.mark.parametrize("bad", ["123", "12345", "x123", "12 3", "１２３X５"])
def test_malformed_id_digits_are_refused(bad):
    with pytest.raises(FieldError):
        parse_id_last4(bad)


@given(st.text(max_size=40))
def test_a_city_is_a_short_place_name_or_a_reason_in_chinese(text):
    try:
        value = parse_city(text)
    except FieldError as exc:
        assert exc.field == "from_city" and "来自城市" in exc.zh
        return
    assert len(value) <= 20 and value == value.strip()
    assert not any(ch.isdigit() or ord(ch) < 32 for ch in value)


def test_city_names_are_kept():
    assert parse_city(" 武汉 ") == "武汉" and parse_city("") == "" and parse_city("New  York") == "New York"


def test_the_book_forgets_visits_after_28_days(tmp_path):
    db = open_db(tmp_path / "edge.db")
    book = VisitorBook(db)
    now = 2_000_000_000.0
    book.add(Visit("old", "r1", "王", "138", "1-1-101", "探亲", now - 29 * 86400, None))
    book.add(Visit("new", "r2", "李", "139", "1-1-101", "探亲", now - 3600, None))
    assert book.purge(now) == 1 and book.get("old") is None and book.get("new") is not None
    assert book.latest("139").uuid == "new" and book.latest("138") is None
    assert [v.uuid for v in book.inside(now)] == ["new"]
