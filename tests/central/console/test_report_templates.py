"""Report templates through the console (a real server on loopback): create, duplicate, edit, generate for a past
day, the history; the XLSX opened with openpyxl and its figures checked against counts from the raw tables."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from central.console import report_templates as rt
from tests.central.console.conftest import DAY0, csrf_of


def _save(c, fields: dict, figures: list[tuple[str, str, str]]):
    """Post the template form: ``figures`` as (key, order, column name)."""
    page = c.get("/report-templates/new")
    data = [("csrf", csrf_of(page.text)), *fields.items()]
    for key, order, label in figures:
        data += [("figure", key), (f"order.{key}", order), (f"label.{key}", label)]
    return c.post("/report-templates/save", data=_form(data))


def _form(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _count(central, cond: str) -> int:
    return central.db.execute(f"SELECT COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND {cond}",
                              [DAY0, DAY0 + 86400]).fetchone()[0]


def _template_id(central, name: str) -> int:
    return central.db.execute("SELECT id FROM report_templates WHERE name = ?", [name]).fetchone()[0]


def test_staff_build_two_templates_and_generate_both_for_a_past_day(central):
    with central.client("staff") as c:
        r = _save(c, {"name": "街道日报", "title": "某某社区疫情防控日报", "unit": "花园社区居委会",
                      "contact": "王五 13800000000", "grouping": "gate"},
                  [("refusals", "2", "拦截人次"), ("passages_in", "1", "进入人次（人）"), ("fevers", "3", "发热"),
                   ("quarantine_households", "4", "居家隔离户")])
        assert r.status_code == 303, r.text[-500:]
        r = _save(c, {"name": "防疫办", "title": "门岗通行汇总", "grouping": "community"},
                  [("visitors", "", "访客"), ("households_passed", "", "出入户数")])
        assert r.status_code == 303
        a, b = _template_id(central, "街道日报"), _template_id(central, "防疫办")
        first = c.get(f"/report-templates/{a}/generate", params={"day": "2026-11-20"})
        second = c.get(f"/report-templates/{b}/generate", params={"day": "2026-11-20"})
        listing = c.get("/report-templates")
    assert first.status_code == second.status_code == 200
    ws = load_workbook(io.BytesIO(first.content)).active
    assert ws["A1"].value == "某某社区疫情防控日报 2026-11-20" and ws.freeze_panes == "A3"
    assert [c.value for c in ws[2]] == ["日期", "社区", "门岗", "进入人次（人）", "拦截人次", "发热", "居家隔离户"]
    rows = list(ws.iter_rows(min_row=3))
    body = [r for r in rows if r[0].is_date]
    assert all(r[0].value.date() == date(2026, 11, 20) for r in body)
    assert {(r[1].value, r[2].value) for r in body} == {("Garden", "Garden north"), ("Garden", "Garden south"),
                                                        ("Riverside", "Riverside east")}
    total = next(r for r in rows if r[0].value == "合计")
    expect = [_count(central, "direction = 'in' AND decision = 'pass'"), _count(central, "decision = 'refuse'"),
              _count(central, "fever = 1"), 0]
    assert [c.value for c in total[3:]] == expect == [8, 2, 1, 0]
    assert sum(r[3].value for r in body) == expect[0] and all(r[6].value is None for r in body)  # total only
    north = next(r for r in body if r[2].value == "Garden north")
    assert north[3].value == _count(central, "gate_id = 'north' AND direction = 'in' AND decision = 'pass'")
    texts = [r[0].value for r in rows]
    assert "填报单位：花园社区居委会" in texts and "联系人：王五 13800000000" in texts

    ws2 = load_workbook(io.BytesIO(second.content)).active
    # no order given: the catalogue's order
    assert [c.value for c in ws2[2]] == ["日期", "社区", "出入户数", "访客"]
    by_community = {r[1]: r[2:] for r in ws2.iter_rows(min_row=3, values_only=True) if r[1] in ("Garden", "Riverside")}
    assert by_community["Garden"][1] == _count(central, "event = 'visitor' AND community = 'Garden'") == 1
    households = central.db.execute(
        "SELECT COUNT(DISTINCT household) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND decision = 'pass' "
        "AND household IS NOT NULL", [DAY0, DAY0 + 86400]).fetchone()[0]
    total2 = next(r for r in ws2.iter_rows(min_row=3, values_only=True) if r[0] == "合计")
    assert total2[2] == households
    assert "街道日报" in listing.text and "防疫办" in listing.text and "2026-11-20" in listing.text
    runs = central.db.execute("SELECT template_name, day, generated_by FROM report_runs ORDER BY id").fetchall()
    assert [tuple(r) for r in runs][-2:] == [("街道日报", "2026-11-20", "staff"), ("防疫办", "2026-11-20", "staff")]


def test_duplicate_and_edit_a_template(central):
    with central.client("staff") as c:
        assert _save(c, {"name": "区卫健委", "grouping": "all"}, [("fevers", "1", "发热人数")]).status_code == 303
        tid = _template_id(central, "区卫健委")
        copy = c.get("/report-templates/new", params={"copy": tid})
        assert copy.status_code == 200 and 'value="区卫健委 副本"' in copy.text and 'value="发热人数"' in copy.text
        r = _save(c, {"name": "区卫健委 副本", "grouping": "all"}, [("fevers", "2", "发热"),
                                                                 ("visitors", "1", "访客")])
        assert r.status_code == 303
        edit = c.get(f"/report-templates/{tid}/edit")
        data = [("csrf", csrf_of(edit.text)), ("id", str(tid)), ("name", "区卫健委"), ("grouping", "all"),
                ("figure", "refusals"), ("label.refusals", "拒绝")]
        assert c.post("/report-templates/save", data=_form(data)).status_code == 303
        gen = c.get(f"/report-templates/{tid}/generate", params={"day": "2026-11-20"})
    saved = {t.name: t for t in rt.all_templates(central.db)}
    assert [(r.figure, r.label) for r in saved["区卫健委 副本"].rows] == [("visitors", "访客"), ("fevers", "发热")]
    assert [(r.figure, r.label) for r in saved["区卫健委"].rows] == [("refusals", "拒绝")]
    rows = list(load_workbook(io.BytesIO(gen.content)).active.iter_rows(values_only=True))
    assert rows[1] == ("日期", "拒绝") and rows[2][1] == 2 and len(rows) == 3  # one row for all: no totals row


@pytest.mark.parametrize(("fields", "figures", "why"), [
    ({"name": "", "grouping": "all"}, [("fevers", "", "x")], "名称"),
    ({"name": "x", "grouping": "street"}, [("fevers", "", "x")], "分组"),
    ({"name": "x", "grouping": "all"}, [], "指标"),
    ({"name": "x", "grouping": "all"}, [("no_such", "", "x")], "no figure"),
    ({"name": "x", "grouping": "all"}, [("fevers", "", "y" * 41)], "列名"),
])
def test_bad_templates_are_refused_with_the_reason(central, fields, figures, why):
    with central.client("staff") as c:
        r = _save(c, fields, figures)
    assert r.status_code == 400 and why in r.text


def test_viewers_generate_but_do_not_edit(central):
    with central.client("staff") as c:
        assert _save(c, {"name": "只读测试", "grouping": "all"}, [("visitors", "", "访客")]).status_code == 303
    tid = _template_id(central, "只读测试")
    with central.client("viewer") as c:
        assert c.get("/report-templates").status_code == 200
        assert c.get(f"/report-templates/{tid}/generate", params={"day": "2026-11-20"}).status_code == 200
        assert c.get("/report-templates/new").status_code == 403
        assert c.get(f"/report-templates/{tid}/edit").status_code == 403
        assert c.get(f"/report-templates/{tid}/generate", params={"day": "9999-12-31"}).status_code == 400
        assert c.get("/report-templates/999999/generate").status_code == 404
        assert c.get("/report-templates/99999999999999999999999/generate").status_code == 422


def test_hostile_form_values_get_a_clear_answer(central):
    with central.client("staff") as c:
        r = _save(c, {"name": "奇怪的顺序", "grouping": "all", "id": "²"}, [("fevers", "²", "发热"),
                                                                          ("visitors", "1", "访客")])
        assert r.status_code == 303
        rows = next(t for t in rt.all_templates(central.db) if t.name == "奇怪的顺序").rows
        assert [r.figure for r in rows] == ["visitors", "fevers"]  # a number that is no number sorts last
        page = c.get("/report-templates/new")
        nul = c.post("/report-templates/save", data={"csrf": csrf_of(page.text), "name": "a\x00b",
                                                     "figure": "fevers"})
        assert nul.status_code == 400


def test_figures_as_rows_with_a_column_per_community(central):
    with central.client("staff") as c:
        r = _save(c, {"name": "竖排报表", "title": "竖排", "grouping": "community", "layout": "rows"},
                  [("passages_in", "1", "进入"), ("quarantine_new", "2", "新增隔离户")])
        assert r.status_code == 303
        gen = c.get(f"/report-templates/{_template_id(central, '竖排报表')}/generate", params={"day": "2026-11-20"})
    ws = load_workbook(io.BytesIO(gen.content)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("日期", "指标", "Garden", "Riverside", "合计")
    assert rows[1][1:] == ("进入", _count(central, "community = 'Garden' AND direction = 'in' AND decision = 'pass'"),
                           _count(central, "community = 'Riverside' AND direction = 'in' AND decision = 'pass'"),
                           _count(central, "direction = 'in' AND decision = 'pass'"))
    assert rows[2][1:] == ("新增隔离户", None, None, 0)  # households carry no community: the total only
    assert ws["A3"].is_date


def test_names_staff_type_cannot_become_formulas_in_the_file(central):
    with central.client("staff") as c:
        r = _save(c, {"name": "=HYPERLINK(1)", "title": "+SUM(A1)", "unit": "@x", "grouping": "all"},
                  [("fevers", "1", "=1+1"), ("visitors", "2", "-2")])
        assert r.status_code == 303
        gen = c.get(f"/report-templates/{_template_id(central, '=HYPERLINK(1)')}/generate",
                    params={"day": "2026-11-20"})
    book = load_workbook(io.BytesIO(gen.content))
    texts = [v for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "'=1+1" in texts and "'-2" in texts and "'+SUM(A1) 2026-11-20" in texts
    assert not any(v.startswith(("=", "+", "-", "@")) for v in texts)


def test_a_row_per_grid_from_the_household_files(central):
    db = central.db
    for hh, grid in (("3-2-401", "一网格"), ("3-2-402", "一网格"), ("5-1-101", "二网格")):
        db.execute("INSERT INTO households (household, created_at) VALUES (?, 0) ON CONFLICT DO NOTHING", [hh])
        db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES (?, ?, 0)", [hh, grid])
    with central.client("staff") as c:
        r = _save(c, {"name": "网格日报", "title": "各网格", "grouping": "grid"},
                  [("passages_in", "1", "进入人次"), ("quarantine_households", "2", "隔离户")])
        assert r.status_code == 303
        gen = c.get(f"/report-templates/{_template_id(central, '网格日报')}/generate", params={"day": "2026-11-20"})
    ws = load_workbook(io.BytesIO(gen.content)).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("日期", "网格", "进入人次", "隔离户")
    by_grid = {row[1]: row[2:] for row in rows[1:] if row[1] != "合计" and row[0] != "合计"}
    grid_one = ("household IN ('3-2-401', '3-2-402') AND direction = 'in' AND decision = 'pass'")
    assert by_grid["一网格"] == (_count(central, grid_one), 0)
    assert by_grid["二网格"][0] == _count(central, "household = '5-1-101' AND direction = 'in' AND decision = 'pass'")
    others = "(household IS NULL OR household NOT IN ('3-2-401', '3-2-402', '5-1-101'))"
    assert by_grid["（未分网格）"][0] == _count(central, f"{others} AND direction = 'in' AND decision = 'pass'")
    assert rows[-1][2] == _count(central, "direction = 'in' AND decision = 'pass'")
