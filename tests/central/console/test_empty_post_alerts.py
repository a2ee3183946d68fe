"""Issue 17: an alert when a rostered gate post has nobody signed in for more than N minutes (值班人员是否到位)."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from central import duty, people
from central.console import alert_rules as rules
from central.console import alerts
from tests.central.console.data import ensure_device, entry, ingest_entries

NOW = 1_795_104_000.0
EAST = rules.RosterSlot(1, "东门", "east", NOW - 3 * 3600, NOW + 9 * 3600)


def test_a_running_slot_with_nobody_signed_in_for_over_30_minutes_is_an_empty_post():
    assert rules.empty_posts([EAST], {}, NOW) == [rules.EmptyPost(1, "东门", "east", EAST.start_ts)]


def test_empty_since_the_last_sign_out_and_only_after_the_threshold():
    spans = rules.signed_in_spans([("east", "shift_start", NOW - 7000), ("east", "shift_end", NOW - 1000)])
    assert rules.empty_posts([EAST], spans, NOW) == []  # 16 minutes empty: not yet
    assert rules.empty_posts([EAST], spans, NOW, minutes=10) == [rules.EmptyPost(1, "东门", "east", NOW - 1000)]
    late = rules.signed_in_spans([("east", "shift_start", NOW - 7000), ("east", "shift_end", NOW - 2400)])
    assert [e.since for e in rules.empty_posts([EAST], late, NOW)] == [NOW - 2400]


def test_someone_signed_in_or_no_running_slot_is_no_alert():
    on = rules.signed_in_spans([("east", "shift_start", NOW - 7000)])
    assert rules.empty_posts([EAST], on, NOW) == []
    handed = rules.signed_in_spans([("east", "shift_start", NOW - 7000), ("east", "shift_start", NOW - 60)])
    assert rules.empty_posts([EAST], handed, NOW) == []  # a sign-in hands the open shift over
    later = rules.RosterSlot(1, "东门", "east", NOW + 60, NOW + 3600)
    assert rules.empty_posts([later], {}, NOW) == []
    other_gate = rules.signed_in_spans([("west", "shift_start", NOW - 7000)])
    assert len(rules.empty_posts([EAST], other_gate, NOW)) == 1


def test_a_slot_that_just_started_waits_for_the_threshold():
    fresh = rules.RosterSlot(1, "东门", "east", NOW - 20 * 60, NOW + 3600)
    assert rules.empty_posts([fresh], {}, NOW) == []
    assert rules.empty_posts([fresh], {}, NOW, minutes=15) == [rules.EmptyPost(1, "东门", "east", fresh.start_ts)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_alerts_page_names_the_empty_post_and_since_when(central):
    now = time.time()
    people.add(central.db, "4101", "郑强", "13700000000", "watch")
    people.add(central.db, "4102", "王芳", "13700000001", "watch")
    shift = dict(decision="info", guard_id="4102", temp_c=None, temps=None)
    ensure_device(central.db, "dev-emptya", "Garden", "emptya")
    ingest_entries(central.db, "dev-emptyb", "Garden", [
        entry(1, "dev-emptyb", "emptyb", now - 5000, event="shift_start", reason="shift_start",
              extra=json.dumps({"started_at": now - 5000}), **shift)])
    duty.sync_gate_posts(central.db)
    posts = {p.gate_id: p for p in duty.posts(central.db) if p.gate_id}
    central.db.execute("UPDATE duty_posts SET name = '东门' WHERE id = ?", [posts["emptya"].id])
    duty.add_slot(central.db, posts["emptya"].id, "4101", now - 3600, now + 3600)
    duty.add_slot(central.db, posts["emptyb"].id, "4102", now - 3600, now + 3600)
    found = [a for a in alerts.alerts(central.db, now - 86400, now + 60) if a.kind == "empty_post"]
    assert [(a.gate_id, a.detail) for a in found] == [("emptya", "东门")]
    with central.client("viewer") as c:
        html = c.get("/alerts").text
        en = c.get("/alerts", params={"lang": "en"}).text
    row = _text(html.split(f'id="a-{found[0].key}"', 1)[1].split("</tr>", 1)[0])
    since = datetime.fromtimestamp(now - 3600, ZoneInfo("Asia/Shanghai")).strftime("%H:%M")  # console time
    assert "岗位无人值守" in row and "东门" in row and "排班中但无人签到" in row and since in row, row
    assert "empty_post" not in _text(html) and "Post unmanned" in en
