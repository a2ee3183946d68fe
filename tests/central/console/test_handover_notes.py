"""Issue 17: the hand-over note a guard leaves for the next one is shown at central with the shift summary."""

from __future__ import annotations

import json
import re
import time

from central.console import shifts
from tests.central.console.data import entry, ingest_entries


def _hand_over(seq: int, gate: str, at: float, note: object) -> dict:
    extra = {"started_at": at - 8 * 3600, "ended_at": at, "entries": 40, "handover_note": note}
    return entry(seq, f"dev-{gate}", gate, at, event="shift_end", decision="info", reason="shift_end",
                 guard_id="1001", temp_c=None, temps=None, extra=json.dumps(extra, ensure_ascii=False))


def test_the_note_is_read_bounded_and_without_control_characters(central_url):
    from central.db import open_db

    db = open_db(central_url)
    now = time.time()
    ingest_entries(db, "dev-hn", "Garden", [
        _hand_over(1, "hn", now - 300, "3-2-401 隔离户需送菜\n 体温计电量低 "),
        _hand_over(2, "hn", now - 200, "x\u202ey\u0007z" + "长" * 1000),
        _hand_over(3, "hn", now - 100, {"not": "text"})])
    newest, hostile, first = shifts.hand_overs(db, now - 86400, now + 60, "hn")
    assert first.note == "3-2-401 隔离户需送菜\n体温计电量低"
    assert hostile.note.startswith("xyz长") and len(hostile.note) <= shifts.NOTE_MAX
    assert newest.note == ""


def test_the_shifts_page_shows_the_note_with_the_summary(central):
    now = time.time()
    ingest_entries(central.db, "dev-hp", "Garden", [_hand_over(1, "hpgate", now - 60, "东侧围挡松动已报修\n<b>x</b>")])
    with central.client("viewer") as c:
        html = c.get("/shifts", params={"gate_id": "hpgate"}).text
        en = c.get("/shifts", params={"gate_id": "hpgate", "lang": "en"}).text
    row = html.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert "东侧围挡松动已报修" in row and "&lt;b&gt;x&lt;/b&gt;" in row and "<b>x</b>" not in row
    assert "交接事项" in html and "40" in re.sub(r"<[^>]+>", " ", row)
    assert "Hand-over notes" in en
