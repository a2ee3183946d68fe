"""The deliveries page and its exports (central.console.routes_deliveries) on a real central server."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime

import pytest
from openpyxl import load_workbook

from central import ingest
from central.console.i18n import TEXTS
from tests.central.console.conftest import DAY0, PASSWORDS
from tests.central.console.data import ingest_entries
from tests.central.console.test_browser import SHOTS, browser  # noqa: F401 - the console's browser fixture
from tests.central.test_deliveries import delivery, pickup

DAY = "2026-11-20"


@pytest.fixture(scope="module")
def parcels(central):
    """On DAY0 at 东门: 顺丰 ×2 for 3-2-401 (picked up by name), 京东 for 5-1-101 (waiting); an hour ago a 美团 parcel
    for the quarantined 9-9-909 (to carry up)."""
    if not central.db.execute("SELECT 1 FROM devices WHERE device_id = 'dev-dl'").fetchone():
        ingest.add_device(central.db, "dev-dl", name="东门", community="Garden", gate_id="gate-dl")
    t = DAY0 + 9 * 3600
    a = delivery(1, t, "3-2-401", "顺丰", 2, "13800138000", "生鲜", device="dev-dl", gate="gate-dl")
    b = delivery(2, t + 600, "5-1-101", "京东", 1, "13912345678", device="dev-dl", gate="gate-dl")
    q = delivery(4, time.time() - 3600, "9-9-909", "美团", 1, note="药品", quarantined=True, device="dev-dl",
                 gate="gate-dl")
    rows = [a, b, pickup(3, t + 3600, a, {"by": "name", "name": "王芳"}, device="dev-dl", gate="gate-dl"), q]
    ingest_entries(central.db, "dev-dl", "Garden", rows)
    return rows


def _audits(central, action: str) -> list[dict]:
    return [json.loads(r[0]) for r in central.db.execute(
        "SELECT detail FROM audit_log WHERE action = ? ORDER BY id", [action]).fetchall()]


def _table(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


def test_staff_see_the_ledger_per_household_and_what_to_carry_up(central, parcels):
    before = len(_audits(central, "view_deliveries"))
    with central.client("staff") as c:
        r = c.get("/deliveries", params={"day_from": DAY})
    assert r.status_code == 200
    ledger = _table(r.text, "deliveries")
    assert "顺丰" in ledger and "13800138000" in ledger and "东门" in ledger and "生鲜" in ledger and "王芳" in ledger
    assert "京东" in ledger and "待取件" in ledger
    per = _table(r.text, "per-household")
    assert "3-2-401" in per and "5-1-101" in per
    carry = _table(r.text, "carry")
    assert "9-9-909" in carry and "药品" in carry and "顺丰" not in carry
    assert len(_audits(central, "view_deliveries")) == before + 1
    assert _audits(central, "view_deliveries")[-1]["phones_shown"] is True


def test_viewers_see_phones_and_names_masked_and_cannot_export(central, parcels):
    with central.client("viewer") as c:
        r = c.get("/deliveries", params={"day_from": DAY})
        assert c.get("/deliveries/export.csv", params={"day_from": DAY}).status_code == 403
        assert c.get("/deliveries/export.xlsx", params={"day_from": DAY}).status_code == 403
    assert r.status_code == 200
    assert "13800138000" not in r.text and "138****8000" in r.text and "王芳" not in r.text and "王*" in r.text
    assert _audits(central, "view_deliveries")[-1]["phones_shown"] is False


def test_search_by_household_company_phone_status_and_a_bad_period(central, parcels):
    with central.client("staff") as c:
        by_household = c.get("/deliveries", params={"household": "3-2-401"}).text  # no day: the last 92 days
        by_company = c.get("/deliveries", params={"day_from": DAY, "company": "京东"}).text
        by_phone = c.get("/deliveries", params={"day_from": DAY, "phone": "139 1234"}).text
        waiting = c.get("/deliveries", params={"day_from": DAY, "status": "waiting"}).text
        bad = c.get("/deliveries", params={"day_from": DAY, "day_to": "2026-11-01"})
        bad_status = c.get("/deliveries", params={"day_from": DAY, "status": "lost"})
    assert "顺丰" in _table(by_household, "deliveries") and "京东" not in _table(by_household, "deliveries")
    assert "京东" in _table(by_company, "deliveries") and "顺丰" not in _table(by_company, "deliveries")
    assert "京东" in _table(by_phone, "deliveries") and "顺丰" not in _table(by_phone, "deliveries")
    assert "京东" in _table(waiting, "deliveries") and "顺丰" not in _table(waiting, "deliveries")
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.text
    assert bad_status.status_code == 400 and "状态" in bad_status.text


def test_exports_have_chinese_headers_plain_values_and_are_audited(central, parcels):
    before = len(_audits(central, "export_deliveries"))
    with central.client("staff") as c:
        text = c.get("/deliveries/export.csv", params={"day_from": DAY}).content.decode("utf-8-sig")
        xlsx = c.get("/deliveries/export.xlsx", params={"day_from": DAY})
    lines = [line for line in csv.reader(io.StringIO(text)) if line]
    header = next(line for line in lines if "快递公司" in line)
    assert header[:6] == ["登记时间", "门岗", "社区", "户号", "快递公司", "件数"] and "快递员电话" in header
    body = [line for line in lines[lines.index(header) + 1:] if "顺丰" in line]
    assert body and "13800138000" in body[0] and "王芳" in " ".join(body[0])
    wb = load_workbook(io.BytesIO(xlsx.content))
    ws = wb.active
    cells = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    head = next(i for i, row in enumerate(cells) if "快递公司" in row)
    company_col, count_col = cells[head].index("快递公司"), cells[head].index("件数")
    shunfeng = next(row for row in cells[head + 1:] if row[company_col] == "顺丰")
    assert shunfeng[count_col] == 2 and isinstance(shunfeng[0], datetime)
    assert len(_audits(central, "export_deliveries")) == before + 2


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_the_page_in_chromium(browser, central, parcels, width, height):  # noqa: F811 - the console's browser
    ctx = browser.new_context(base_url=central.url, viewport={"width": width, "height": height}, locale="zh-CN",
                              is_mobile=width < 500, has_touch=width < 500)
    try:
        page = ctx.new_page()
        page.goto("/login")
        page.fill("input[name=username]", "staff")
        page.fill("input[name=password]", PASSWORDS["staff"])
        page.click("button[type=submit]")
        page.wait_for_url(central.url + "/")
        page.goto(f"/deliveries?day_from={DAY}")
        assert "需工作人员送上门" in page.inner_text("h2.carry") and "9-9-909" in page.inner_text("#carry")
        if width > 1000:  # the menu keeps one line beside the others
            heights = page.evaluate("[...document.querySelectorAll('nav a')].map(a => a.getBoundingClientRect().top)")
            assert len(set(heights)) == 1, heights
        page.screenshot(path=str(SHOTS / f"deliveries-{width}.png"), full_page=True)
    finally:
        ctx.close()


def test_every_text_of_the_page_exists_in_both_languages(central, parcels):
    with central.client("staff") as c:
        zh = c.get("/deliveries", params={"day_from": DAY}).text
        en = c.get("/deliveries", params={"day_from": DAY, "lang": "en"}).text
    for html in (zh, en):
        assert "dl." not in html and "nav.deliveries" not in html  # no key shown instead of its words
    assert "需工作人员送上门" in zh and "To carry up" in en and "Courier phone" in en
    assert TEXTS["timeline_delivery"][0] and TEXTS["timeline_delivery_pickup"][1]  # the household file's labels


def test_the_entries_export_names_delivery_events_in_words(central, parcels):
    with central.client("staff") as c:
        r = c.get("/entries/export.csv", params={"household": "5-1-101"})
    rows = [row for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) if row]
    event = rows[0].index("事件")
    assert "快递代收" in [row[event] for row in rows[1:]]  # a word, not the code "delivery"
