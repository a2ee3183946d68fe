"""Exports a person accepts: every console export (entries, trace, daily report) opened as the street office opens
it, and its figures checked against counts computed here from the raw ``entries`` table."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from central.console import exports
from tests.central.console.conftest import DAY0

DAY = {"day": "2026-11-20"}
ZH_ENTRY_HEAD = ["时间", "社区", "门岗", "门岗编号", "方向", "事件", "结果", "原因", "原因代码", "体温(℃)", "发热",
                 "通行证号", "户号", "人员", "通行证类型", "访客姓名", "访客编号", "保安", "放行原因", "设备", "序号",
                 "记录编号"]


def _book(content: bytes):
    return load_workbook(io.BytesIO(content))


def _raw(central, sql: str, args=()) -> list[tuple]:
    return [tuple(r) for r in central.db.execute(sql, list(args)).fetchall()]


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese text right
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_entries_xlsx_reads_as_words_with_date_cells_and_codes_beside(central):
    with central.client("staff") as c:
        r = c.get("/entries/export.xlsx", params={"since": "2026-11-20T00:00", "until": "2026-11-21T00:00"})
    assert r.status_code == 200
    ws = _book(r.content).active
    assert ws.title == "出入记录" and ws.freeze_panes == "A3"
    assert ws["A1"].value == "出入记录 2026-11-20 00:00 – 2026-11-21 00:00" and ws["A1"].font.b
    assert [c.value for c in ws[2]] == ZH_ENTRY_HEAD
    assert all(ws.column_dimensions[chr(65 + i)].width >= 6 for i in range(len(ZH_ENTRY_HEAD)))
    rows = [[c for c in row] for row in ws.iter_rows(min_row=3)]
    raw = _raw(central, "SELECT wall_ts, reason, decision FROM entries WHERE wall_ts >= ? AND wall_ts < ? "
               "ORDER BY wall_ts DESC, device_id DESC, seq DESC", [DAY0, DAY0 + 86400])
    assert len(rows) == len(raw) == 12  # no totals row: nothing to count in a list of entries
    for cells, (ts, reason, decision) in zip(rows, raw, strict=True):
        local = datetime.fromtimestamp(ts, ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
        assert cells[0].is_date and cells[0].value == local  # the console's local time, as a date/time cell
        assert cells[8].value == reason and cells[7].value not in (reason, None)
        assert cells[6].value == {"pass": "通行", "refuse": "拒绝", "guard": "保安处理", "info": "记录"}[decision]
    fever = next(r for r in rows if r[8].value == "fever")
    assert fever[2].value == "Garden north" and fever[3].value == "north"  # the gate's name, then its id
    assert fever[4].value == "进" and fever[10].value == "是" and fever[9].value == 38.2
    assert fever[7].value == "复测体温仍异常，请在原地等候工作人员"


def test_entries_export_speaks_english_to_an_english_member(central):
    with central.client("admin") as c:
        c.get("/entries", params={"lang": "en"})
        try:
            x = c.get("/entries/export.xlsx", params={"gate_id": "north", "decision": "refuse"})
            text = c.get("/entries/export.csv", params={"gate_id": "north", "decision": "refuse"})
        finally:
            c.get("/entries", params={"lang": "zh"})
    ws = _book(x.content).active
    assert ws.title == "Entries" and ws["A1"].value.startswith("Entries (exported ")
    assert [c.value for c in ws[2]][:9] == ["Time", "Community", "Gate", "Gate id", "Direction", "Event",
                                            "Decision", "Reason", "Reason code"]
    assert {r[6] for r in ws.iter_rows(min_row=3, values_only=True)} == {"Refused"}
    rows = _csv(text.content)
    assert rows[0][:3] == ["Time", "Community", "Gate"] and len(rows) == 3


def test_entries_csv_has_bom_chinese_headers_and_local_times(central):
    with central.client("staff") as c:
        r = c.get("/entries/export.csv", params={"household": "3-2-401"})
    rows = _csv(r.content)
    assert rows[0] == ZH_ENTRY_HEAD
    n = _raw(central, "SELECT COUNT(*) FROM entries WHERE household = '3-2-401'")[0][0]
    assert len(rows) == 1 + n == 4
    assert all(row[0].startswith("2026-11-20 08:") for row in rows[1:])
    assert {row[4] for row in rows[1:]} == {"进", "出"} and {row[8] for row in rows[1:]} == {"temp_ok"}


def test_daily_report_xlsx_has_every_hour_and_totals_matching_the_raw_table(central):
    with central.client("viewer") as c:
        r = c.get("/report/export.xlsx", params=DAY)
    book = _book(r.content)
    assert book.sheetnames == ["按小时", "按原因"]
    ws = book["按小时"]
    assert ws["A1"].value == "日报 2026-11-20" and ws.freeze_panes == "A3"
    assert [c.value for c in ws[2]] == ["日期", "社区", "门岗", "门岗编号", "时段", "小时", "进入", "外出", "访客",
                                        "拒绝", "发热", "保安放行"]
    body = list(ws.iter_rows(min_row=3))
    data, total = body[:-1], body[-1]
    gates = _raw(central, "SELECT DISTINCT gate_id FROM entries WHERE wall_ts >= ? AND wall_ts < ?",
                 [DAY0, DAY0 + 86400])
    assert len(data) == 24 * len(gates) == 72  # all 24 hours of each gate, quiet hours as zeros
    assert all(row[0].is_date and row[0].value.date() == date(2026, 11, 20) for row in data)
    assert [row[5].value for row in data[:24]] == list(range(24)) and data[0][4].value == "00:00-01:00"
    span = [DAY0, DAY0 + 86400]
    expect = [_raw(central, f"SELECT COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND {cond}", span)[0][0]
              for cond in ("direction = 'in' AND decision = 'pass'", "direction = 'out' AND decision = 'pass'",
                           "event = 'visitor'", "decision = 'refuse'", "fever = 1", "event = 'override'")]
    assert total[0].value == "合计" and total[0].font.b
    assert [c.value for c in total[6:]] == expect == [8, 2, 1, 2, 1, 1]
    assert [sum(row[i].value for row in data) for i in range(6, 12)] == expect
    north8 = next(row for row in data if row[3].value == "north" and row[5].value == 8)
    assert north8[2].value == "Garden north" and north8[6].value == 6
    reasons = list(book["按原因"].iter_rows(min_row=2, values_only=True))
    assert reasons[0] == ("日期", "社区", "门岗", "门岗编号", "原因", "原因代码", "拒绝次数")
    refused = _raw(central, "SELECT reason, COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND "
                   "decision = 'refuse' GROUP BY reason", span)
    assert {(r[5], r[6]) for r in reasons[1:-1]} == set(refused)
    assert reasons[-1][0] == "合计" and reasons[-1][6] == sum(n for _, n in refused)
    assert all(r[4] != r[5] for r in reasons[1:-1])  # words, with the code beside


def test_daily_report_csv_parts(central):
    with central.client("viewer") as c:
        hourly = _csv(c.get("/report/export.csv", params=DAY).content)
        reasons = _csv(c.get("/report/export.csv", params={**DAY, "part": "reasons"}).content)
        community = _csv(c.get("/report/export.csv", params={**DAY, "community": "Riverside"}).content)
    assert hourly[0][:5] == ["日期", "社区", "门岗", "门岗编号", "时段"] and len(hourly) == 1 + 72 + 1
    assert hourly[1][0] == "2026-11-20" and hourly[-1][0] == "合计" and hourly[-1][6] == "8"
    assert reasons[-1][0] == "合计" and reasons[-1][-1] == "2"
    assert len(community) == 1 + 24 + 1 and community[-1][6] == "1"


def test_trace_exports_name_the_sections_and_keep_dates(central):
    q = {"kind": "pass_id", "value": "101", "since": "2026-11-20T00:00", "until": "2026-11-21T00:00",
         "minutes": "10"}
    with central.client("staff") as c:
        x = c.get("/trace/export.xlsx", params=q)
        text = c.get("/trace/export.csv", params=q)
    book = _book(x.content)
    assert book.sheetnames == ["通行记录", "同门岗前后通行人员"]
    ws = book["通行记录"]
    assert ws["A1"].value == "密接追踪 通行证号 101 2026-11-20 00:00 – 2026-11-21 00:00"
    passages = list(ws.iter_rows(min_row=3))
    own = _raw(central, "SELECT COUNT(*) FROM entries WHERE pass_id = '101' AND decision NOT IN ('refuse', 'info')")
    assert len(passages) == own[0][0] == 3 and all(p[0].is_date for p in passages)
    contacts = list(book["同门岗前后通行人员"].iter_rows(min_row=3))
    assert all(cell.is_date for row in contacts for cell in (row[0], row[3]))
    rows = _csv(text.content)
    assert rows[0][:4] == ["类别", "对象通行时间", "门岗", "门岗编号"]
    assert [r[0] for r in rows[1:4]] == ["本人通行"] * 3 and {r[0] for r in rows[4:]} == {"同门岗前后通行"}


@pytest.mark.parametrize("value", ["=HYPERLINK(\"x\")", "\x01+1", "ok"])
def test_table_cells_keep_formula_and_control_protection(value):
    cols = [exports.Column("文字", "Text"), exports.Column("次数", "Count", exports.COUNT)]
    table = exports.Table("表", "标题", cols, [(value, 2), (value, 3)])
    ws = _book(exports.to_xlsx([table], "zh", exports_tz())).active
    got = [r[0] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in got) and "\x01" not in "".join(map(str, got))
    assert got[-1] == "合计" and ws.cell(ws.max_row, 2).value == 5
    data = exports.to_csv(exports.Table("表", "标题", cols, [(value, 2)]), "zh", exports_tz())
    assert data.startswith(b"\xef\xbb\xbf") and b"\x01" not in data and b"\n=" not in data


def exports_tz():
    from central.console.timeutil import zone

    return zone()


_VALUES = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=20), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_VALUES, st.one_of(st.none(), st.floats(), st.integers()), st.integers(0, 10**6)),
                max_size=12), st.sampled_from(["zh", "en"]))
def test_any_table_writes_a_workbook_whose_totals_are_the_sums(rows, lang):
    cols = [exports.Column("值", "value"), exports.Column("时间", "time", exports.TIME),
            exports.Column("次数", "count", exports.COUNT)]
    ws = _book(exports.to_xlsx([exports.Table("表[1]:?", "标题", cols, rows)], lang, exports_tz())).active
    got = list(ws.iter_rows(min_row=3, values_only=True))
    assert ws.freeze_panes == "A3" and got[-1][0] == ("Total" if lang == "en" else "合计")
    assert got[-1][2] == sum(r[2] for r in rows)
    for cell in (c for row in ws.iter_rows(min_row=3, max_row=2 + len(rows)) for c in row[1:2]):
        assert cell.value is None or cell.is_date or str(cell.value).startswith("时间异常")
    text = exports.to_csv(exports.Table("t", "t", cols, rows), lang, exports_tz())
    parsed = _csv(text)
    assert len(parsed) == 1 + len(rows) + 1 and parsed[-1][2] == str(sum(r[2] for r in rows))
