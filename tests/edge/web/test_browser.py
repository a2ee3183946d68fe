"""The guard page in Debian's chromium (playwright), at the Pi's 800x480; screenshots go to /tmp/gatepass-shots/."""

from __future__ import annotations

import time

import pytest

from sync.reasons import FAULTS
from tests.edge.web.conftest import Server, settings_for, shot
from tests.edge.web.fakes import FakeCheckpoint, make_outcome
from tests.edge.web.test_voice import recorder
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

REFUSED = dict(decision="refuse", code="expired", message_zh="通行证已过期", message_en="Pass expired")
FEVER = dict(decision="refuse", code="fever", fever=True, remeasure=True, temperature_c=38.2,
             message_zh="体温38.2°C，超过37.3°C，请复测", message_en="38.2 °C is above 37.3 °C: measure again")


def open_page(page, srv: Server, lang: str = "zh-CN"):
    # Not on a browser error page (a reload while the service is down): its opaque origin has no storage.
    page.add_init_script(f"if (location.protocol.startsWith('http')) localStorage.setItem('gp.lang', '{lang}')")
    page.goto(srv.url + "/")
    page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
    return page


def show(page, fake: FakeCheckpoint, seq: int, **fields):
    """Publish an outcome and wait until the page shows it; returns the outcome."""
    outcome = fake.publish(make_outcome(seq, **fields))
    page.wait_for_selector(f"#result[data-seq='{seq}']")
    return outcome


def text(page, sel: str) -> str:
    return page.inner_text(sel)


def sign_in(page):
    page.click("#btn-shift")
    enter_credentials(page)


def enter_credentials(page):
    """Guard 1001, PIN 2468 on the sign-in dialog's keypad, then OK."""
    page.click("#in-guard")
    for digit in "1001":
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#in-pin")
    for digit in "2468":
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#signin-ok")
    page.wait_for_selector("#dlg-signin", state="hidden")


@pytest.fixture
def srv(tmp_path, fake):
    with Server(fake, settings_for(tmp_path, screen={"result_hold_s": 30})) as s:
        yield s


def test_results_in_colour_with_reason_temperature_kind_and_validity(page, srv, fake):
    open_page(page, srv)
    assert text(page, "#headline") == "请出示通行证"
    assert page.get_attribute("#preview", "src").startswith("blob:")
    shot(page, "01-idle")

    show(page, fake, 1)
    assert page.get_attribute("#result", "data-state") == "pass"
    assert text(page, "#headline") == "请通行" and "通行证有效" in text(page, "#reason")
    assert "36.5 °C" in text(page, "#temp") and text(page, "#kind") == "居民" and "有效至" in text(page, "#valid")
    shot(page, "02-pass-green")

    show(page, fake, 2, **REFUSED)
    assert page.get_attribute("#result", "data-state") == "refuse" and text(page, "#headline") == "禁止通行"
    assert page.is_enabled("#btn-override")
    shot(page, "03-refuse-red")

    show(page, fake, 3, **FEVER)
    assert page.get_attribute("#result", "data-state") == "remeasure" and text(page, "#headline") == "请复测体温"
    assert "38.2" in text(page, "#temp")
    shot(page, "04-fever-remeasure-amber")

    show(page, fake, 4, **{**FEVER, "remeasure": False, "message_zh": "两次体温异常（38.4°C），禁止通行",
                           "temperature_c": 38.4})
    assert page.get_attribute("#result", "data-state") == "fever" and text(page, "#headline") == "体温异常"
    shot(page, "05-fever-red")

    show(page, fake, 5, decision="guard", code="no_temperature", temperature_c=None,
         message_zh="未测到体温，请保安决定", message_en="No temperature reading: the guard decides")
    assert page.get_attribute("#result", "data-state") == "guard" and text(page, "#headline") == "请保安处理"
    assert text(page, "#temp") == "未测体温"
    shot(page, "06-guard-decides-amber")


def test_result_returns_to_idle_after_the_hold_time(page, tmp_path, fake):
    with Server(fake, settings_for(tmp_path, screen={"result_hold_s": 1})) as s:
        open_page(page, s)
        show(page, fake, 1)
        page.wait_for_function("document.getElementById('result').dataset.state === 'idle'", timeout=5000)
        assert text(page, "#headline") == "请出示通行证"


