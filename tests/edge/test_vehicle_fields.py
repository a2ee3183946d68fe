"""The vehicle form's parsers and the lane rule (edge.vehicle_fields), and the gate's vehicle book."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.vehicle_book import VehicleBook, VehicleVisit
from edge.vehicle_fields import (
    NAME_MAX,
    PURPOSES,
    VehicleForm,
    field_errors,
    lane_purposes,
    name_field,
    phone_field,
    purpose_refusal,
)
from edge.visitor_fields import FieldError
from sync.devicedb import open_db


@given(st.text(max_size=30))
def test_a_phone_is_a_mainland_mobile_or_landline_or_refused_in_chinese(text):
    try:
        value = phone_field(text)
    except FieldError as exc:
        assert exc.field == "phone" and ("电话" in exc.zh)
        return
    assert value == "" or re.fullmatch(r"1[3-9][0-9]{9}|0[1-9][0-9]{9,11}", value)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086"]),
       st.sampled_from(["", " ", "-"]))
def test_every_mobile_is_taken_with_its_country_code_and_separators_dropped(mobile, prefix, sep):
    typed = prefix + mobile[:3] + sep + mobile[3:7] + sep + mobile[7:]
    assert phone_field(typed) == mobile


@given(st.text(max_size=40))
def test_a_name_is_short_plain_text_or_refused_in_chinese(text):
    try:
        value = name_field(text)
    except FieldError as exc:
        assert exc.field == "name" and "姓名" in exc.zh
        return
    assert len(value) <= NAME_MAX and not any(unicodedata.category(ch)[0] == "C" or ch.isdigit() for ch in value)


def test_every_refused_field_says_why_in_chinese():
    with pytest.raises(ValidationError) as caught:
        VehicleForm(plate="京AO1234", purpose="other", name="张\u00003", phone="123")
    fields = field_errors(caught.value)
    assert set(fields) == {"plate", "name", "phone"} and "I和O" in fields["plate"]["zh-CN"]
    with pytest.raises(ValidationError) as caught:
        VehicleForm(plate="京A12345", purpose="bogus", name="张三", phone="13800138000")
    assert field_errors(caught.value)["purpose"]["zh-CN"] == "用途填写有误"


@given(st.booleans(), st.lists(st.sampled_from([*PURPOSES, "x"])), st.one_of(
    st.none(), st.lists(st.sampled_from([*PURPOSES, "y"])), st.just("junk")))
def test_central_names_the_lane_or_the_gate_settings_do(lane, local, central):
    policy = {} if central is None else {"vehicle_lanes": {"gate-1": central, "other": ["works"]}}
    allowed = lane_purposes(lane, local, policy, "gate-1")
    if central is None:
        assert allowed == (frozenset(local) - {"x"} if lane else frozenset())
    else:
        assert allowed == (frozenset(central) - {"y"} if isinstance(central, list) else frozenset())
    for purpose in PURPOSES:
        refusal = purpose_refusal(purpose, allowed)
        assert (refusal is None) == (purpose in allowed)
        if refusal:
            assert PURPOSES[purpose]["zh-CN"] in refusal[0]


def test_the_book_lists_vehicles_inside_and_keeps_them_28_days(tmp_path):
    db = open_db(tmp_path / "edge.db")
    try:
        book = VehicleBook(db)
        now = 1_795_000_000.0
        book.add(VehicleVisit("a", "京AD12345", "delivery", "person", "刘", "13600001234", None, now - 600, None))
        book.add(VehicleVisit("b", "京A12345", "works", "person", "陈", "13500001234", None, now - 29 * 86400, None))
        assert [v.uuid for v in book.inside(now)] == ["a"] and book.inside(now)[0].as_json(now)["minutes_in"] == 10
        assert book.purge(now) == 1 and book.get("b") is None and book.get("a") is not None
        book.left("a", now)
        assert book.inside(now) == []
    finally:
        db.conn.close()
