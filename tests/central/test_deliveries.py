"""Deliveries at central (central.deliveries) on SQLite and PostgreSQL: the ledger read from uploaded entries, the
to-carry list, the household timeline source, and the courier phones' retention."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central import deliveries, retention
from central.db import open_db
from central.passes import issuance
from central.settings import RetentionSection
from central.timeline import SOURCES, household_timeline
from tests.central.console.data import entry, ingest_entries

DAY = 86400.0
TZ = ZoneInfo("Asia/Shanghai")


def delivery(seq: int, t: float, household: str, company: str, count: int, phone: str = "", note: str = "",
             quarantined: bool = False, device: str = "dev-d", gate: str = "south") -> dict:
    extra = {"company": company, "count": count, "quarantined": quarantined,
             **({"courier_phone": phone} if phone else {}), **({"note": note} if note else {})}
    return entry(seq, device, gate, t, event="delivery", household=household, pass_kind="delivery",
                 decision="info", reason="delivery", guard_id="g1", temp_c=None, temps=None,
                 extra=json.dumps(extra, ensure_ascii=False, sort_keys=True), extra_hash="e" * 64)


def pickup(seq: int, t: float, of: dict, by: dict, device: str = "dev-d", gate: str = "south", **more) -> dict:
    return entry(seq, device, gate, t, event="delivery_pickup", household=of["household"], pass_kind="delivery",
                 decision="info", reason="delivery_pickup", direction="out", guard_id="g1", temp_c=None,
                 temps=None, ref_uuid=of["uuid"], extra=json.dumps(by, ensure_ascii=False), extra_hash="e" * 64,
                 **more)


def _seed(db, now: float) -> list[dict]:
    a = delivery(1, now - 30 * DAY, "3-2-401", "顺丰", 2, "13800138000", "生鲜")
    b = delivery(2, now - 2 * 3600, "9-9-909", "美团", 1, "13900139000", "药品", quarantined=True)
    c = delivery(3, now - 3600, "3-2-401", "京东", 1)
    rows = [a, b, c, pickup(4, now - 30 * DAY + 3600, a, {"by": "pass", "pass_id": "1001", "person": 2},
                            pass_id="1001", person=2)]
    ingest_entries(db, "dev-d", "Garden", rows)
    return rows


def test_ledger_to_carry_and_pickups(central_url):
    db = open_db(central_url)
    now = time.time()
    a, b, c, _ = _seed(db, now)
    rows = deliveries.ledger(db, deliveries.DeliveryQuery(now - 40 * DAY, now + 60))
    assert [r["uuid"] for r in rows] == [c["uuid"], b["uuid"], a["uuid"]]  # newest first
    first = rows[2]
    assert (first["company"], first["count"], first["courier_phone"], first["note"], first["pickup_kind"],
            first["pickup_by"]) == ("顺丰", 2, "13800138000", "生鲜", "pass", "1001 / 2")
    assert rows[0]["pickup_ts"] is None and rows[1]["quarantined"] is True
    only = deliveries.ledger(db, deliveries.DeliveryQuery(now - 40 * DAY, now + 60, phone="139-0013"))
    assert [r["uuid"] for r in only] == [b["uuid"]]
    waiting = deliveries.ledger(db, deliveries.DeliveryQuery(now - 40 * DAY, now + 60, household="3-2-401",
                                                             status="waiting"))
    assert [r["uuid"] for r in waiting] == [c["uuid"]]
    assert [r["uuid"] for r in deliveries.to_carry(db, now)] == [b["uuid"]]
    ingest_entries(db, "dev-d", "Garden", [pickup(5, now - 60, b, {"by": "staff"})])
    assert deliveries.to_carry(db, now) == []
    today = datetime.fromtimestamp(now, TZ).date()  # 3-2-401 put under quarantine after 京东 was left
    issuance.quarantine(db, "3-2-401", today, today + timedelta(days=13), "密接")
    assert [r["uuid"] for r in deliveries.to_carry(db, now)] == [c["uuid"]]


def test_the_household_timeline_has_its_deliveries_and_pickups(central_url):
    db = open_db(central_url)
    now = time.time()
    _seed(db, now)
    assert "central.deliveries:timeline_events" in SOURCES
    events = household_timeline(db, "3-2-401", since=now - 40 * DAY)
    kinds = [(e.kind, e.summary.split(" · ")[0]) for e in events if e.kind.startswith("delivery")]
    assert kinds == [("delivery", "京东 × 1"), ("delivery_pickup", "顺丰 × 2"), ("delivery", "顺丰 × 2")]
    flagged = deliveries.timeline_events(db, "9-9-909", now - DAY)
    assert len(flagged) == 1 and flagged[0].alert and "药品" in flagged[0].summary
    assert flagged[0].link == "/deliveries?household=9-9-909"
    ingest_entries(db, "dev-d", "Garden", [delivery(9, now - 60, "5栋1单元#302", "邮政", 1)])
    [odd] = deliveries.timeline_events(db, "5栋1单元#302", now - DAY)
    assert odd.link == "/deliveries?household=5%E6%A0%8B1%E5%8D%95%E5%85%83%23302"  # the # stays in the query


def test_courier_phones_go_after_the_visitor_limit_and_the_rest_stays(central_url):
    db = open_db(central_url)
    now = time.time()
    a, b, c, _ = _seed(db, now)
    report = retention.purge_expired(db, RetentionSection(), now)  # visitor_days 28: only the 30-day-old one
    assert report.courier_phones == 1
    extras = {r[0]: json.loads(r[1]) for r in db.execute("SELECT uuid, extra FROM entries WHERE event = 'delivery'")}
    assert "courier_phone" not in extras[a["uuid"]] and extras[a["uuid"]]["company"] == "顺丰"
    assert extras[b["uuid"]]["courier_phone"] == "13900139000"
    assert retention.purge_expired(db, RetentionSection(), now).courier_phones == 0  # nothing twice
    assert any("快递员电话" in line for line in report.lines())
    audited = json.loads(db.execute("SELECT detail FROM audit_log WHERE action = 'retention_purge'").fetchone()[0])
    assert audited["courier_phones"] == 1


@given(st.one_of(st.text(max_size=200), st.none(), st.binary(max_size=50).map(lambda b: b.decode("latin-1"))))
def test_any_extra_reads_as_plain_values(text):
    p = deliveries.parcel(text)
    assert isinstance(p["company"], str) and isinstance(p["count"], int) and isinstance(p["quarantined"], bool)
    who = deliveries.pickup_of(text)
    assert who["kind"] in ("", *deliveries.PICKUP_KINDS) and isinstance(who["by"], str)


@pytest.mark.parametrize(("extra", "expected"), [
    ('{"company": "顺丰", "count": true}', 0), ('{"count": 3}', 3), ('[1]', 0), ('{"count": "3"}', 0)])
def test_malformed_counts_read_as_zero(extra, expected):
    assert deliveries.parcel(extra)["count"] == expected
