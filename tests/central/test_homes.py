"""The household file's tables and member access (both backends)."""

from __future__ import annotations

import pytest

from central import homes
from central.db import open_db, transaction


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    yield d
    d.close()


def test_member_saved_read_and_updated(db) -> None:
    with transaction(db):
        homes.save_member(db, homes.Member("3-2-401", 0, name="张三", phone="13800138000", tenure="owner",
                                           flags=("elderly_alone", "chronic")), now=100.0)
        homes.save_member(db, homes.Member("3-2-401", 1, name="李四", tenure="tenant", landlord="张三"), now=100.0)
    assert homes.member(db, "3-2-401", 0) == homes.Member("3-2-401", 0, name="张三", phone="13800138000",
                                                          tenure="owner", flags=("elderly_alone", "chronic"))
    with transaction(db):
        homes.save_member(db, homes.Member("3-2-401", 0, name="张三丰"), now=200.0)
    assert [m.name for m in homes.members(db, "3-2-401")] == ["张三丰", "李四"]
    assert homes.member(db, "3-2-401", 5) is None
    assert db.execute("SELECT COUNT(*) FROM households WHERE household = '3-2-401'").fetchone()[0] == 1


def test_a_failing_timeline_source_does_not_hide_the_others(central_url):
    from central.db import open_db
    from central.timeline import household_timeline

    db = open_db(central_url)
    db.execute("INSERT INTO quarantines (household, person, first_day, last_day, start_ts, end_ts, set_at) "
               "VALUES ('3-2-401', NULL, '2026-11-20', '2026-12-03', 0, 1, 100)")
    events = household_timeline(db, "3-2-401", sources=("central.timeline:quarantine_events",
                                                        "central.timeline:no_such_source"))
    assert [e.kind for e in events] == ["source_failed", "quarantine_set"]
    assert events[0].alert and events[0].summary == "central.timeline"
