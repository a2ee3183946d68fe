"""The console names visitors: entries, alerts, traces and their exports show the visitor's name (masked for
viewers) instead of the visit's reference hash."""

from __future__ import annotations

import io
import json
import time

import pytest
from openpyxl import load_workbook

from tests.central.console.conftest import DAY0
from tests.central.console.data import entry, ingest_entries

REF, REFUSED_REF = "d70d76f70b99", "a1b2c3d4e5f6"
WHEN = {"since": "2026-11-20T00:00", "until": "2026-11-21T00:00"}


def _visit(seq: int, t: float, ref: str, name: str, phone: str, **fields) -> dict:
    extra = json.dumps({"name": name, "phone": phone, "host_household": "3-2-401", "reason": "探亲"},
                       ensure_ascii=False)
    return entry(seq, "dev-vn", "north", t, event="visitor", visitor_ref=ref, household="3-2-401",
                 pass_kind="visitor", guard_id="g7", extra=extra, extra_hash="e" * 64, **fields)


@pytest.fixture(scope="module")
def named(central):
    t = DAY0 + 8 * 3600  # the seed's pass 101 passes the north gate at t and t + 1000
    rows = [_visit(1, t + 1100, REF, "张伟", "13800138000", reason="visitor_ok"),
            _visit(2, time.time() - 600, REFUSED_REF, "李娜", "13900139000", decision="refuse",
                   reason="host_quarantined", priority=1)]
    ingest_entries(central.db, "dev-vn", "Garden", rows)
    return rows


def test_entries_show_the_name_to_staff_and_masked_to_viewers(central, named):
    with central.client("staff") as c:
        staff = c.get("/entries").text
        api = c.get("/console/api/entries").json()["rows"]
    with central.client("viewer") as c:
        viewer = c.get("/entries").text
    assert "张伟" in staff and "李娜" in staff
    assert "张伟" not in viewer and "张*" in viewer and "李*" in viewer
    assert {r["visitor_ref"]: r["visitor_name"] for r in api if r["visitor_ref"] in (REF, REFUSED_REF)} == {
        REF: "张伟", REFUSED_REF: "李娜"}
    assert ">" + REF + "<" not in staff  # the hash is no longer the cell's text (it stays in the title)


def test_the_entries_export_has_the_visitor_name_column(central, named):
    with central.client("staff") as c:
        r = c.get("/entries/export.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(row for row in cells if "访客姓名" in row)
    col = header.index("访客姓名")
    assert {row[col] for row in cells} >= {"张伟", "李娜"}


def test_an_alert_names_the_visitor_masked_for_viewers(central, named):
    with central.client("staff") as c:
        staff = c.get("/alerts/table", params={"hours": 2}).text
    with central.client("viewer") as c:
        viewer = c.get("/alerts/table", params={"hours": 2}).text
    row = staff.split(f'data-key="host_quarantined:{named[1]["uuid"]}"', 1)[1].split("</tr>", 1)[0]
    assert "李娜" in row and REFUSED_REF not in row.split("title=")[0]
    assert "李娜" not in viewer and "李*" in viewer


def test_the_trace_page_and_its_xlsx_name_the_visitor(central, named):
    params = {"kind": "pass_id", "value": "101", "minutes": "10", **WHEN}
    with central.client("staff") as c:
        page = c.get("/trace", params=params).text
        xlsx = c.get("/trace/export.xlsx", params=params)
    assert "张伟" in page
    book = load_workbook(io.BytesIO(xlsx.content))
    contacts = [[c.value for c in row] for row in book.worksheets[1].iter_rows()]
    header = next(row for row in contacts if "访客姓名" in row)
    names = {row[header.index("访客姓名")] for row in contacts}
    assert "张伟" in names
