"""Quarantine records (issue 13 item 9): inclusive first/last days, individuals and households, release that
keeps the record, and list pages in both formats (gates not yet updated keep working)."""

from __future__ import annotations

from datetime import date

import pytest

from central.db import open_db
from central.passes import changelog, quarantine, store
from central.passes.errors import PassAdminError
from sync.lists import PAGE_FORMAT, PAGE_FORMAT_2

OPS_V1 = ("revoke", "unrevoke", "quarantine", "release", "key_add", "key_retire", "policy")


@pytest.fixture
def db(central_url):
    d = open_db(central_url)
    yield d
    d.close()


def _changes(db, since, fmt):
    return changelog.changes_since(db, since, fmt=fmt)["changes"]


def _old_gate_accepts(page: dict) -> None:
    """What a gate on list format 1 checks before it applies a page (its ``apply_page`` of before)."""
    assert page["format"] == PAGE_FORMAT
    for c in page["changes"]:
        assert c["op"] in OPS_V1
        if c["op"] == "quarantine":
            assert all(isinstance(c[k], str) for k in ("household", "start", "end"))
            assert all(isinstance(c[k], float) for k in ("start_ts", "end_ts"))
        if c["op"] == "release":
            assert isinstance(c["household"], str)


def test_the_last_day_is_inclusive_and_14_days_end_at_local_midnight_after_day_14(db):
    assert quarantine.last_day_of(date(2026, 11, 20)) == date(2026, 12, 3)
    quarantine.place(db, "3-2-401", date(2026, 11, 20), date(2026, 12, 3), tz="Asia/Shanghai")
    change = _changes(db, 0, 2)[0]
    assert change == {"op": "quarantine", "household": "3-2-401", "v": 2,  # v1: the new household (format 4)
                      "start_ts": quarantine.local_midnight(date(2026, 11, 20)),
                      "end_ts": quarantine.local_midnight(date(2026, 12, 4))}  # nothing more: no note, no days
    quarantine.place(db, "5-1-101", date(2026, 11, 20), date(2026, 11, 20))  # one day is a quarantine too
    with pytest.raises(PassAdminError):
        quarantine.place(db, "5-1-101", date(2026, 11, 21), date(2026, 11, 20))


def test_a_person_is_quarantined_alone_and_release_keeps_the_record(db):
    quarantine.place(db, "2-3-401", date(2026, 11, 20), date(2026, 12, 3), "密接", person=2, by="staff-li")
    quarantine.place(db, "2-3-401", date(2026, 11, 22), date(2026, 11, 28), person=3, by="staff-li")
    assert [(r.person, r.status) for r in quarantine.records(db, "2-3-401")] == [(3, "active"), (2, "active")]
    quarantine.release(db, "2-3-401", 2, by="staff-wang", note="核酸阴性")
    recs = {r.person: r for r in quarantine.records(db, "2-3-401")}
    assert recs[2].status == "released" and recs[2].released_by == "staff-wang"
    assert recs[2].release_note == "核酸阴性" and recs[2].released_at and recs[2].note == "密接"
    assert recs[2].set_by == "staff-li" and recs[3].status == "active"
    with pytest.raises(PassAdminError):
        quarantine.release(db, "2-3-401", 2)
    with pytest.raises(PassAdminError):
        quarantine.release(db, "2-3-401")  # the household itself never was


def test_format_2_names_the_person_and_format_1_gates_get_the_households_span(db):
    quarantine.place(db, "2-3-401", date(2026, 11, 20), date(2026, 12, 3), person=2)
    quarantine.place(db, "2-3-401", date(2026, 11, 22), date(2026, 12, 5), person=3)
    quarantine.release(db, "2-3-401", 3)
    quarantine.release(db, "2-3-401", 2)
    v2 = _changes(db, 0, 2)
    assert [(c["op"], c.get("person")) for c in v2] == [("quarantine", 2), ("quarantine", 3), ("release", 3),
                                                         ("release", 2)]
    page1 = changelog.changes_since(db, 0, fmt=1)
    _old_gate_accepts(page1)
    v1 = page1["changes"]
    assert [(c["op"], c.get("start"), c.get("end")) for c in v1] == [
        ("quarantine", "2026-11-20", "2026-12-04"), ("quarantine", "2026-11-20", "2026-12-06"),
        ("quarantine", "2026-11-20", "2026-12-04"), ("release", None, None)]
    assert "person" not in str(v1)


def test_snapshots_carry_only_active_quarantines_in_either_format(db):
    quarantine.place(db, "A-1", date(2026, 11, 20), date(2099, 12, 3), "note stays at central", person=1)
    quarantine.place(db, "B-2", date(2026, 11, 20), date(2099, 12, 3))
    quarantine.place(db, "C-3", date(2026, 11, 20), date(2099, 12, 3))
    quarantine.release(db, "C-3")
    quarantine.place(db, "D-4", date(2020, 1, 1), date(2020, 1, 14))  # over long ago
    snap2 = changelog.snapshot(db, fmt=2)
    assert snap2["format"] == PAGE_FORMAT_2
    q2 = [c for c in snap2["changes"] if c["op"] == "quarantine"]
    assert [(c["household"], c.get("person")) for c in q2] == [("A-1", 1), ("B-2", None)]
    assert "note" not in str(snap2)
    snap1 = changelog.snapshot(db, fmt=1)
    _old_gate_accepts(snap1)
    assert [c["household"] for c in snap1["changes"] if c["op"] == "quarantine"] == ["A-1", "B-2"]


def test_households_quarantined_before_the_upgrade_are_carried_over(db):
    db.execute("DROP TABLE quarantines" + (" CASCADE" if db.dialect == "postgresql" else ""))  # care refers to it
    db.execute("CREATE TABLE quarantine (household TEXT PRIMARY KEY, start TEXT NOT NULL, \"end\" TEXT NOT NULL, "
               "start_ts REAL NOT NULL, end_ts REAL NOT NULL, set_at REAL NOT NULL, note TEXT NOT NULL DEFAULT '')")
    db.execute("INSERT INTO quarantine VALUES ('3-2-401', '2026-11-20', '2026-12-04', 1.0, 2.0, 3.0, 'old')")
    store.m002_quarantine_records(db)
    (rec,) = quarantine.records(db, "3-2-401")
    assert (rec.first_day, rec.last_day, rec.start_ts, rec.end_ts, rec.note, rec.status, rec.person) == (
        "2026-11-20", "2026-12-03", 1.0, 2.0, "old", "active", None)
    assert not db.table_exists("quarantine")
