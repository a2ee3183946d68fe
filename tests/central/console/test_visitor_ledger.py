"""The visitor ledger page and its exports (central.console.routes_visitors)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook

from central import ingest
from tests.central.console.conftest import DAY0
from tests.central.console.data import entry, ingest_entries

DAY = "2026-11-20"


def _visit(seq: int, t: float, phone: str, name: str, household: str, reason: str, **more) -> dict:
    extra = json.dumps({"name": name, "phone": phone, "host_household": household, "reason": reason, **more},
                       ensure_ascii=False)
    return entry(seq, "dev-east", "gate-dm", t, event="visitor", visitor_ref=f"E{seq}", household=household,
                 pass_kind="visitor", reason="visitor_ok", guard_id="g1", extra=extra, extra_hash="e" * 64,
                 temp_c=36.6)


@pytest.fixture(scope="module")
def visits(central):
    """Two visits of 王五 (one left), one of 赵六 (still inside), at the gate named 东门."""
    if not central.db.execute("SELECT 1 FROM devices WHERE device_id = 'dev-east'").fetchone():
        ingest.add_device(central.db, "dev-east", name="东门", community="Garden", gate_id="gate-dm")
    t = DAY0 + 9 * 3600
    first = _visit(1, t, "13812345678", "王五", "3-2-401", "探亲")
    rows = [first, _visit(2, t + 600, "13987654321", "赵六", "5-1-101", "维修", id_last4="123X", from_city="武汉",
                          outside_14d=True),
            entry(3, "dev-east", "gate-dm", t + 1800, event="visitor_exit", decision="info", reason="visitor_exit",
                  direction="out", visitor_ref="E1", ref_uuid=first["uuid"], temp_c=None, temps=None),
            _visit(4, t + 7200, "138-1234-5678", "王五", "3-2-401", "探亲")]
    ingest_entries(central.db, "dev-east", "Garden", rows)
    return rows


def _audits(central, action: str) -> list[dict]:
    return [json.loads(r[0]) for r in central.db.execute(
        "SELECT detail FROM audit_log WHERE action = ? ORDER BY id", [action]).fetchall()]


def test_staff_see_names_phones_gate_names_and_who_is_still_inside(central, visits):
    before = len(_audits(central, "view_visitors"))
    with central.client("staff") as c:
        r = c.get("/visitors", params={"day_from": DAY})
    assert r.status_code == 200
    html = r.text
    assert "王五" in html and "13812345678" in html and "东门" in html and "维修" in html
    inside = html.split('id="inside"', 1)[1].split("</table>", 1)[0]
    assert "赵六" in inside and inside.count("王五") == 1  # the second visit has no exit; the first has
    assert len(_audits(central, "view_visitors")) == before + 1
    assert central.db.execute("SELECT count(*) FROM visitors WHERE name = '王五'").fetchone()[0] == 1


def test_viewers_see_them_masked_and_cannot_export(central, visits):
    with central.client("viewer") as c:
        r = c.get("/visitors", params={"day_from": DAY, "name": "王"})
        assert c.get("/visitors/export.csv", params={"day_from": DAY}).status_code == 403
    assert r.status_code == 200
    assert "13812345678" not in r.text and "138****5678" in r.text and "王*" in r.text and "王五" not in r.text
    assert _audits(central, "view_visitors")[-1]["names_shown"] is False


def test_search_by_phone_household_and_a_bad_period(central, visits):
    with central.client("staff") as c:
        by_phone = c.get("/visitors", params={"day_from": DAY, "phone": "139 8765 4321"}).text
        by_household = c.get("/visitors", params={"day_from": DAY, "household": "3-2-401"}).text
        bad = c.get("/visitors", params={"day_from": DAY, "day_to": "2026-11-01"})
    visits_of = lambda html: html.split('id="visits"', 1)[1]  # noqa: E731
    assert "赵六" in visits_of(by_phone) and "王五" not in visits_of(by_phone)
    assert "王五" in visits_of(by_household) and "赵六" not in visits_of(by_household)
    assert bad.status_code == 400


def test_csv_export_has_a_bom_chinese_headers_and_is_audited(central, visits):
    with central.client("staff") as c:
        r = c.get("/visitors/export.csv", params={"day_from": DAY})
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["姓名", "电话", "来访时间", "离开时间"]
    wang = [x for x in rows[1:] if x[0] == "王五"]
    assert len(wang) == 2 and sorted(x[3] for x in wang) == ["", "2026-11-20 09:30:00"] and wang[0][4] == "东门"
    assert _audits(central, "export_visitors")[-1]["format"] == "csv"


def test_xlsx_export_has_real_date_cells(central, visits):
    with central.client("admin") as c:
        r = c.get("/visitors/export.xlsx", params={"day_from": DAY})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0].startswith("访客") and rows[1][2] == "来访时间"  # the title, then the headers (frozen)
    assert ws.freeze_panes == "A3"
    times = [row[2] for row in rows[2:] if row[0] == "王五"]
    assert datetime(2026, 11, 20, 9, 0) in times and all(isinstance(x, datetime) for x in times)


def test_a_trace_lists_visitors_as_people_to_call_with_name_phone_and_gate_name(central, visits):
    params = {"kind": "visitor_phone", "value": "138 1234 5678", "since": "2026-11-20T00:00",
              "until": "2026-11-21T00:00", "minutes": "15"}
    with central.client("staff") as c:
        r = c.get("/trace", params=params)
        back = c.get("/trace", params={**params, "value": "13987654321"})
    assert r.status_code == 200
    people = r.text.split('id="people"', 1)[1].split("</table>", 1)[0]
    assert "赵六" in people and "13987654321" in people and "东门" in people and "王五" not in people
    assert people.count('class="person"') == 1  # 赵六 once, under 王五's first visit
    assert "王五" in back.text.split('id="people"', 1)[1].split("</table>", 1)[0]  # and the other way round


def test_people_group_each_person_once_with_their_passages(central, visits):
    from central.console import tracing
    t = DAY0 + 9 * 3600
    result = tracing.trace(central.db, "visitor_phone", "13987654321", t - 3600, t + 86400, 180)
    wang = [p for p in result.people if p["kind"] == "visitor"]
    assert len(wang) == 1 and wang[0]["name"] == "王五" and wang[0]["phone"] == "13812345678"
    assert len(wang[0]["passages"]) == 2 and wang[0]["closest_min"] == 10.0
    assert all(r["gate_name"] == "东门" for r in wang[0]["passages"])


def test_the_forms_optional_answers_show_and_export_and_the_id_digits_are_hidden_from_viewers(central, visits):
    with central.client("staff") as c:
        page = c.get("/visitors", params={"day_from": DAY, "name": "赵"}).text
        rows = list(csv.reader(io.StringIO(c.get("/visitors/export.csv", params={"day_from": DAY, "name": "赵"})
                                           .content.decode("utf-8-sig"))))
    with central.client("viewer") as c:
        masked = c.get("/visitors", params={"day_from": DAY, "name": "赵"}).text
    assert "武汉" in page and "123X" in page
    assert rows[0][-3:] == ["身份证后4位", "来自城市", "14天内离开过本市"] and rows[1][-3:] == ["123X", "武汉", "是"]
    assert "123X" not in masked and "****" in masked and "武汉" in masked


@pytest.mark.parametrize("params", [{"day_from": "2026-13-45"}, {"day_from": "abc"},
                                    {"day_from": DAY, "day_to": "2026-01-01"},
                                    {"day_from": "2026-01-01", "day_to": "2026-12-31"}])
def test_bad_days_are_refused_with_the_reason_in_chinese(central, params):
    with central.client("staff") as c:
        page = c.get("/visitors", params=params)
        export = c.get("/visitors/export.csv", params=params)
    assert page.status_code == 400 and export.status_code == 400
    assert any(words in page.text for words in ("日期格式", "结束日期早于", "最多查询"))


@pytest.mark.parametrize("params", [{"name": "%_\\'\""}, {"phone": "+86 (138) 1234-5678"}, {"household": "x" * 200},
                                    {"phone": "电话"}, {"inside": "yes"}])
def test_hostile_texts_search_plainly(central, visits, params):
    with central.client("staff") as c:
        r = c.get("/visitors", params={"day_from": DAY, **params})
    assert r.status_code == 200


def test_the_entries_page_names_an_exit_in_words(central, visits):
    with central.client("staff") as c:
        html = c.get("/entries", params={"gate_id": "gate-dm", "since": "2026-11-20 00:00",
                                         "until": "2026-11-21 00:00"}).text
    assert html.count("访客离开") >= 3 and ">visitor_exit<" not in html  # filter option, event and reason cells


def test_hostile_stored_details_show_escaped_and_export_cleanly(central):
    t = DAY0 + 20 * 3600
    odd = [entry(1, "dev-odd", "gate-odd", t, event="visitor", visitor_ref="O1", reason="visitor_ok", extra="[1, 2]"),
           entry(2, "dev-odd", "gate-odd", t + 1, event="visitor", visitor_ref="O2", reason="visitor_ok",
                 extra="{not json"),
           entry(3, "dev-odd", "gate-odd", t + 2, event="visitor", visitor_ref="O3", reason="visitor_ok",
                 extra=json.dumps({"name": "<script>x</script>=1+1\x07", "phone": "=cmd|' /C calc'!A0",
                                   "reason": 5, "outside_14d": "yes"}))]
    ingest_entries(central.db, "dev-odd", "Garden", odd)
    with central.client("staff") as c:
        page = c.get("/visitors", params={"day_from": DAY})
        xlsx = c.get("/visitors/export.xlsx", params={"day_from": DAY})
        text = c.get("/visitors/export.csv", params={"day_from": DAY}).content.decode("utf-8-sig")
    assert page.status_code == 200 and "<script>x" not in page.text and "&lt;script&gt;" in page.text
    assert xlsx.status_code == 200
    cells = [row for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True)]
    assert any(str(r[0]).startswith("<script>") for r in cells) and not any(str(r[1]).startswith("=") for r in cells)
    assert ",=cmd" not in text and "'=cmd" in text  # formula injection neutralised in both
