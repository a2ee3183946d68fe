"""The week's roster on paper and in Excel, and stand-ins ("顶岗、补岗") through the console (issue 17)."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from central import duty, people
from central.console import audit
from tests.central.console.conftest import PASSWORDS, csrf_of

MONDAY = "2026-12-07"
OUT = Path("/tmp/h10")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
POSTS = (("东门值守", "point"), ("西门值守", "building"), ("巡逻一组", "patrol"), ("收货点", "point"))
PEOPLE = [(f"47{i:02d}", name) for i, name in enumerate(
    ("孙刚", "周敏", "吴涛", "郑华", "王芳", "李强", "赵磊", "钱丽", "陈军", "杨洋"))]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def week(central):
    """A normal week: 4 posts with a day and a night slot each day (56 slots), 10 people."""
    for gid, name in PEOPLE:
        if people.by_guard(central.db, gid) is None:
            people.add(central.db, gid, name, "13700000000", "watch")
    made = {}
    for name, kind in POSTS:
        found = [p.id for p in duty.posts(central.db) if p.name == name]
        made[name] = found[0] if found else duty.add_post(central.db, name, kind)
    if not duty.slots(central.db, *_bounds()):
        with central.client("staff") as c:
            token = csrf_of(c.get("/duty").text)
            for k, name in enumerate(made):
                for j, (start, end) in enumerate((("08:00", "20:00"), ("20:00", "08:00"))):
                    gid = PEOPLE[(2 * k + j) % len(PEOPLE)][0]
                    got = c.post("/duty/slots", data={"csrf": token, "post_id": made[name], "guard_id": gid,
                                                      "day": MONDAY, "start": start, "end": end, "days": 7})
                    assert got.status_code == 303, got.text
    return made


def _bounds():
    from zoneinfo import ZoneInfo
    tz = ZoneInfo("Asia/Shanghai")
    first = datetime(2026, 12, 7, tzinfo=tz).timestamp()
    return first, first + 7 * 86400


def test_a_stand_in_is_recorded_with_approver_and_reason_shown_and_audited(central, week):
    slot = next(s for s in duty.slots(central.db, *_bounds()) if s.post_id == week["东门值守"])
    assert slot.guard_id == "4700" and not slot.original
    with central.client("staff") as c:
        token = csrf_of(c.get("/duty", params={"day": MONDAY}).text)
        url = f"/duty/slots/{slot.id}/stand-in"
        no_reason = c.post(url, data={"csrf": token, "guard_id": "4709", "reason": "  ", "day": MONDAY})
        assert no_reason.status_code == 400 and "顶岗原因" in no_reason.text
        nobody = c.post(url, data={"csrf": token, "guard_id": "9999", "reason": "家中有事", "day": MONDAY})
        assert nobody.status_code == 400 and "不是在岗的值班人员" in nobody.text
        assert c.post("/duty/slots/999999/stand-in", data={"csrf": token, "guard_id": "4709", "reason": "病假",
                                                            "day": MONDAY}).status_code == 400
        done = c.post(url, data={"csrf": token, "guard_id": "4709", "reason": "孙刚被单位召回 顶岗", "day": MONDAY})
        assert done.status_code == 303, done.text
        html = c.get("/duty", params={"day": MONDAY}).text
    row = _text(html.split(f'data-slot="{slot.id}"', 1)[1].split("</tr>", 1)[0])
    assert "杨洋（4709）" in row and "顶替 孙刚（4700）" in row  # the stand-in and the original
    changes = _text(html.split('id="stand-ins"', 1)[1].split("</table>", 1)[0])
    assert "东门值守" in changes and "孙刚（4700）" in changes and "杨洋（4709）" in changes
    assert "孙刚被单位召回 顶岗" in changes and "staff" in changes  # why, and who approved
    got = duty.slots(central.db, slot.start_ts, slot.start_ts + 1)
    mine = next(s for s in got if s.id == slot.id)
    assert (mine.guard_id, mine.original) == ("4709", "4700")
    logged = audit.recent(central.db, 5, username="staff", action="duty_stand_in")
    assert logged and "4709" in str(logged[0]) and "召回" in str(logged[0])


def test_viewers_cannot_put_a_stand_in(central, week):
    slot = duty.slots(central.db, *_bounds())[0]
    with central.client("viewer") as c:
        page = c.get("/duty", params={"day": MONDAY})
        assert "stand-in-form" not in page.text
        refused = c.post(f"/duty/slots/{slot.id}/stand-in", data={"csrf": csrf_of(page.text), "guard_id": "4705",
                                                                   "reason": "替班"})
        assert refused.status_code == 403
    assert duty.slots(central.db, slot.start_ts, slot.start_ts + 1)[0].guard_id == slot.guard_id


def test_copying_a_week_puts_back_the_person_first_rostered(central):
    people.add(central.db, "4790", "冯雪", "", "watch")
    people.add(central.db, "4791", "韩梅", "", "watch")
    post = duty.add_post(central.db, "隔离楼 3 栋", "building")
    with central.client("staff") as c:
        token = csrf_of(c.get("/duty").text)
        assert c.post("/duty/slots", data={"csrf": token, "post_id": post, "guard_id": "4790", "day": "2026-11-02",
                                           "start": "08:00", "end": "20:00"}).status_code == 303
        slot = next(s for s in duty.slots(central.db, 0, 1e12) if s.post_id == post)
        assert c.post(f"/duty/slots/{slot.id}/stand-in", data={"csrf": token, "guard_id": "4791",
                                                               "reason": "病假"}).status_code == 303
        assert c.post("/duty/copy-week", data={"csrf": token, "day": "2026-11-09"}).status_code == 303
    mine = [s for s in duty.slots(central.db, 0, 1e12) if s.post_id == post]
    assert [(s.guard_id, s.original) for s in mine] == [("4791", "4790"), ("4790", "")]


def test_the_roster_exports_to_xlsx_by_the_console_conventions(central, week):
    with central.client("viewer") as c:
        page = c.get("/duty", params={"day": MONDAY}).text
        assert f'href="/duty/roster.xlsx?day={MONDAY}"' in page
        got = c.get("/duty/roster.xlsx", params={"day": MONDAY})
        assert got.status_code == 200 and "roster-2026-12-07.xlsx" in got.headers["content-disposition"]
        assert c.get("/duty/roster.xlsx", params={"day": "12/07"}).status_code == 400
    ws = load_workbook(io.BytesIO(got.content)).active
    assert ws.title == "排班表" and ws.freeze_panes == "A3"
    assert "值班排班表 2026-12-07 至 2026-12-13" in ws["A1"].value
    assert [c.value for c in ws[2]] == ["岗位", "日期", "开始", "结束", "工号", "姓名", "原排班人员（顶岗时）"]
    rows = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] in dict(POSTS)]
    assert len(rows) == 56
    first = next(r for r in rows if r[0] == "西门值守")
    assert first[1] == datetime(2026, 12, 7) and ws.cell(3, 2).number_format == "yyyy-mm-dd"
    assert first[2] == datetime(2026, 12, 7, 8, 0) and first[3] == datetime(2026, 12, 7, 20, 0)
    night = [r for r in rows if r[0] == "西门值守" and r[2].hour == 20]
    assert night[-1][1] == datetime(2026, 12, 13) and night[-1][3] == datetime(2026, 12, 14, 8, 0)
    assert any(r[6] == "孙刚（4700）" for r in rows)  # the stand-in of the test above (module order)
    assert audit.recent(central.db, 5, username="viewer", action="export_duty_roster")


def test_the_print_page_is_an_a4_landscape_sheet_with_posts_days_and_a_signature_line(central, week):
    with central.client("viewer") as c:
        assert f'href="/duty/roster/print?day={MONDAY}"' in c.get("/duty", params={"day": MONDAY}).text
        got = c.get("/duty/roster/print", params={"day": MONDAY})
        html = got.text
        assert c.get("/duty/roster/print", params={"day": "nonsense"}).status_code == 400
    assert "size: A4 landscape" in html and 'lang="zh-CN"' in html
    assert "style-src 'self' 'unsafe-inline'" in got.headers["content-security-policy"]  # the inline print CSS
    assert "script-src 'none'" in got.headers["content-security-policy"]
    text = _text(html)
    assert "值班排班表" in text and "2026-12-07 至 2026-12-13" in text
    assert "打印日期" in text and "负责人签字" in text
    assert "12-07 星期一" in text and "12-13 星期日" in text
    body = html.split('id="roster-print"', 1)[1]
    rows = [_text(r) for r in body.split("<tr>")[2:]]
    west = next(r for r in rows if "西门值守" in r)
    assert west.count("08:00–20:00") == 7 and west.count("20:00–08:00") == 7
    assert audit.recent(central.db, 5, username="viewer", action="print_duty_roster")


@pytest.mark.browser
def test_a_normal_week_prints_on_one_a4_page(central, week):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    pdf_path = OUT / "roster.pdf"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            ctx = browser.new_context(base_url=central.url, locale="zh-CN")
            page = ctx.new_page()
            page.goto("/login")
            page.fill("input[name=username]", "staff")
            page.fill("input[name=password]", PASSWORDS["staff"])
            page.click("button[type=submit]")
            page.wait_for_url(central.url + "/")
            page.set_viewport_size({"width": 1280, "height": 860})
            page.goto(f"/duty?day={MONDAY}")
            page.locator("#roster details summary").first.click()  # the stand-in form of the first slot
            page.screenshot(path=str(OUT / "duty-page.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 900})
            page.goto(f"/duty/roster/print?day={MONDAY}")
            page.emulate_media(media="print")
            page.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and abs(float(size[1]) - 841.89) < 2 and abs(float(size[2]) - 595.28) < 2, info  # A4 landscape
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf_path), str(OUT / "roster")], check=True)
    pngs = sorted(OUT.glob("roster*.png"))
    assert pngs and pngs[0].stat().st_size > 10_000


def test_week_grid_puts_each_slot_under_the_day_it_starts_and_leaves_out_idle_posts():
    gate, idle = duty.Post(1, "东门", "gate", "g1"), duty.Post(2, "巡逻", "patrol", None)
    days = [1000.0 + i * 86400 for i in range(8)]
    night = duty.Slot(1, 1, "4700", "孙刚", days[6] + 20 * 3600, days[7] + 8 * 3600)  # Sunday night, to Monday
    early = duty.Slot(2, 1, "4701", "周敏", days[0], days[0] + 3600)
    before = duty.Slot(3, 1, "4702", "吴涛", days[0] - 3600, days[0] + 3600)  # started the week before
    grid = duty.week_grid([gate, idle], [early, night, before], days)
    assert len(grid) == 1 and grid[0].post is gate
    assert grid[0].days[0] == [early] and grid[0].days[6] == [night] and not any(grid[0].days[1:6])


def test_the_print_page_in_english_has_no_bare_keys(central, week):
    with central.client("admin") as c:
        html = c.get("/duty/roster/print", params={"day": MONDAY, "lang": "en"}).text
    assert not re.findall(r">\s*((?:duty|nav)\.[a-z_.0-9]+)\s*<", html)
    assert "Duty roster" in html and "Person in charge" in html and "Monday" in html
