"""Retention of vehicles' personal data at central (central.retention with central.vehicles), SQLite and PostgreSQL:
a plate and its driver go ``visitor_days`` (default 28) after the driver's last entry, like a visitor's details."""

from __future__ import annotations

import json
import time

from central import retention, vehicles
from central.db import open_db
from central.settings import RetentionSection
from tests.central.console.data import entry, ingest_entries

DAY = 86400.0


def _car(seq: int, t: float, plate: str, name: str = "", phone: str = "") -> dict:
    extra = {"plate": plate, "purpose": "delivery", "driver_kind": "person" if phone else "resident"}
    extra |= {k: v for k, v in (("driver_name", name), ("driver_phone", phone)) if v}
    return entry(seq, "dev-car", "south", t, event="vehicle", reason="vehicle_ok", guard_id="g1",
                 extra=json.dumps(extra, ensure_ascii=False), extra_hash="e" * 64)


def test_plates_and_drivers_go_28_days_after_the_drivers_last_entry(central_url):
    db = open_db(central_url)
    now = time.time()
    ingest_entries(db, "dev-car", "Garden", [
        _car(1, now - 20 * 3600, "京AD12345", "刘师傅", "13600001234"),
        _car(2, now - 20 * 3600, "沪B12345"),  # a resident's car: no phone, kept per entry
        _car(3, now, "京AD12345", "刘师傅", "13600001234"),
    ])
    assert db.execute("SELECT count(*) FROM visitors WHERE name = '刘师傅'").fetchone()[0] == 1
    extras = lambda: {int(r[0]): r[1] for r in db.execute(  # noqa: E731
        "SELECT seq, extra FROM entries WHERE device_id = 'dev-car'")}
    report = retention.purge_expired(db, RetentionSection(), now - 19.5 * 3600 + 28 * DAY)
    assert report.visitor_details == 1 and extras()[2] is None  # the resident's car: 28 days after it came
    assert extras()[1] and extras()[3]  # 刘师傅 came again: both kept
    retention.purge_expired(db, RetentionSection(), now + 28 * DAY + 60)
    assert extras() == {1: None, 2: None, 3: None}
    assert db.execute("SELECT count(*) FROM visitors WHERE name = '刘师傅'").fetchone()[0] == 0
    q = vehicles.LedgerQuery(since=now - DAY, until=now + DAY)
    rows = vehicles.ledger(db, q)
    assert len(rows) == 3 and {r["plate"] for r in rows} == {""} and {r["driver_name"] for r in rows} == {""}
