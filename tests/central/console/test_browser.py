"""The console driven through Debian's chromium (Playwright): every page, exports, passes and a sync round.

Screenshots of each page go to /tmp/gatepass-console-shots/ for a person to look at.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright

from tests.central.console.conftest import PASSWORDS

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/gatepass-console-shots")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module", autouse=True)
def fast_alert_refresh():
    from central.console.web import Console

    old, Console.alert_refresh_s = Console.alert_refresh_s, 1
    yield
    Console.alert_refresh_s = old


@pytest.fixture(scope="module")
def browser():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def open_as(browser, central, role: str, lang: str = "zh"):
    """A new browser context signed in as ``role`` through the login page."""
    ctx = browser.new_context(base_url=central.url, viewport={"width": 1280, "height": 860}, accept_downloads=True,
                              locale="zh-CN")
    page = ctx.new_page()
    page.goto("/login" + ("?lang=en" if lang == "en" else ""))
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(central.url + "/")
    return ctx, page


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def download(page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


def test_sign_in_page_and_wrong_password(browser, central):
    ctx = browser.new_context(base_url=central.url, viewport={"width": 1280, "height": 700})
    page = ctx.new_page()
    page.goto("/entries")
    assert page.url.startswith(central.url + "/login")
    shot(page, "01-login")
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text(".error")
    ctx.close()


def test_entries_filter_trace_and_exports(browser, central):
    ctx, page = open_as(browser, central, "staff")
    shot(page, "02-home")
    page.goto("/entries")
    shot(page, "03-entries")
    page.fill("input[name=gate_id]", "north")
    page.select_option("select[name=decision]", "refuse")
    page.click("#entry-filters button[type=submit]")
    rows = page.locator("#entries tbody tr")
    assert rows.count() == 2
    assert "north" in rows.nth(0).inner_text() and "拒绝" in rows.nth(0).inner_text()
    shot(page, "04-entries-filtered")
    xlsx = load_workbook(io.BytesIO(download(page, "text=导出 Excel")))
    data = list(xlsx.active.iter_rows(min_row=2, values_only=True))
    assert data[0][:4] == ("时间", "社区", "门岗", "门岗编号") and len(data) == 3
    assert {r[8] for r in data[1:]} == {"fever", "quarantined"} and {r[6] for r in data[1:]} == {"拒绝"}

    page.goto("/trace")
    page.select_option("select[name=kind]", "pass_id")
    page.fill("input[name=value]", "101")
    page.fill("input[name=since]", "2026-11-20T00:00")
    page.fill("input[name=until]", "2026-11-21T00:00")
    page.fill("input[name=minutes]", "10")
    page.click("#trace-form button[type=submit]")
    assert page.locator("#passages tbody tr").count() == 3
    contacts = page.inner_text("#contacts")
    assert "102" in contacts and "V-0001" in contacts and "201" not in contacts
    shot(page, "05-trace")
    text = download(page, "text=导出 CSV").decode("utf-8-sig")
    got = list(csv.DictReader(io.StringIO(text)))
    assert {r["通行证号"] or r["访客编号"] for r in got if r["类别"] == "同门岗前后通行"} == {"102", "103", "105",
                                                                                        "V-0001"}
    passages = [r for r in got if r["类别"] == "本人通行"]  # the subject's own passages are in the file too
    assert len(passages) == 3 and {r["通行证号"] for r in passages} == {"101"}
    wb = load_workbook(io.BytesIO(download(page, "text=导出 Excel")))
    assert wb.sheetnames == ["通行记录", "同门岗前后通行人员"] and wb["通行记录"].max_row == 2 + 3
    audit = central.db.execute("SELECT action, detail FROM audit_log WHERE username = 'staff' AND action LIKE "
                               "'export_%' ORDER BY id").fetchall()
    assert [a for a, _ in audit][-3:] == ["export_entries", "export_trace", "export_trace"]
    ctx.close()


def test_daily_report_chart_and_export(browser, central):
    ctx, page = open_as(browser, central, "viewer")
    page.goto("/report?day=2026-11-20")
    svg = page.locator("figure.chart-box svg")
    assert svg.count() == 1 and page.locator("figure.chart-box polyline").count() == 3
    assert page.locator("script[src^=http], link[href^=http]").count() == 0
    shot(page, "06-report")
    wb = load_workbook(io.BytesIO(download(page, "text=导出 Excel")))
    hourly = list(wb["按小时"].iter_rows(min_row=2, values_only=True))
    assert hourly[0] == ("日期", "社区", "门岗", "门岗编号", "时段", "小时", "进入", "外出", "访客", "拒绝", "发热",
                         "保安放行")
    assert sum(r[6] for r in hourly[1:-1]) == 8 and hourly[-1][0] == "合计" and hourly[-1][6] == 8
    page.click("#today")
    assert page.locator("input[name=day]").input_value() == time.strftime("%Y-%m-%d", time.gmtime(
        time.time() + 8 * 3600))
    page.goto("/report?day=2026-11-20&lang=en")
    assert "Entries per hour per gate" in page.inner_text("figure.chart-box")
    shot(page, "07-report-en")
    page.goto("/lang/zh?next=/report")
    ctx.close()


def test_alerts_live_list_and_ack(browser, central):
    ctx, page = open_as(browser, central, "staff")
    page.goto("/alerts?hours=336")
    table = page.locator("#alerts tbody")
    assert table.locator("tr").count() == 4
    assert table.locator("tr.alert-double_entry").count() == 1 and table.locator("tr.alert-two_gates").count() == 1
    shot(page, "08-alerts")
    row = table.locator("tr.alert-fever")
    row.locator("input[name=note]").fill("已通知社区医生")
    row.locator("button").click()
    page.wait_for_url("**/alerts")
    page.goto("/alerts?hours=336")
    assert "已通知社区医生" in page.inner_text("tr.alert-fever")
    # the page refreshes its table by itself: a new fever entry appears without a reload
    from tests.central.console.data import entry, ingest_entries

    ingest_entries(central.db, "dev-n", "Garden", [entry(10, "dev-n", "north", time.time() - 30, pass_id="150",
                                                         fever=1, temp_c=38.9, decision="refuse", reason="fever")])
    expect(page.locator("#alerts tr.alert-fever")).to_have_count(2, timeout=15000)
    ctx.close()
    vctx, vpage = open_as(browser, central, "viewer")
    vpage.goto("/alerts?hours=336")
    assert vpage.locator("form.ack").count() == 0
    assert vpage.locator("a[href='/trace']").count() == 0  # households stay: viewers see them masked
    vpage.goto("/entries")
    assert vpage.locator("text=导出 CSV").count() == 0
    shot(vpage, "09-viewer-entries")
    vctx.close()


def test_households_passes_revocation_reaches_a_gate(browser, central, tmp_path):
    from sync import lists as edge_lists
    from sync.client import RejectedError, SyncClient
    from sync.settings import SyncSettings

    ctx, page = open_as(browser, central, "admin")
    # register a gate device in the console; its credential is shown once
    page.goto("/devices")
    page.fill("#add-device input[name=device_id]", "gate-test-1")
    page.fill("#add-device input[name=community]", "Garden")
    page.fill("#add-device input[name=gate_id]", "west")
    page.click("#add-device button[type=submit]")
    token = page.inner_text("#new-token pre").split('"')[1]
    pem = page.inner_text("#new-token pre >> nth=1").split('"""')[1]
    shot(page, "10-devices")

    register = tmp_path / "register.csv"
    register.write_text("户号,序号,类型,姓名,天数\n3-2-401,1,居民,张三,30\n3-2-401,2,居民,李四,30\n"
                        "3-2-401,x,居民,坏行,30\n", encoding="utf-8")
    page.goto("/households")
    page.set_input_files("#import-form input[type=file]", str(register))
    page.click("#import-form button[type=submit]")
    report = page.inner_text("#import-report")
    assert "2 ✓" in report and "#4" in report
    page.goto("/devices")  # the seeded gates hold list version 0; central is ahead now
    assert "过期" in page.inner_text("#devices tr:has-text('dev-n')")
    page.goto("/households?q=3-2")
    shot(page, "11-households")
    page.goto("/households/3-2-401")
    page.fill("#issue-form input[name=person]", "3")
    page.fill("#issue-form input[name=name]", "王五")
    page.click("#issue-form button[type=submit]")
    assert page.locator("#passes tbody tr").count() == 3
    pass_id = int(page.locator("#passes tbody tr").nth(2).get_attribute("data-pass"))
    row = page.locator(f"#passes tr[data-pass='{pass_id}']")
    row.locator("input[name=reason]").fill("卡片遗失")
    row.locator("button").click()
    assert "已注销" in page.inner_text(f"#passes tr[data-pass='{pass_id}']")
    page.fill("#quarantine-form input[name=first_day]", "2026-11-20")
    page.fill("#quarantine-form input[name=last_day]", "2099-12-03")
    page.click("#quarantine-form button[type=submit]")
    assert "2099-12-03" in page.inner_text("#q-status")
    shot(page, "12-household")
    cards = ctx.new_page()
    cards.goto(f"{central.url}/households/3-2-401/cards")
    assert cards.locator("svg").count() >= 2
    shot(cards, "13-cards")

    # one sync round of a simulated gate holding the credential: the revocation and quarantine arrive
    settings = SyncSettings(central_url=central.url, device_token=token, data_dir=tmp_path / "edge",
                            central_public_key=pem)
    client = SyncClient(settings)
    try:
        client.fetch_lists()
        _trust, gate_lists, _policy, _meta = edge_lists.load(client.db)
    finally:
        client.close()
    assert pass_id in gate_lists.revoked
    assert "3-2-401" in gate_lists.quarantine

    # revoking the device's credential in the console locks the gate out of central
    page.goto("/devices")
    page.locator("#devices tr", has_text="gate-test-1").locator("button.danger").click()
    assert "已停用" in page.inner_text("#devices tr:has-text('gate-test-1')")
    client = SyncClient(settings)
    try:
        with pytest.raises(RejectedError):
            client.fetch_lists()
    finally:
        client.close()

    page.goto("/audit")
    text = page.inner_text("#audit")
    assert "revoke_pass" in text and "import_register" in text and "add_device" in text and "revoke_device" in text
    shot(page, "14-audit")
    page.goto("/users")
    shot(page, "15-users")
    ctx.close()