def test_faults_sync_and_list_state_in_plain_words(page, srv, fake):
    fake.devices["thermometer"] = {"status": "disconnected", "text": "测温仪未连接，正在自动重试（请检查USB线）"}
    fake.faults = ["测温仪未连接，正在自动重试（请检查USB线）", FAULTS["disk_low"]["zh"]]
    fake.clock_trusted = False
    fake.sync = {"last_ok_ts": time.time() - 3 * 3600, "backlog": 42, "text": "离线"}
    fake.lists = {"version": 12, "age_s": 30 * 3600, "stale": True}
    fake.jpeg = None
    open_page(page, srv)
    page.wait_for_selector("#faults:not([hidden])")
    faults = text(page, "#faults")
    assert "测温仪未连接" in faults and "存储空间不足" in faults and "名单已过期" in faults
    assert faults.count("测温仪未连接") == 1 and faults.count("设备时间未校准") == 1
    assert "未联网" in text(page, "#conn") and "待上传 42 条" in text(page, "#sync-info")
    assert "1天前" in text(page, "#list-info")
    page.wait_for_selector("#preview-none:not([hidden])")
    shot(page, "07-faults")
    page.click("#btn-lang")
    page.wait_for_function("document.getElementById('faults').textContent.includes('Thermometer disconnected')")
    assert "Low disk space" in text(page, "#faults")
    shot(page, "07b-faults-en")


def test_sign_in_with_pin_pad_override_and_hand_over(page, srv, fake):
    open_page(page, srv)
    refused = show(page, fake, 1, **REFUSED)
    page.click("#btn-override")  # no shift yet: the sign-in comes first, then the override dialog
    page.wait_for_selector("#dlg-signin:not([hidden])")
    page.click("#in-guard")
    for digit in "1001":
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#in-pin")
    for digit in "1111":
        page.click(f"#keypad [data-key='{digit}']")
    shot(page, "08-shift-sign-in")
    page.click("#signin-ok")
    page.wait_for_function("document.getElementById('signin-msg').textContent.includes('PIN')")
    shot(page, "08b-sign-in-wrong-pin")
    page.click("#in-pin")
    for digit in "2468":
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#signin-ok")
    page.wait_for_selector("#dlg-override:not([hidden])")
    assert "通行证已过期" in text(page, "#override-what")
    page.click("#override-ok")
    assert "请选择放行事由" in text(page, "#override-msg")
    page.click("[data-reason='emergency']")
    shot(page, "09-override-dialog")
    page.click("#override-ok")
    page.wait_for_selector("#dlg-override", state="hidden")
    page.wait_for_selector("#result[data-seq='101']")
    assert fake.calls[-1] == ("override", refused.uuid, "1001", "emergency", "", False)
    assert text(page, "#headline") == "保安放行" and not page.is_enabled("#btn-override")
    page.wait_for_function("document.getElementById('shift-info').textContent.includes('1001')")
    shot(page, "10-override-done")

    page.click("#btn-shift")
    page.wait_for_selector("#dlg-summary:not([hidden])")
    assert "1" in text(page, "#summary-table")
    shot(page, "11-hand-over-running")
    page.click("#summary-ok")
    page.wait_for_function("document.getElementById('summary-ok').textContent === '完成'")
    assert fake.calls[-1] == ("end_shift",) and fake.shift is None
    shot(page, "12-hand-over-summary")
    page.click("#summary-ok")
    assert text(page, "#btn-shift") == "保安签到"


def test_visitor_form(page, srv, fake):
    open_page(page, srv)
    sign_in(page)
    page.click("#btn-visitor")
    page.wait_for_selector("#dlg-visitor:not([hidden])")
    page.click("#visitor-ok")
    assert "请填写" in text(page, "#visitor-msg")
    page.fill("#in-v-name", "王小明")
    page.fill("#in-v-phone", "13800138000")
    page.fill("#in-v-host", "3-2-101")
    page.fill("#in-v-temp", "36.6")
    page.click("#visitor-reasons .choice >> nth=0")
    shot(page, "13-visitor-form")
    page.click("#visitor-ok")
    page.wait_for_selector("#dlg-visitor", state="hidden")
    page.wait_for_selector("#result[data-seq='101']")
    assert fake.calls[-1] == ("visitor", "1001", "王小明", "13800138000", "3-2-101", "探亲访友", 36.6)
    assert text(page, "#headline") == "访客已登记"
    shot(page, "14-visitor-registered")


def test_english_page(page, srv, fake):
    open_page(page, srv, lang="en")
    show(page, fake, 1, **FEVER)
    assert text(page, "#headline") == "Measure again" and "above 37.3" in text(page, "#reason")
    assert text(page, "#btn-lang") == "中文" and text(page, "#btn-override") == "Let through"
    shot(page, "15-english-fever")
    page.click("#btn-lang")
    assert text(page, "#headline") == "请复测体温"


