"""The vehicle ledger page, its exports and drivers in contact traces (central.vehicles, routes_vehicles)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook

from central import ingest
from central.console import tracing
from tests.central.console.conftest import DAY0
from tests.central.console.data import entry, ingest_entries

DAY = "2026-11-20"
T0 = DAY0 + 9 * 3600


def _car(seq: int, t: float, plate: str, purpose: str, name: str = "", phone: str = "", decision: str = "pass",
         **more) -> dict:
    extra = {"plate": plate, "purpose": purpose, "driver_kind": more.pop("driver_kind", "person")}
    extra |= {k: v for k, v in (("driver_name", name), ("driver_phone", phone)) if v}
    return entry(seq, "dev-north", "gate-bm", t, event="vehicle", decision=decision,
                 reason="vehicle_ok" if decision == "pass" else "vehicle_purpose", guard_id="g1",
                 extra=json.dumps(extra, ensure_ascii=False), extra_hash="e" * 64, temp_c=None, temps=None, **more)


@pytest.fixture(scope="module")
def cars(central):
    """At 北门: a new-energy van of 刘师傅 (left), a works truck refused, a resident's car still inside, and a
    resident on foot two minutes after the van."""
    if not central.db.execute("SELECT 1 FROM devices WHERE device_id = 'dev-north'").fetchone():
        ingest.add_device(central.db, "dev-north", name="北门", community="Garden", gate_id="gate-bm")
    van = _car(1, T0, "京AD12345", "delivery", "刘师傅", "136 0000 1234")
    rows = [van, _car(2, T0 + 60, "京A8B123", "works", "陈工", "13512340000", decision="refuse"),
            entry(3, "dev-north", "gate-bm", T0 + 120, event="scan", pass_id="501", household="7-1-101", person=1,
                  pass_kind="resident", reason="pass_ok"),
            entry(4, "dev-north", "gate-bm", T0 + 1800, event="vehicle_exit", decision="info", direction="out",
                  reason="vehicle_exit", ref_uuid=van["uuid"], temp_c=None, temps=None),
            _car(5, T0 + 3600, "沪B12345", "resident", driver_kind="resident", pass_id="502", household="8-2-202",
                 person=1, pass_kind="resident")]
    ingest_entries(central.db, "dev-north", "Garden", rows)
    return rows


def _audits(central, action: str) -> list[dict]:
    return [json.loads(r[0]) for r in central.db.execute(
        "SELECT detail FROM audit_log WHERE action = ? ORDER BY id", [action]).fetchall()]


def test_staff_see_plates_drivers_gate_names_and_what_is_still_inside(central, cars):
    before = len(_audits(central, "view_vehicles"))
    with central.client("staff") as c:
        r = c.get("/vehicles", params={"day_from": DAY})
    assert r.status_code == 200
    html = r.text
    assert "京AD12345" in html and "刘师傅" in html and "13600001234" in html and "北门" in html and "配送" in html
    inside = html.split('id="inside"', 1)[1].split("</table>", 1)[0]
    assert "沪B12345" in inside and "京AD12345" not in inside and "京A8B123" not in inside  # left / refused
    assert "车辆用途不符" in html and "8-2-202" in html
    assert len(_audits(central, "view_vehicles")) == before + 1


def test_viewers_see_drivers_masked_and_cannot_export(central, cars):
    with central.client("viewer") as c:
        r = c.get("/vehicles", params={"day_from": DAY})
        assert c.get("/vehicles/export.xlsx", params={"day_from": DAY}).status_code == 403
    assert "13600001234" not in r.text and "136****1234" in r.text and "刘**" in r.text and "刘师傅" not in r.text
    assert "京AD12345" in r.text
    assert _audits(central, "view_vehicles")[-1]["names_shown"] is False


@pytest.mark.parametrize(("params", "found", "not_found"), [
    ({"plate": "京ad 12345"}, "京AD12345", "沪B12345"), ({"name": "陈"}, "京A8B123", "京AD12345"),
    ({"phone": "136-0000-1234"}, "京AD12345", "京A8B123"), ({"household": "8-2-202"}, "沪B12345", "京AD12345"),
    ({"inside": "1"}, "沪B12345", "京AD12345"),
])
def test_search_by_plate_name_phone_household_and_inside(central, cars, params, found, not_found):
    with central.client("staff") as c:
        html = c.get("/vehicles", params={"day_from": DAY, **params}).text
    listed = html.split('id="vehicles"', 1)[1]
    assert found in listed and not_found not in listed
    assert _audits(central, "view_vehicles")[-1]["filters"] == {
        "since": pytest.approx(DAY0, abs=86400), "until": pytest.approx(DAY0 + 86400, abs=86400),
        "plate": params.get("plate"), "name": params.get("name"), "phone": params.get("phone"),
        "household": params.get("household"), "inside_only": params.get("inside") == "1"}


def test_exports_have_chinese_headers_plain_values_and_are_audited(central, cars):
    with central.client("staff") as c:
        r = c.get("/vehicles/export.csv", params={"day_from": DAY})
        x = c.get("/vehicles/export.xlsx", params={"day_from": DAY})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["车牌号", "用途", "进入时间", "离开时间", "门岗"]
    van = next(row for row in rows[1:] if row[0] == "京AD12345")
    assert van[1] == "配送" and van[3] == "2026-11-20 09:30:00" and van[4] == "北门" and van[7:9] == ["刘师傅",
                                                                                                     "13600001234"]
    ws = load_workbook(io.BytesIO(x.content)).active
    sheet = list(ws.iter_rows(values_only=True))
    assert sheet[0][0].startswith("车辆") and sheet[1][0] == "车牌号"
    van_x = next(row for row in sheet[2:] if row[0] == "京AD12345")
    assert van_x[2] == datetime(2026, 11, 20, 9, 0) and van_x[1] == "配送" and van_x[7] == "刘师傅"
    assert [a["format"] for a in _audits(central, "export_vehicles")[-2:]] == ["csv", "xlsx"]


def test_a_trace_reaches_the_driver_by_name_and_phone_with_the_plate_and_gate_name(central, cars):
    result = tracing.trace(central.db, "pass_id", "501", T0 - 3600, T0 + 86400, 15)
    drivers = [p for p in result.people if p["kind"] == "driver"]
    assert [(p["name"], p["phone"]) for p in drivers] == [("刘师傅", "13600001234")]
    assert drivers[0]["passages"][0]["plate"] == "京AD12345" and drivers[0]["passages"][0]["gate_name"] == "北门"
    assert not [p for p in result.people if p["name"] == "陈工"]  # refused: no passage, no contact
    params = {"kind": "pass_id", "value": "501", "since": "2026-11-20T00:00", "until": "2026-11-21T00:00",
              "minutes": "15"}
    with central.client("staff") as c:
        page = c.get("/trace", params=params).text
    people = page.split('id="people"', 1)[1].split("</table>", 1)[0]
    assert "车辆驾驶人" in people and "刘师傅" in people and "13600001234" in people and "京AD12345" in people
    by_phone = tracing.trace(central.db, "visitor_phone", "13600001234", T0 - 3600, T0 + 86400, 15)
    assert [p["uuid"] for p in by_phone.passages] == [cars[0]["uuid"]]  # a driver is traced by phone too
