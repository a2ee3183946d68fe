"""Home-quarantine care: the quarantine with its source, temperatures, needs and notes (both backends)."""

from __future__ import annotations

from datetime import date

import pytest

from central import care, homes
from central.db import open_db, transaction
from central.passes import quarantine


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    yield d
    d.close()


def test_start_quarantine_places_it_for_the_gates_and_keeps_the_source(db) -> None:
    with transaction(db):
        homes.save_member(db, homes.Member("3-2-401", 1, name="张三"))
    qid = care.start_quarantine(db, household="3-2-401", person=1, first_day=date(2026, 11, 27),
                                last_day=quarantine.last_day_of(date(2026, 11, 27)), source="returnee",
                                origin_city="武汉", note="自驾返回", by="staff1")
    rec = care.record(db, qid)
    assert rec is not None and rec.active
    assert (rec.source, rec.origin_city, rec.q.person, rec.q.first_day, rec.q.last_day) == (
        "returnee", "武汉", 1, "2026-11-27", "2026-12-10")
    ops = quarantine.gate_ops(db, rec.q.start_ts)
    assert ops == [{"op": "quarantine", "household": "3-2-401", "person": 1, "start_ts": rec.q.start_ts,
                    "end_ts": rec.q.end_ts}]
    # placing it again changes the same record
    again = care.start_quarantine(db, household="3-2-401", person=1, first_day=date(2026, 11, 27),
                                  last_day=date(2026, 12, 3), source="close_contact", by="staff1")
    assert again == qid and care.record(db, qid).source == "close_contact"


@pytest.mark.parametrize("kwargs, words", [
    ({"source": "tourist"}, "来源"),
    ({"last_day": date(2026, 11, 1)}, "早于"),
    ({"last_day": date(2027, 6, 1)}, "最长"),
    ({"origin_city": "城" * 41}, "来源城市"),
    ({"household": " "}, "户号"),
])
def test_start_quarantine_refuses_bad_values_in_chinese(db, kwargs, words) -> None:
    args = {"household": "3-2-401", "person": None, "first_day": date(2026, 11, 27),
            "last_day": date(2026, 12, 10), "source": "other", "by": "s"} | kwargs
    with pytest.raises(care.CareError, match=words):
        care.start_quarantine(db, **args)
    assert db.execute("SELECT COUNT(*) FROM quarantines").fetchone()[0] == 0
