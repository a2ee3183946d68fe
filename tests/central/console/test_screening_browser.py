"""The screening register in chromium (zh-CN): the phone round on a 390×844 phone (worklist → tap to call →
record the outcome), and at 1366×768 the import of a questionnaire export (upload → mapping → preview → import)
then one click from a row to a home quarantine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from central import screening
from central.db import transaction
from central.screening import ScreenRow
from tests.central.console.conftest import PASSWORDS

SHOTS = Path("/tmp/h23")


def _browser(p):
    from tests.central.console.test_browser import ARGS

    return p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)


def _sign_in(page, central) -> None:
    page.goto("/login")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORDS["staff"])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")


@pytest.fixture(scope="module")
def chromium_ok():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)


def test_the_phone_round_at_390x844(central, chromium_ok):
    from playwright.sync_api import sync_playwright

    with transaction(central.db):
        central.db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES ('21-1-101', '三网格', 0) "
                           "ON CONFLICT (household) DO NOTHING")
    screening.import_rows(central.db, "close_contact_list", "街道密接名单 4月3日", [
        ScreenRow("13700000021", name="钱七", household="21-1-101", origin_city="上海", return_date="2022-04-02",
                  travel="G1234 / CA1234", category="close_contact"),
        ScreenRow("13700000022", name="孙八", household="东山路5号", origin_city="吉林", travel="自驾")],
        by="staff", now=time.time())
    pid = screening.people(central.db, screening.Filters(text="钱七"), now=time.time())[0][0]["id"]
    with sync_playwright() as p:
        b = _browser(p)
        ctx = b.new_context(base_url=central.url, viewport={"width": 390, "height": 844}, locale="zh-CN",
                            device_scale_factor=1, is_mobile=True, has_touch=True)
        page = ctx.new_page()
        _sign_in(page, central)
        page.goto("/screening/worklist")
        card = page.locator(f"article[data-person='{pid}']")
        assert card.locator("a.tel").get_attribute("href") == "tel:13700000021"
        box = card.locator("button[value=reached]").bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 100  # big enough for a thumb
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        page.screenshot(path=str(SHOTS / f"worklist-390-{central.db.__class__.__name__}.png"), full_page=False)
        card.locator("input[name=note]").fill("已告知居家，明早上门")
        card.locator("button[value=reached]").click()
        page.wait_for_selector("#call-saved")
        assert page.locator(f"article[data-person='{pid}']").count() == 0  # reached: off the round
        page.goto(f"/screening/people/{pid}")
        assert "已告知居家，明早上门" in page.inner_text("#calls") and "已联系" in page.inner_text("#calls")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / f"person-390-{central.db.__class__.__name__}.png"), full_page=True)
        b.close()
    call = screening.calls(central.db, pid)[0]
    assert (call["outcome"], call["called_by"]) == ("reached", "staff")


def _questionnaire(path: Path, people: int) -> None:
    """A 问卷星-style export: metadata columns, question headers, one bad row (no such day, bad phone)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "提交答卷时间", "来自IP", "1、您的姓名", "2、联系电话", "3、现居住地址（楼号单元房号）",
                  "4、返回地", "5、返京日期", "6、车次/航班号", "7、目前健康状况", "8、是否有密接史"])
    for i in range(people):
        sheet.append([i + 1, "2022/4/5 10:00:00", "10.0.0.1", f"居民{i}", f"1360000{i:04d}", f"31号楼1单元{101 + i}",
                      "上海", time.strftime("%Y/%m/%d"), "G1234" if i % 2 else "CA1234", "正常", "无"])
    sheet.append([people + 1, "2022/4/5 10:00:00", "10.0.0.1", "坏行", "12345", "", "", "2022/2/30", "", "", ""])
    sheet.append([people + 2, "2022/4/5 10:00:00", "10.0.0.1", "居民0", "136 0000 0000", "", "", "", "", "发热", ""])
    book.save(path)


def test_import_mapping_preview_then_one_click_to_quarantine_at_1366(central, chromium_ok, tmp_path):
    from playwright.sync_api import sync_playwright

    with transaction(central.db):
        for room in (101, 102, 103):
            central.db.execute("INSERT INTO household_files (household, grid, updated_at) VALUES (?, '四网格', 0) "
                               "ON CONFLICT (household) DO NOTHING", [f"31-1-{room}"])
    upload = tmp_path / "问卷星导出.xlsx"
    _questionnaire(upload, 30)
    name = central.db.__class__.__name__
    with sync_playwright() as p:
        b = _browser(p)
        page = b.new_context(base_url=central.url, viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
        _sign_in(page, central)
        page.goto("/screening/import")
        page.select_option("select[name=kind]", "questionnaire")
        page.fill("input[name=label]", "问卷星 返京登记")
        page.set_input_files("input[name=file]", str(upload))
        page.click("#upload-form button[type=submit]")
        page.wait_for_selector("#mapping-form")
        assert page.input_value("#col4") == "phone" and page.input_value("#col2") == ""  # 来自IP: not a city
        page.select_option("#col6", "origin_city")  # 返回地: the city, which the guess left out
        page.screenshot(path=str(SHOTS / f"import-mapping-1366-{name}.png"), full_page=True)
        page.click("#mapping-submit")
        page.wait_for_selector("#commit-form")
        assert "可导入 31 行（30 人）" in page.inner_text("#good-count")
        assert "没有这一天" in page.inner_text("#bad-rows") and "电话号码无效" in page.inner_text("#bad-rows")
        page.screenshot(path=str(SHOTS / f"import-preview-1366-{name}.png"), full_page=True)
        page.click("#commit-form button[type=submit]")
        page.wait_for_selector("#imported")
        assert "新增 30 人" in page.inner_text("#imported")
        row = page.locator("#register tr", has_text="居民1").first
        assert "31-1-102" in row.inner_text() and "上海" in row.inner_text()
        row.locator("form.one-click button").click()
        page.wait_for_load_state()
        row = page.locator("#register tr", has_text="居民1").first
        assert "已转居家隔离" in row.inner_text()
        page.screenshot(path=str(SHOTS / f"register-1366-{name}.png"), full_page=False)
        b.close()
    pid = screening.people(central.db, screening.Filters(text="13600000001"), now=time.time())[0][0]
    q = central.db.execute("SELECT household, first_day, last_day, status FROM quarantines WHERE id = ?",
                           [pid["quarantine_id"]]).fetchone()
    assert q[0] == "31-1-102" and q[1] == time.strftime("%Y-%m-%d") and q[3] == "active"
    zero = screening.people(central.db, screening.Filters(text="13600000000"), now=time.time())[0][0]
    assert zero["health"] == "发热"  # the repeated row merged into the same person
