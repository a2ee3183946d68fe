"""A visitor's host household: typed as a household number, checked against the households the gate's lists
carry (list format 4); a quarantined host is refused and logged (issue 13), an unknown one is refused before
anything is measured or logged."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.guard_desk import VISITOR_REPEAT_S
from edge.visitor_fields import HOUSEHOLD_MAX, FieldError, check_host, parse_household
from sync import lists as edge_lists
from sync.passes.model import Lists
from tests.edge.test_guard_desk import make


@given(st.text(max_size=40))
def test_a_household_is_a_short_number_or_a_reason_in_chinese(text):
    try:
        value = parse_household(text)
    except FieldError as exc:
        assert exc.field == "host_household" and "被访住户" in exc.zh
        return
    assert 0 < len(value) <= HOUSEHOLD_MAX and value == value.strip()
    assert all(ch.isalnum() or ch in "-#/._" for ch in value)


@pytest.mark.parametrize(("typed", "clean"), [("3-2-401", "3-2-401"), (" ３－２－４０１ ", "3-2-401"),
                                              ("A栋1201", "A栋1201"), ("5#302", "5#302")])
def test_household_numbers_as_typed_are_taken(typed, clean):
    assert parse_household(typed) == clean


@pytest.mark.parametrize("bad", ["", "3 2 401", "3-2\n401", "<b>", "1" * (HOUSEHOLD_MAX + 1), "3-2-401;drop"])
def test_malformed_households_are_refused(bad):
    with pytest.raises(FieldError):
        parse_household(bad)


def test_the_check_needs_lists_that_carry_households():
    check_host("9-9-909", Lists())  # an older central sends no households: nothing to check against
    known = Lists.of(households={"3-2-401"})
    check_host("3-2-401", known)
    with pytest.raises(FieldError, match="not on this community's list") as err:
        check_host("9-9-909", known)
    assert "9-9-909" in err.value.zh and err.value.field == "host_household"


def _households_page(held: int, *households: str, quarantined: str | None = None, now: float = 0.0) -> dict:
    changes = [{"v": held + i, "op": "household", "household": h} for i, h in enumerate(households, start=1)]
    if quarantined:
        changes.append({"v": held + len(changes) + 1, "op": "quarantine", "household": quarantined,
                        "start_ts": now - 86400, "end_ts": now + 5 * 86400})
    return {"format": edge_lists.PAGE_FORMAT_4, "version": held + len(changes), "since": held, "snapshot": False,
            "issued_at": time.time(), "changes": changes}


def test_an_unknown_host_is_refused_before_anything_is_logged_and_a_quarantined_one_is_logged(opened_store):
    desk, store, gate, _, clock, measured = make(opened_store)
    assert desk.start_shift("g7", "246810")
    edge_lists.apply_page(store.db, _households_page(edge_lists.meta(store.db).version, "3-2-401", "2-3-401",
                                                     quarantined="2-3-401", now=clock.time()))
    count = lambda: store.db.execute("SELECT count(*) FROM entries WHERE event = 'visitor'").fetchone()[0]  # noqa: E731
    with pytest.raises(FieldError, match="9-9-909"):
        desk.register_visitor("g7", "张伟", "13800138000", "9-9-909", "探亲", None)
    assert count() == 0 and measured == []  # nothing measured, nothing logged
    ok = desk.register_visitor("g7", "张伟", "13800138000", "3-2-401", "探亲", 36.5)
    assert ok.decision == "pass"
    clock.advance(VISITOR_REPEAT_S + 1)
    refused = desk.register_visitor("g7", "李娜", "13900139000", "2-3-401", "探亲", 36.5)
    assert (refused.decision, refused.code) == ("refuse", "host_quarantined") and count() == 2
