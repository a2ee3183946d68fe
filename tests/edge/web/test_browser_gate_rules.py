"""Issue 13's guard page flows in Debian's chromium at 800x480, in zh-CN and English: override with 其他 and the
second confirmation, the health-code colour, a visitor to a quarantined household, the outage banner, the
hand-over lists, the idle prompt and a voice fault. Screenshots go to /tmp/shots-c2/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.events import ShiftNote
from edge.screen_settings import VoiceSection
from edge.voice import PromptLibrary, VoiceAnnouncer, VoicePlayer
from tests.edge.web.conftest import Server, settings_for
from tests.edge.web.fakes import FakeCheckpoint
from tests.edge.web.test_browser import open_page, show, sign_in, text

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots-c2")
LANGS = ["zh-CN", "en"]
QUARANTINED = dict(decision="refuse", code="quarantined", household="2-3-401", temperature_c=None,
                   message_zh="居家隔离期间，禁止外出", message_en="Home quarantine: you may not go out")
OFFLINE_ZH = "网络不通，记录已保存在本机，恢复后自动上传"


def snap(page, name: str, lang: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{'zh' if lang == 'zh-CN' else 'en'}.png"))


def fits(page, sel: str) -> None:
    """``sel`` is inside the 800x480 screen and its text is not cut (no overflow)."""
    box = page.locator(sel).bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 800.5, (sel, box)
    assert box["y"] + box["height"] <= 480.5, (sel, box)
    assert page.locator(sel).evaluate("e => e.scrollWidth <= e.clientWidth + 1 && "
                                      "e.scrollHeight <= e.clientHeight + 4"), f"{sel} text is cut"


@pytest.fixture
def srv(tmp_path, fake):
    with Server(fake, settings_for(tmp_path, screen={"result_hold_s": 30})) as s:
        yield s


@pytest.mark.parametrize("lang", LANGS)
def test_override_with_other_a_note_and_the_second_confirmation(page, srv, fake, lang):
    open_page(page, srv, lang)
    sign_in(page)
    refused = show(page, fake, 1, **QUARANTINED)
    assert "2-3-401" in text(page, "#unit") and text(page, "#temp") == ""  # no "未测体温" beside the reason
    snap(page, "c01-quarantine-refused", lang)
    page.click("#btn-override")
    page.wait_for_selector("#dlg-override:not([hidden])")
    assert "2-3-401" in text(page, "#override-what")
    page.click("[data-reason='other']")
    page.click("#override-ok")
    assert ("其他" in text(page, "#override-msg")) if lang == "zh-CN" else ("Other" in text(page, "#override-msg"))
    page.fill("#in-o-note", "社区书记电话同意就医")
    for sel in ("#override-reasons .choice >> nth=3", "#override-ok", "[data-close] >> nth=1"):
        box = page.locator(sel).bounding_box()
        assert box["height"] >= 60 and box["width"] >= 150, (sel, box)
    snap(page, "c02-override-other-note", lang)
    page.click("#override-ok")  # first tap: the second confirmation, naming the household
    page.wait_for_selector("#override-step2:not([hidden])")
    assert "2-3-401" in text(page, "#confirm-q")
    assert not any(c[0] == "override" for c in fake.calls)
    snap(page, "c03-override-second-confirmation", lang)
    fits(page, "#confirm-q")
    page.click("#override-ok")
    page.wait_for_selector("#dlg-override", state="hidden")
    assert fake.calls[-1] == ("override", refused.uuid, "1001", "other", "社区书记电话同意就医", True)
    page.wait_for_selector("#result[data-seq='101']")
    snap(page, "c04-override-done", lang)


def test_an_ordinary_refusal_is_let_through_without_a_second_question(page, srv, fake):
    open_page(page, srv)
    sign_in(page)
    refused = show(page, fake, 1, decision="refuse", code="expired", message_zh="通行证已过期", message_en="Expired")
    page.click("#btn-override")
    page.click("[data-reason='staff']")
    page.click("#override-ok")
    page.wait_for_selector("#dlg-override", state="hidden")
    assert fake.calls[-1] == ("override", refused.uuid, "1001", "staff", "", False)


@pytest.mark.parametrize("lang", LANGS)
def test_health_code_colour_buttons_on_a_held_scan(page, srv, fake, lang):
    fake.health_policy = "record"
    open_page(page, srv, lang)
    sign_in(page)
    fake.hold_for_health_code()
    page.wait_for_selector("#hc-buttons:not([hidden])")
    assert page.get_attribute("#result", "data-state") == "guard"
    assert not page.is_enabled("#btn-override")  # a held scan is not a refusal
    for colour in ("green", "yellow", "red"):
        box = page.locator(f".hc-btn[data-colour='{colour}']").bounding_box()
        assert box["height"] >= 90 and box["width"] >= 140, (colour, box)
    snap(page, "c05-health-code-buttons", lang)
    fits(page, "#hc-buttons")
    page.click(".hc-btn[data-colour='yellow']")
    page.wait_for_selector("#result[data-seq='101']")
    assert fake.calls[-1] == ("health_code", "yellow", "1001")
    assert page.is_hidden("#hc-buttons") and page.get_attribute("#result", "data-state") == "refuse"
    snap(page, "c06-health-code-yellow-refused", lang)
    fake.hold_for_health_code()
    page.wait_for_selector("#hc-buttons:not([hidden])")
    page.click(".hc-btn[data-colour='green']")
    page.wait_for_selector("#result[data-seq='102']")
    assert page.get_attribute("#result", "data-state") == "pass" and page.is_hidden("#hc-buttons")


def test_health_code_buttons_go_when_the_hold_ends_elsewhere(page, srv, fake):
    fake.health_policy = "require"
    open_page(page, srv)
    fake.hold_for_health_code()
    page.wait_for_selector("#hc-buttons:not([hidden])")
    fake.health_waiting = False  # timed out at the checkpoint (its refusal may come later)
    page.wait_for_selector("#hc-buttons", state="hidden", timeout=8000)


@pytest.mark.parametrize("lang", LANGS)
def test_visitor_to_a_quarantined_household_names_the_household(page, srv, fake, lang):
    fake.quarantined = {"2-3-401"}
    open_page(page, srv, lang)
    sign_in(page)
    page.click("#btn-visitor")
    page.fill("#in-v-name", "王小明")
    page.fill("#in-v-phone", "13800138000")
    page.fill("#in-v-host", "2-3-401")
    page.fill("#in-v-temp", "36.5")
    page.click("#visitor-reasons .choice >> nth=1")
    page.click("#visitor-ok")
    page.wait_for_selector("#result[data-seq='101']")
    # the form stays open with the reason on the host field; closing it shows the refusal behind it
    assert "居家隔离" in text(page, "#dlg-visitor .field-msg") or "quarantine" in text(page, "#dlg-visitor .field-msg")
    page.click("#dlg-visitor [data-close]")
    assert page.get_attribute("#result", "data-state") == "refuse"
    assert "2-3-401" in text(page, "#unit")
    assert ("被访住户" in text(page, "#unit")) if lang == "zh-CN" else ("Visiting" in text(page, "#unit"))
    assert ("居家隔离" in text(page, "#reason")) if lang == "zh-CN" else ("quarantine" in text(page, "#reason"))
    snap(page, "c07-visitor-host-quarantined", lang)
    fits(page, "#details")
    page.click("#btn-override")  # a visitor to a quarantined home needs the second confirmation too
    page.click("[data-reason='emergency']")
    page.click("#override-ok")
    page.wait_for_selector("#override-step2:not([hidden])")
    assert "2-3-401" in text(page, "#confirm-q")
    snap(page, "c08-visitor-override-confirm", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_outage_banner_turns_amber_then_red_with_the_backlog(page, srv, fake, lang):
    fake.sync = {"last_ok_ts": time.time() - 30, "backlog": 0, "text": "记录已全部上传"}
    open_page(page, srv, lang)
    assert page.get_attribute("#conn", "data-state") == "ok" and page.is_hidden("#outage")
    fake.sync = {"last_ok_ts": time.time() - 5 * 60, "backlog": 42, "text": f"42 条记录待上传（{OFFLINE_ZH}）"}
    page.wait_for_selector("#conn[data-state='amber']", timeout=8000)
    page.wait_for_selector("#outage:not([hidden])")
    banner = text(page, "#outage-text")
    assert (OFFLINE_ZH in banner) if lang == "zh-CN" else ("No network" in banner)
    assert "42" in text(page, "#outage-backlog") and text(page, "#outage-label")
    size = page.evaluate("parseFloat(getComputedStyle(document.getElementById('outage-backlog')).fontSize)")
    assert size >= 34
    snap(page, "c09-outage-amber", lang)
    fits(page, "#outage")
    fake.sync = {**fake.sync, "last_ok_ts": time.time() - 45 * 60, "backlog": 318}
    page.wait_for_selector("#conn[data-state='red']", timeout=8000)
    page.wait_for_function("document.getElementById('outage-backlog').textContent.includes('318')")
    assert page.get_attribute("#outage", "data-level") == "red"
    words = text(page, "#outage-text")
    assert ("联系管理员" in words) if lang == "zh-CN" else ("administrator" in words)
    show(page, fake, 1, **QUARANTINED)  # a refusal with the banner: both readable
    snap(page, "c10-outage-red-with-refusal", lang)
    fits(page, "#outage")
    fake.sync = {"last_ok_ts": time.time(), "backlog": 0, "text": "记录已全部上传"}
    page.wait_for_selector("#outage", state="hidden", timeout=8000)
    assert page.get_attribute("#conn", "data-state") == "ok"


@pytest.mark.parametrize("lang", LANGS)
def test_hand_over_lists_refusals_high_readings_overrides_and_faults(page, srv, fake, lang):
    now = time.time()
    fake.counts = {"entries": 57, "passed": 49, "refused": 8, "fevers": 1, "overrides": 2, "visitors": 3}
    fake.summary_extra = {
        "high_readings": 2, "refusals_by_reason": (("quarantined", 3), ("expired", 2), ("temp_high", 2),
                                                    ("mystery_code", 1)),
        "override_notes": (ShiftNote("other", "社区书记电话同意就医", now - 600), ShiftNote("medical", "", now - 60)),
        "faults": ({"code": "thermometer", "text_zh": "测温仪没有读数", "text_en": "Thermometer sends nothing",
                    "since": now - 1800, "until": now - 1200},)}
    open_page(page, srv, lang)
    sign_in(page)
    page.click("#btn-shift")
    page.wait_for_selector("#dlg-summary:not([hidden])")
    page.wait_for_function("document.getElementById('summary-lists').textContent.length > 0")
    lists = text(page, "#summary-lists")
    if lang == "zh-CN":
        assert "居家隔离 × 3" in lists and "通行证过期 × 2" in lists and "其他原因 × 1" in lists
        assert "其他：社区书记电话同意就医" in lists and "就医" in lists and "测温仪没有读数" in lists
        assert "体温偏高" in text(page, "#summary-table")
    else:
        assert "Home quarantine × 3" in lists and "Other reason × 1" in lists and "Thermometer sends nothing" in lists
    assert "mystery_code" not in lists and "temp_high" not in lists  # never a code on screen
    assert page.locator("#summary-table tr[data-key='s_high'] td").inner_text() == "2"
    snap(page, "c11-hand-over", lang)
    fits(page, "#dlg-summary .panel")


@pytest.mark.parametrize("lang", LANGS)
def test_idle_prompt_follows_the_devices_and_a_voice_fault_shows(page, tmp_path, fake, lang):
    fake.devices["thermometer"] = {"status": "no data", "text": "测温仪没有读数"}
    voice = VoiceAnnouncer(fake, VoicePlayer(VoiceSection(player=[str(tmp_path / "no-aplay")]), PromptLibrary(None)))
    with Server(fake, settings_for(tmp_path, screen={"result_hold_s": 30}), voice) as s:
        open_page(page, s, lang)
        page.wait_for_selector("#faults:not([hidden])")
        reason = text(page, "#reason")
        assert "体温" not in reason and "temperature" not in reason
        mute = text(page, "#btn-mute")
        assert mute == ("声音故障" if lang == "zh-CN" else "Sound fault")
        faults = text(page, "#faults")
        assert ("语音无法播放" in faults) if lang == "zh-CN" else ("Voice cannot play" in faults)
        snap(page, "c12-idle-no-thermometer-voice-fault", lang)
        fake.devices["thermometer"] = {"status": "ok", "text": "测温仪正常"}
        page.wait_for_function("document.getElementById('reason').textContent.includes("
                               + ("'体温'" if lang == "zh-CN" else "'temperature'") + ")", timeout=8000)


def test_unattended_page_has_no_health_code_buttons(page, tmp_path):
    fake = FakeCheckpoint(mode="unattended")
    with Server(fake, settings_for(tmp_path, mode="unattended", screen={"result_hold_s": 30})) as s:
        open_page(page, s)
        fake.hold_for_health_code()
        page.wait_for_selector("#result[data-code='health_code_check']")
        assert page.query_selector("#hc-buttons") is None


@pytest.mark.parametrize("lang", LANGS)
def test_a_revoked_pass_shows_why_it_was_revoked(page, srv, fake, lang):
    open_page(page, srv, lang)
    show(page, fake, 1, decision="refuse", code="revoked", household="5-1-302", temperature_c=None,
         message_zh="通行证已作废", message_en="Pass revoked", detail="挂失，已补办新卡")
    reason = text(page, "#reason")
    assert "挂失，已补办新卡" in reason and ("原因" in reason if lang == "zh-CN" else "reason" in reason)
    assert "5-1-302" in text(page, "#unit")
    fits(page, "#reason")
    snap(page, "c14-revoked-with-reason", lang)