def test_a_browser_that_refuses_storage_still_shows_outcomes_and_switches_language(page, srv, fake):
    # A locked-down kiosk profile throws on any use of localStorage; the language choice then lasts for the page.
    page.add_init_script("Object.defineProperty(window, 'localStorage', "
                         "{get() { throw new DOMException('Access is denied', 'SecurityError'); }})")
    page.goto(srv.url + "/")
    page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
    show(page, fake, 1, **FEVER)
    assert text(page, "#headline") == "请复测体温"
    page.click("#btn-lang")
    assert text(page, "#headline") == "Measure again"


def test_unattended_mode_is_a_status_display_without_controls(page, tmp_path):
    fake = FakeCheckpoint(mode="unattended")
    with Server(fake, settings_for(tmp_path, mode="unattended", screen={"result_hold_s": 30})) as s:
        open_page(page, s)
        assert page.query_selector_all("button") == []
        shot(page, "16-unattended-idle")
        show(page, fake, 1, **REFUSED)
        assert text(page, "#headline") == "禁止通行"
        shot(page, "17-unattended-refuse")


def test_targets_are_big_enough_for_gloves(page, srv, fake):
    open_page(page, srv)
    for sel in ("#btn-override", "#btn-visitor", "#btn-shift"):
        box = page.locator(sel).bounding_box()
        assert box["height"] >= 60 and box["width"] >= 200, (sel, box)
    page.click("#btn-shift")
    for key in page.locator("#keypad button").all():
        box = key.bounding_box()
        assert box["height"] >= 80 and box["width"] >= 100
    # Nothing spills out of the 800x480 screen.
    assert page.evaluate("document.documentElement.scrollHeight <= 480 && document.documentElement.scrollWidth <= 800")


def test_page_reconnects_after_the_service_restarts(page, tmp_path, fake):
    settings = settings_for(tmp_path, screen={"result_hold_s": 30})
    first = Server(fake, settings)
    with first:
        open_page(page, first)
        show(page, fake, 1)
    page.wait_for_function("document.getElementById('conn').dataset.state === 'lost'", timeout=10000)
    assert "本机服务断开" in text(page, "#faults")
    shot(page, "18-service-lost")
    page.evaluate("window.beforeRestart = true")
    again = Server(fake, settings)
    again.port, again.url = first.port, first.url
    again.server.config.port = first.port
    with again:
        # A new service instance reloads the page; wait for that reload so none is left in flight when it stops.
        page.wait_for_function("!window.beforeRestart", timeout=15000)
        page.wait_for_function("document.getElementById('conn').dataset.state !== 'lost'", timeout=15000)
        page.wait_for_function("document.getElementById('sync-info').textContent.length > 0")
        show(page, fake, 2, **REFUSED)
        assert text(page, "#headline") == "禁止通行"


def test_voice_follows_outcomes_and_the_mute_toggle(page, tmp_path, fake):
    settings = settings_for(tmp_path, voice={"enabled": True, "player": recorder(tmp_path)},
                            screen={"result_hold_s": 30})
    with Server(fake, settings) as s:
        open_page(page, s)
        played = tmp_path / "played"
        show(page, fake, 1)
        assert wait_until(lambda: len(list(played.iterdir())) == 1)
        assert text(page, "#btn-mute") == "声音：开"
        page.click("#btn-mute")  # a guard's choice: sign in first
        page.wait_for_selector("#dlg-signin:not([hidden])")
        enter_credentials(page)
        page.wait_for_selector("#btn-mute[aria-pressed='true']")
        assert s.app.state.page.voice.player.muted
        shot(page, "19-muted")
        show(page, fake, 2, **REFUSED)
        time.sleep(0.5)
        assert len(list(played.iterdir())) == 1  # muted: nothing more was played
        page.click("#btn-mute")
        page.wait_for_selector("#btn-mute[aria-pressed='false']")
        show(page, fake, 3, **FEVER)
        assert wait_until(lambda: len(list(played.iterdir())) == 2)


def test_override_dialog_keeps_its_refusal_when_a_new_scan_arrives(page, srv, fake):
    # Regression: the dialog sent the uuid of whatever outcome was on screen at "OK", so a scan arriving while
    # the guard picked a reason made the override target the next person instead.
    open_page(page, srv)
    sign_in(page)
    refused = show(page, fake, 1, **REFUSED)
    page.click("#btn-override")
    page.wait_for_selector("#dlg-override:not([hidden])")
    show(page, fake, 2, **FEVER)  # the next person, refused too
    page.click("[data-reason='medical']")
    page.click("#override-ok")
    page.wait_for_selector("#dlg-override", state="hidden")
    assert [c for c in fake.calls if c[0] == "override"] == [("override", refused.uuid, "1001", "medical", "", False)]
