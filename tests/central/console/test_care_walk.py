"""The issue-15 walk for home-quarantine care, in chromium: a 300-household roster imported with Chinese headers in
a new order (:mod:`central.roster_import`, as the console's import does) → open the household file → quarantine a
member for 14 days → the resident's self-report page on a 390×844 phone records two temperatures → a missed
reading raises an alert → print the release notice (PDF, checked with pdftotext) → release → the record stays.
Screenshots go to /tmp/h22."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from central import care, homes, roster_import
from central.db import transaction
from central.tabular import guess_mapping
from tests.central.console.conftest import PASSWORDS
from tests.central.console.roster_fixture import HEADERS, household_id, roster_rows

OUT = Path("/tmp/h22")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
TZ = ZoneInfo("Asia/Shanghai")
HH = household_id(124)  # 4-1-105: two members (head, spouse)
ORDER = (*HEADERS[3:5], *HEADERS[:3], *HEADERS[5:])  # 姓名, 联系电话 first: not the template's order

pytestmark = pytest.mark.browser


def _signed_in(browser, central, viewport):
    ctx = browser.new_context(base_url=central.url, locale="zh-CN", viewport=viewport)
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", PASSWORDS["staff"])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    return page


def _pdf_text(page, path: Path) -> str:
    page.emulate_media(media="print")
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and abs(float(size[1]) - 595.28) < 2 and abs(float(size[2]) - 841.89) < 2, info  # A4 portrait
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def _start_quarantine(page, yesterday: str) -> int:
    page.goto("/care")
    page.fill("#start-form input[name=household]", HH)
    page.fill("#start-form input[name=person]", "1")
    page.select_option("#start-form select[name=source]", "returnee")
    page.fill("#start-form input[name=origin_city]", "武汉")
    page.fill("#start-form input[name=first_day]", yesterday)
    page.screenshot(path=str(OUT / "care-1366.png"), full_page=True)
    page.click("#start-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/care/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _self_report(browser, link: str) -> None:
    """The resident reports this morning's temperature late, then the afternoon's (corrected once)."""
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    page.goto(link)
    assert page.locator("h1").inner_text().startswith("居家隔离")
    box = page.locator("#temp").bounding_box()
    assert box and box["width"] > 300 and box["height"] >= 48  # a big input on a phone
    page.screenshot(path=str(OUT / "selfreport-390-open.png"), full_page=True)
    page.check("input[name=slot][value=am]")
    page.fill("#temp", "36.6")
    page.click("#report-form button")
    page.wait_for_selector("#saved")
    assert page.locator("input[name=slot][value=am]").count() == 0  # the morning is in
    page.fill("#temp", "abc")
    page.click("#report-form button")
    assert "请输入体温数字" in page.locator("#error").inner_text()
    page.fill("#temp", "36.9")
    page.click("#report-form button")
    page.wait_for_selector("#saved")
    page.fill("#temp", "36.8")  # a second reading of the slot corrects the first
    page.click("#report-form button")
    page.wait_for_selector("#saved")
    assert "36.6" in page.locator("#today").inner_text() and "36.8" in page.locator("#today").inner_text()
    page.screenshot(path=str(OUT / "selfreport-390.png"), full_page=True)
    phone.close()


def test_the_care_walk(central):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    people = roster_rows(300)
    plan, job = roster_import.import_rows(central.db, [(i + 2, [p[h] for h in ORDER]) for i, p in enumerate(people)],
                                          guess_mapping(ORDER, roster_import.FIELDS), by="staff",
                                          filename="花名册.xlsx")
    assert job is not None and not plan.bad
    assert central.db.execute("SELECT COUNT(DISTINCT household) FROM household_members").fetchone()[0] >= 300
    spouse = homes.member(central.db, HH, 1)
    assert spouse is not None and spouse.name
    yesterday = (datetime.now(TZ).date() - timedelta(days=1)).isoformat()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = _signed_in(browser, central, {"width": 1366, "height": 768})
            page.goto(f"/households/{HH}")  # the household file of the imported roster
            assert spouse.name in page.locator("main").inner_text()
            qid = _start_quarantine(page, yesterday)
            page.goto(f"/households/{HH}")  # its timeline holds the quarantine now
            assert "居家隔离" in page.locator("main").inner_text()
            page.screenshot(path=str(OUT / "household-file-1366.png"), full_page=True)
            page.goto(f"/care/{qid}")
            rec = care.record(central.db, qid)
            assert rec and rec.q.person == 1 and rec.q.first_day == yesterday
            assert (datetime.fromisoformat(rec.q.last_day) - datetime.fromisoformat(yesterday)).days == 13
            with transaction(central.db):  # registered yesterday morning: yesterday's slots were due
                central.db.execute("UPDATE care_quarantines SET created_at = ? WHERE quarantine_id = ?",
                                   [rec.q.start_ts + 1, qid])
            care.set_slot_ends(central.db, "00:01", "23:59")  # it is afternoon now, whatever the hour of the run
            link = page.locator("#care-people a.selfreport").first.get_attribute("href")
            assert link and "/r/" in link
            _self_report(browser, link)
            today = datetime.now(TZ).date().isoformat()
            got = {r.slot: r for r in care.readings(central.db, qid) if r.day == today}
            assert (got["am"].temp_c, got["am"].via) == (36.6, "self")
            assert (got["pm"].temp_c, got["pm"].via, got["pm"].previous_c) == (36.8, "self", 36.9)

            phone = _signed_in(browser, central, {"width": 390, "height": 844})  # the staff's phone round
            phone.goto("/care/round")
            assert phone.locator(f"#worklist form[data-key^='care_missed:{qid}:']").count() == 0  # today is in
            phone.screenshot(path=str(OUT / "care-round-390.png"), full_page=True)

            page.goto("/alerts?hours=72")
            missed = page.locator(f"tr[data-key='care_missed:{qid}:1:{yesterday}:am']")
            assert missed.count() == 1 and "隔离漏报体温" in missed.inner_text()
            page.screenshot(path=str(OUT / "alerts-1366.png"), full_page=False)
            missed.locator("input[name=note]").fill("已电话联系")
            missed.locator("button").click()
            page.wait_for_url(re.compile(r".*/alerts$"))
            page.goto("/alerts?hours=72")
            page.wait_for_selector(f"tr[data-key='care_missed:{qid}:1:{yesterday}:am'].acked")

            page.goto(f"/care/{qid}")
            page.screenshot(path=str(OUT / "care-record-1366.png"), full_page=True)
            page.goto(f"/care/{qid}/notice/1/quarantine")
            notice = _pdf_text(page, OUT / "notice-quarantine.pdf")
            for words in ("居家隔离告知书", spouse.name, yesterday, "扫码上报体温", "签字"):
                assert words in notice, words
            page.emulate_media(media="screen")
            page.goto(f"/care/{qid}/notice/1/release")
            text = _pdf_text(page, OUT / "notice-release.pdf")
            for words in ("解除隔离通知书", spouse.name, HH, yesterday, rec.q.last_day, "手印", "签字"):
                assert words in text, words
            subprocess.run(["pdftoppm", "-png", "-r", "60", str(OUT / "notice-release.pdf"),
                            str(OUT / "notice-release")], check=True)
            page.emulate_media(media="screen")

            page.goto(f"/care/{qid}")
            page.fill("#release-form input[name=note]", "期满解除")
            page.click("#release-form button")
            page.wait_for_selector("#released")
            kept = page.locator("main").inner_text()
            assert "已解除" in kept and "36.8" in kept and "36.6" in kept
            page.screenshot(path=str(OUT / "care-released-1366.png"), full_page=True)
        finally:
            browser.close()
    rec = care.record(central.db, qid)
    assert rec and rec.q.status == "released" and rec.q.released_by == "staff"
    assert len(care.readings(central.db, qid)) == 2
