"""The demo's casework at central: the roster imported into household files (grids, a tenant with a landlord, care
flags), a returnee's home quarantine with readings, a missed slot and needs; seeded once."""

from __future__ import annotations

import time

from central import care, homes
from central.db import open_db
from gatepass import demo


def test_the_demo_seeds_household_files_and_a_quarantine_once(tmp_path):
    assert demo._demo_passes(tmp_path) is not None
    assert demo._demo_passes(tmp_path) is not None  # a restart of the demo adds nothing
    db = open_db(tmp_path / "central" / "central.db")
    try:
        files = db.execute("SELECT household, grid, grid_worker FROM household_files ORDER BY household").fetchall()
        assert len(files) == 24 and {g for _, g, _ in files} == {"第一网格", "第二网格", "第三网格"}
        assert {"1-1-101", "1-1-102", "1-1-103", "2-3-401"} <= {h for h, _, _ in files}  # the demo passes' homes
        tenant = homes.members(db, "1-1-102")[0]
        assert tenant.tenure == "tenant" and tenant.landlord == "王建国"
        assert db.execute("SELECT COUNT(*) FROM household_members").fetchone()[0] == 50
        flags = [f for (text,) in db.execute("SELECT flags FROM household_members") for f in text.split(",") if f]
        assert {"elderly_alone", "pregnant"} <= set(flags)
        records = care.care_records(db)
        returnee = next(r for r in records if r.q.household == "3-1-201")
        assert returnee.source == "returnee" and returnee.origin_city == "上海" and returnee.q.person == 0
        assert len(care.readings(db, returnee.id)) == 3
        assert [n.kind for n in care.needs(db, returnee.id, open_only=True)] == ["medicine"]
        now = time.time()
        missed = [a for a in care.alerts(db, now - 3 * 86400, now, now) if a.key.startswith("care_missed")]
        assert missed  # yesterday afternoon at least
    finally:
        db.close()


def test_the_demo_seeds_a_screening_list_with_a_phone_round(tmp_path):
    from central import screening

    demo._demo_passes(tmp_path)
    db = open_db(tmp_path / "central" / "central.db")
    try:
        people = db.execute("SELECT name, household, last_outcome FROM screening_people ORDER BY id").fetchall()
        assert len(people) == 5
        assert ("杨强", "3-1-201", "reached") in people  # the address as written, linked to the household file
        due, _ = screening.worklist(db, screening.Filters(), now=time.time())
        # the one reached is off the round, the one who did not answer comes back two hours after the call
        assert sorted(p["name"] for p in due) == ["何磊", "罗静", "高洋"]
    finally:
        db.close()
