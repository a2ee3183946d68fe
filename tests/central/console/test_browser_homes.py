"""一户一档 in chromium (Playwright, 1366×768, zh-CN): a 300-household roster whose Chinese headers come in a new
order is uploaded, one column's mapping corrected, previewed, imported with a progress bar; then a household file
shows its members and its timeline. Screenshots go to /tmp/gatepass-console-shots/ for a person to look at."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.central.console.conftest import PASSWORDS
from tests.central.console.roster_fixture import SHUFFLED_HEADERS, roster_rows, write_roster
from tests.central.console.test_browser import SHOTS, browser, download, shot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def _open(browser, central, role: str, viewport: dict[str, int]):  # noqa: F811 - the fixture
    ctx = browser.new_context(base_url=central.url, viewport=viewport, accept_downloads=True, locale="zh-CN")
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    return ctx, page


def test_roster_import_walk_to_a_household_file(browser, central, tmp_path):  # noqa: F811 - the fixture
    roster = write_roster(tmp_path / "三号小区花名册.xlsx", households=300, headers=SHUFFLED_HEADERS)
    people = len(roster_rows(300))
    ctx, page = _open(browser, central, "staff", {"width": 1366, "height": 768})
    page.goto("/households")
    page.click("#roster-import")
    template = openpyxl.load_workbook(io.BytesIO(download(page, "#template"))).active
    assert [c.value for c in template[1]][:4] == ["楼号", "单元", "房号", "姓名"]
    shot(page, "homes-1-roster-upload")

    page.set_input_files("#roster-upload input[type=file]", str(roster))
    page.click("#roster-upload button[type=submit]")
    relation = SHUFFLED_HEADERS.index("称谓")
    expect(page.locator(f"#col{relation}")).to_have_value("")           # a word the guesser does not know
    expect(page.locator(f"#col{SHUFFLED_HEADERS.index('手机号码')}")).to_have_value("phone")
    expect(page.locator(f"#col{SHUFFLED_HEADERS.index('居住类型')}")).to_have_value("tenure")
    page.select_option(f"#col{relation}", "relation")                   # staff correct it
    shot(page, "homes-2-roster-mapping")

    page.click("#mapping-submit")
    expect(page.locator("#will-import")).to_contain_text(f"将导入 {people} 行：新增 {people} 人")
    assert page.locator("#bad-rows").count() == 0
    expect(page.locator("#preview tbody tr").first).to_contain_text("户主")  # the corrected column, previewed
    shot(page, "homes-3-roster-preview")

    page.click("#roster-run button[type=submit]")
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#job")).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("#percent")).to_have_text("100%")
    expect(page.locator("#job-result")).to_contain_text(f"新增 {people} 人")
    expect(page.locator("#job-result")).to_contain_text("涉及 300 户")
    shot(page, "homes-4-roster-done")

    page.click("text=查看住户")
    page.fill("#household-search input[name=q]", "第1网格")
    page.click("#household-search button[type=submit]")
    expect(page.locator('#households tr[data-household="1-1-101"]')).to_contain_text("独居老人")
    shot(page, "homes-5-households")
    page.click('#households tr[data-household="1-1-101"] a')
    expect(page.locator("#members tbody tr")).to_have_count(1)
    expect(page.locator("#members")).to_contain_text("户主")
    expect(page.locator("#members")).to_contain_text("13900000000")

    page.fill("#issue-form input[name=name]", "王伟")
    page.click("#issue-form button[type=submit]")
    page.click("#quarantine-form button[type=submit]")
    expect(page.locator("#timeline li")).to_have_count(2)
    expect(page.locator("#timeline")).to_contain_text("发放通行证")
    expect(page.locator("#timeline")).to_contain_text("居家隔离")
    shot(page, "homes-6-household-file")
    ctx.close()

    ctx, page = _open(browser, central, "staff", {"width": 390, "height": 844})
    page.goto("/households/1-1-103")
    expect(page.locator("#members tbody tr")).to_have_count(3)
    shot(page, "homes-7-household-phone")
    ctx.close()
    ctx, page = _open(browser, central, "viewer", {"width": 1366, "height": 768})
    page.goto("/households/1-1-103")
    expect(page.locator("#members")).not_to_contain_text("13900020000")
    shot(page, "homes-8-household-viewer")
    ctx.close()
    assert Path(SHOTS / "homes-6-household-file.png").exists()
