"""Alerts and tracing pages: the live alert list's audit records, the trace CSV."""

from __future__ import annotations

import csv
import io
import re


def test_the_live_alert_list_is_audited_once_per_interval(central):
    central.db.execute("UPDATE audit_log SET ts = ts - 3600 WHERE action = 'view_alerts'")  # views of an hour ago
    before = central.db.execute("SELECT count(*) FROM audit_log WHERE username = 'staff' AND action = "
                                "'view_alerts'").fetchone()[0]
    with central.client("staff") as c:
        for _ in range(3):
            assert c.get("/alerts/table").status_code == 200
    after = central.db.execute("SELECT count(*) FROM audit_log WHERE username = 'staff' AND action = "
                               "'view_alerts'").fetchone()[0]
    assert after == before + 1


def test_trace_csv_holds_the_passages_and_the_contacts(central):
    with central.client("staff") as c:
        r = c.get("/trace/export.csv", params={"kind": "pass_id", "value": "101", "since": "2026-11-20T00:00",
                                               "until": "2026-11-21T00:00", "minutes": "10"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    passages = [x for x in rows if x["类别"] == "本人通行"]
    contacts = [x for x in rows if x["类别"] == "同门岗前后通行"]
    assert len(passages) == 3 and {x["通行证号"] for x in passages} == {"101"}
    assert all(x["相差(分钟)"] == "0.0" and x["对象通行时间"] == x["时间"] for x in passages)
    assert {x["通行证号"] or x["访客编号"] for x in contacts} == {"102", "103", "105", "V-0001"}
    assert passages[0]["时间"].startswith("2026-11-20 08:")  # local time (Asia/Shanghai)


def test_the_trace_page_names_gates_not_ids(central):
    names = dict(central.db.execute("SELECT gate_id, name FROM devices WHERE name <> ''").fetchall())
    assert names.get("north")
    with central.client("staff") as c:
        page = c.get("/trace", params={"kind": "pass_id", "value": "101", "since": "2026-11-20T00:00",
                                       "until": "2026-11-21T00:00", "minutes": "10"}).text
    cells = re.findall(r"<td(?: title=\"[^\"]*\")?>([^<]*)</td>", page)
    assert names["north"] in cells and "north" not in cells  # 东门, not its id (kept as the cell's title)
