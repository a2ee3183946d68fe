"""Visitors at central (central.visitors): one visitor per phone across visits, the ledger, retention."""

from __future__ import annotations

import json
import time

from hypothesis import given
from hypothesis import strategies as st

from central import retention, visitors
from central.db import open_db
from central.settings import RetentionSection
from tests.central.console.data import entry, ingest_entries

DAY = 86400.0


def visit(seq: int, t: float, phone: str, name: str, *, household: str = "3-2-401", reason: str = "探亲",
          gate: str = "north", **fields) -> dict:
    """A visitor entry as a gate uploads it."""
    extra = json.dumps({"name": name, "phone": phone, "host_household": household, "reason": reason},
                       ensure_ascii=False)
    return entry(seq, "dev-v", gate, t, event="visitor", visitor_ref=f"V{seq}", household=household,
                 pass_kind="visitor", reason="visitor_ok", guard_id="g1", extra=extra, extra_hash="e" * 64, **fields)


def exit_of(seq: int, t: float, visit_row: dict) -> dict:
    """The exit a gate records for ``visit_row``."""
    return entry(seq, "dev-v", visit_row["gate_id"], t, event="visitor_exit", decision="info", reason="visitor_exit",
                 direction="out", visitor_ref=visit_row["visitor_ref"], ref_uuid=visit_row["uuid"], temp_c=None,
                 temps=None, household=visit_row["household"])


def test_the_same_phone_is_one_visitor_under_a_key_that_names_nobody(central_url):
    db = open_db(central_url)
    now = time.time()
    ingest_entries(db, "dev-v", "Garden", [visit(1, now - 3600, "138 0000 0001", "张三"),
                                           visit(2, now - 60, "+86 13800000001", "张三丰"),
                                           visit(3, now - 30, "13900000002", "李四")])
    rows = list(db.query("SELECT * FROM visitors ORDER BY first_seen"))
    assert len(rows) == 2
    zhang = rows[0]
    assert zhang["name"] == "张三丰" and zhang["phone"] == "13800000001"  # the latest visit's name
    assert zhang["first_seen"] == now - 3600 and zhang["last_seen"] == now - 60
    assert "13800000001" not in zhang["visitor_key"]
    assert zhang["visitor_key"] != visitors.visitor_key("another secret", "13800000001")  # keyed by central's secret
    linked = [r[0] for r in db.execute("SELECT visitor_key FROM entries WHERE event = 'visitor' ORDER BY seq")]
    assert linked[0] == linked[1] == zhang["visitor_key"] and linked[2] == rows[1]["visitor_key"]


def test_a_repeated_upload_links_nothing_twice(central_url):
    db = open_db(central_url)
    now = time.time()
    row = visit(1, now, "13800000001", "张三")
    ingest_entries(db, "dev-v", "Garden", [row])
    ingest_entries(db, "dev-v", "Garden", [row])
    assert db.execute("SELECT count(*) FROM visitors").fetchone()[0] == 1


def test_the_ledger_finds_visits_by_name_phone_household_with_their_exit(central_url):
    db = open_db(central_url)
    now = time.time()
    a, b = visit(1, now - 3600, "13800000001", "张三", reason="送餐"), visit(2, now - 1800, "13900000002", "李四",
                                                                           household="5-1-101")
    ingest_entries(db, "dev-v", "Garden", [a, b, exit_of(3, now - 600, a)])
    q = visitors.LedgerQuery(since=now - DAY, until=now + 60)
    rows = visitors.ledger(db, q)
    assert [r["name"] for r in rows] == ["李四", "张三"]
    zhang = rows[1]
    assert zhang["out_ts"] == now - 600 and zhang["reason_text"] == "送餐" and zhang["phone"] == "13800000001"
    assert zhang["gate_name"] == "Garden north"  # the device's name, not the id
    assert rows[0]["out_ts"] is None
    by = visitors.ledger
    assert [r["name"] for r in by(db, visitors.LedgerQuery(now - DAY, now + 60, name="张"))] == ["张三"]
    assert [r["name"] for r in by(db, visitors.LedgerQuery(now - DAY, now + 60, phone="139 0000 0002"))] == ["李四"]
    assert [r["name"] for r in by(db, visitors.LedgerQuery(now - DAY, now + 60, phone="0001"))] == ["张三"]
    assert [r["name"] for r in by(db, visitors.LedgerQuery(now - DAY, now + 60, household="5-1-101"))] == ["李四"]
    assert [r["name"] for r in by(db, visitors.LedgerQuery(now - DAY, now + 60, inside_only=True))] == ["李四"]
    assert by(db, visitors.LedgerQuery(now - DAY, now + 60, name="%")) == []  # wildcards are text


def test_retention_deletes_the_visitor_28_days_after_their_last_visit(central_url):
    db = open_db(central_url)
    now = time.time()
    ingest_entries(db, "dev-v", "Garden", [visit(1, now - 20 * 3600, "13800000001", "张三"),
                                           visit(2, now - 20 * 3600, "13900000002", "李四"),
                                           visit(3, now, "13800000001", "张三")])
    report = retention.purge_expired(db, RetentionSection(), now - 19.5 * 3600 + 28 * DAY)
    assert report.visitor_records == 1
    assert [r[0] for r in db.execute("SELECT name FROM visitors")] == ["张三"]
    assert db.execute("SELECT visitor_key FROM entries WHERE seq = 2").fetchone()[0] is None  # unlinked
    report = retention.purge_expired(db, RetentionSection(), now + 28 * DAY + 60)
    assert report.visitor_records == 1 and db.execute("SELECT count(*) FROM visitors").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM entries WHERE visitor_key IS NOT NULL").fetchone()[0] == 0


def test_masks_show_only_the_ends():
    assert visitors.mask_phone("13812345678") == "138****5678"
    assert visitors.mask_name("张三丰") == "张**"
    assert visitors.mask_phone("") == "" and visitors.mask_name(None) == ""


@given(st.text(max_size=40))
def test_any_text_normalises_to_digits_or_none(text):
    out = visitors.normalise_phone(text)
    assert out is None or (out.isdigit() and out.isascii() and 3 <= len(out) <= 20)
    assert len(visitors.visitor_key("s", text)) == 32


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086", "86 ", "+86-"]),
       st.sampled_from(["", " ", "-"]))
def test_every_writing_of_a_mobile_number_is_the_same_number(number, prefix, sep):
    written = prefix + number[:3] + sep + number[3:7] + sep + number[7:]
    assert visitors.normalise_phone(written) == number
    assert visitors.visitor_key("s", written) == visitors.visitor_key("s", number)


def test_a_refused_visitor_let_in_by_an_override_is_still_inside(central_url):
    db = open_db(central_url)
    now = time.time()
    refused = visit(1, now - 600, "13800000001", "张三", decision="refuse", reason="temp_high")
    over = entry(2, "dev-v", "north", now - 550, event="override", reason="override", visitor_ref="V1",
                 household="3-2-401", pass_kind="visitor", ref_uuid=refused["uuid"], override_reason="medical")
    also_refused = visit(3, now - 500, "13900000002", "李四", decision="refuse", reason="host_quarantined")
    ingest_entries(db, "dev-v", "Garden", [refused, over, also_refused])
    inside = visitors.ledger(db, visitors.LedgerQuery(now - DAY, now + 60, inside_only=True))
    assert [r["name"] for r in inside] == ["张三"]
    ingest_entries(db, "dev-v", "Garden", [exit_of(4, now - 60, refused)])
    assert visitors.ledger(db, visitors.LedgerQuery(now - DAY, now + 60, inside_only=True)) == []