def test_forbidden_page_is_a_readable_page_and_slash_households_open(browser, central):
    vctx, vpage = open_as(browser, central, "viewer")
    try:
        resp = vpage.goto("/users")
        assert resp is not None and resp.status == 403
        assert "您没有权限执行此操作" in vpage.inner_text("#error-message")
        assert vpage.locator("a[href='/entries']").count() == 1  # the normal navigation is there
        shot(vpage, "16-forbidden")
    finally:
        vctx.close()
    ctx, page = open_as(browser, central, "staff")
    try:
        page.goto("/households?q=" + "9/9/909")
        page.click("#new-household")
        assert page.inner_text("h1").endswith("9/9/909")
        page.fill("#issue-form input[name=name]", "赵六")
        page.click("#issue-form button[type=submit]")
        assert page.locator("#passes tbody tr[data-pass]").count() == 1
        shot(page, "17-household-with-slash")
    finally:
        ctx.close()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_the_menu_opens_one_group_at_a_time_and_keeps_one_line(browser, central, role):
    ctx, page = open_as(browser, central, role)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/care")
    tops = page.evaluate("[...document.querySelectorAll('#menu > a, #menu > details > summary')]"
                         ".map(e => e.getBoundingClientRect().top)")
    assert len(tops) >= 5 and max(tops) - min(tops) < 4  # one line at 1366 px
    homes = page.locator("#menu details.on")
    expect(homes.locator("summary")).to_contain_text("居家隔离")  # the page is named beside its group
    page.locator("#menu details summary", has_text="报表").click()
    expect(page.locator("#menu a[href='/report-templates']")).to_be_visible()
    page.locator("#menu details summary", has_text="值守").click()
    expect(page.locator("#menu a[href='/report-templates']")).to_be_hidden()  # the other group closed
    page.locator("#menu a[href='/duty']").click()
    page.wait_for_url(central.url + "/duty")
    assert (page.locator("#menu a[href='/users']").count() == 1) == (role == "admin")
    page.locator("body").click(position={"x": 600, "y": 400})
    expect(page.locator("#menu details[open]")).to_have_count(0)
    ctx.close()
