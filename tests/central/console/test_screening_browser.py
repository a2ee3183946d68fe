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
