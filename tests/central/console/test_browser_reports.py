"""Report templates built in Debian's chromium at 1366x768: two templates through the form, both generated for the
same past day, the files opened with openpyxl and checked against counts from the raw tables.

Screenshots go to /tmp/gatepass-console-shots/ (rt-*.png)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.central.console.conftest import DAY0, PASSWORDS
from tests.central.console.test_browser import SHOTS, browser, download  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser


def _count(central, cond: str) -> int:
    return central.db.execute(f"SELECT COUNT(*) FROM entries WHERE wall_ts >= ? AND wall_ts < ? AND {cond}",
                              [DAY0, DAY0 + 86400]).fetchone()[0]


def _build(page, name: str, title: str, grouping: str, figures: list[tuple[str, str, str]]) -> None:
    page.goto("/report-templates")
    page.click("#rt-new")
    page.fill("input[name=name]", name)
    page.fill("input[name=title]", title)
    page.fill("input[name=unit]", "花园街道")
    page.fill("input[name=contact]", "李四 010-12345678")
    page.select_option("select[name=grouping]", grouping)
    for key, order, label in figures:
        row = page.locator(f"tr[data-figure='{key}']")
        row.locator("input[type=checkbox]").check()
        row.locator("input[type=number]").fill(order)
        row.locator(f"input[name='label.{key}']").fill(label)
    page.click("#template-form button[type=submit]")
    page.wait_for_url("**/report-templates?saved=*")


def test_two_templates_built_in_the_browser_and_generated_for_a_past_day(browser, central):  # noqa: F811
    ctx = browser.new_context(base_url=central.url, viewport={"width": 1366, "height": 768}, accept_downloads=True,
                              locale="zh-CN")
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORDS["staff"])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    _build(page, "街道防疫日报", "花园社区防疫日报", "gate",
           [("passages_in", "1", "进入（人次）"), ("refusals", "2", "劝返"), ("fevers", "3", "发热")])
    page.goto("/report-templates/new")
    page.screenshot(path=str(SHOTS / "rt-edit.png"), full_page=False)
    _build(page, "区防控办", "出入情况", "community", [("visitors", "2", "访客数"), ("passages_out", "1", "外出")])
    rows = page.locator("#templates tbody tr")
    assert rows.count() >= 2
    files = {}
    for name in ("街道防疫日报", "区防控办"):
        row = page.locator(f"#templates tr[data-name='{name}']")
        row.locator("input[name=day]").fill("2026-11-20")
        files[name] = load_workbook(io.BytesIO(download(page, f"#templates tr[data-name='{name}'] "
                                                              "button[type=submit]"))).active
    page.goto("/report-templates")
    page.screenshot(path=str(SHOTS / "rt-list.png"), full_page=False)
    assert page.locator("#runs tbody tr").count() >= 2 and "2026-11-20" in page.inner_text("#runs")

    a = files["街道防疫日报"]
    assert a["A1"].value == "花园社区防疫日报 2026-11-20" and a.freeze_panes == "A3"
    assert [c.value for c in a[2]] == ["日期", "社区", "门岗", "进入（人次）", "劝返", "发热"]
    body = [r for r in a.iter_rows(min_row=3) if r[0].is_date]
    total = next(r for r in a.iter_rows(min_row=3, values_only=True) if r[0] == "合计")
    expect = [_count(central, "direction = 'in' AND decision = 'pass'"), _count(central, "decision = 'refuse'"),
              _count(central, "fever = 1")]
    assert list(total[3:]) == expect and [sum(r[i].value for r in body) for i in (3, 4, 5)] == expect

    b = files["区防控办"]
    assert [c.value for c in b[2]] == ["日期", "社区", "外出", "访客数"]
    total = next(r for r in b.iter_rows(min_row=3, values_only=True) if r[0] == "合计")
    assert list(total[2:]) == [_count(central, "direction = 'out' AND decision = 'pass'"),
                               _count(central, "event = 'visitor'")]
    assert all(r[0].is_date for r in b.iter_rows(min_row=3, max_row=4))
    ctx.close()
