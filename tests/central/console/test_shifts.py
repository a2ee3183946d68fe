"""Shift hand-overs synced from the gates: listed per gate with their summary in plain words, audited."""

from __future__ import annotations

import json
import re
import time

from central.console import shifts
from tests.central.console.data import entry, ingest_entries


def _hand_over(seq: int, gate: str, now: float, **summary) -> dict:
    extra = {"started_at": now - 8 * 3600, "ended_at": now - 60, "entries": 212,
             "refusals": {"quarantined": 2, "temp_high": 1, "health_code_red": 1}, "high_readings": 1,
             "fever_events": 0, "overrides": [{"reason": "other", "note": "孕妇产检", "at": now - 3600}],
             "visitors": 5, "faults": [{"code": "thermometer", "since": now - 7200, "until": now - 6000},
                                       {"code": "voice", "since": now - 600, "until": None}], **summary}
    return entry(seq, f"dev-{gate}", gate, now - 30, event="shift_end", decision="info", reason="shift_end",
                 guard_id="g-王", temp_c=None, temps=None, extra=json.dumps(extra, ensure_ascii=False))


def test_hand_overs_are_read_from_shift_end_entries_and_malformed_summaries_are_empty(central_url):
    from central.db import open_db

    db = open_db(central_url)
    now = time.time()
    bad = entry(2, "dev-w", "west", now - 20, event="shift_end", decision="info", reason="shift_end",
                extra='{"entries": "many", "refusals": [1], "overrides": [3, {"reason": 5}], "faults": "x"}')
    ingest_entries(db, "dev-w", "Garden", [_hand_over(1, "west", now), bad])
    got = shifts.hand_overs(db, now - 86400, now + 60)
    assert [h.uuid for h in got] == [bad["uuid"], got[1].uuid]
    assert got[0].entries == 0 and got[0].refusals == {} and got[0].faults == []
    assert got[1].entries == 212 and got[1].refusals["quarantined"] == 2 and got[1].overrides[0]["note"] == "孕妇产检"
    assert shifts.hand_overs(db, now - 86400, now + 60, "east") == []


def test_the_shifts_page_lists_each_hand_over_in_plain_words_and_is_audited(central):
    now = time.time()
    ingest_entries(central.db, "dev-sh", "Garden", [_hand_over(1, "shiftgate", now)])
    with central.client("viewer") as c:
        html = c.get("/shifts", params={"gate_id": "shiftgate"}).text
        en = c.get("/shifts", params={"gate_id": "shiftgate", "lang": "en"}).text
    row = html.split('<tbody>', 1)[1].split("</tr>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", row)
    assert "212" in text and "g-王" in text and "孕妇产检" in text and "其他" in text
    assert "体温计故障" in text and "语音播报故障" in text and "至今" in text
    assert "居家隔离" in text and "红码" in text
    for code in ("quarantined", "temp_high", "health_code_red", "thermometer", "voice", "other"):
        assert code not in text, code
    assert "Shift hand-overs" in en and "thermometer not working" in en
    logged = central.db.execute("SELECT username, detail FROM audit_log WHERE action = 'view_shifts'").fetchall()
    assert logged and logged[-1][0] == "viewer" and "shiftgate" in logged[-1][1]
