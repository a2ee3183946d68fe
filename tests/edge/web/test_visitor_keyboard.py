"""Registering a visitor on the 800x480 kiosk with the on-screen keyboard only (no physical keyboard), on the real
checkpoint in chromium, zh-CN: a Chinese name typed in pinyin, the phone on the digit pad; the taps are counted."""

from __future__ import annotations

import json

import pytest

from tests.edge.web.conftest import shot
from tests.edge.web.test_browser import open_page
from tests.edge.web.test_real_checkpoint import real  # noqa: F401 - the real checkpoint fixture
from tests.edge.web.test_visitor_exit import _log, _sign_in

pytestmark = pytest.mark.browser


class Taps:
    """The guard's taps: on the page (``count``) and on the keyboard's keys (``typed``: typing)."""

    def __init__(self, page) -> None:
        self.page, self.count, self.typed = page, 0, 0

    def __call__(self, selector: str) -> None:
        self.count += 1
        self.page.click(selector)

    def type(self, text: str) -> None:
        for ch in text:
            self.typed += 1
            self.page.click(f"#kb button.kb-key[data-k='t:{ch}']")

    def candidate(self, ch: str) -> None:
        """Pick a character from the candidate bar (part of typing Chinese)."""
        self.typed += 1
        self.page.locator("#kb button.kb-cand", has_text=ch).first.click()


def in_view(page, sel: str) -> bool:
    """Whether the element is wholly on the 800x480 screen as it is now (no scrolling), not under the keyboard."""
    return page.locator(sel).evaluate("""el => { const r = el.getBoundingClientRect();
        const kb = document.getElementById('kb'); const floor = kb && !kb.hidden ? kb.getBoundingClientRect().top
            : window.innerHeight;
        return r.top >= 0 && r.bottom <= floor && r.left >= 0 && r.right <= window.innerWidth; }""")


def test_a_visitor_named_in_pinyin_in_six_taps_plus_typing_and_the_exit(page, real):  # noqa: F811
    cp, _camera, therm, srv = real
    therm.temperature = 36.5  # the thermometer reads the visitor: no temperature typed
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_function("document.getElementById('shift-info').textContent.includes('1001')")
    tap = Taps(page)
    tap("#btn-visitor")
    page.wait_for_selector("#kb[data-kind='zh']:not([hidden])")  # the name field has the focus
    tap.type("zhang")
    tap.candidate("张")
    tap.type("wei")
    tap.candidate("伟")
    assert page.input_value("#in-v-name") == "张伟"
    assert in_view(page, "#in-v-phone") and in_view(page, "#in-v-host")  # above the keyboard, no scrolling
    tap("#in-v-phone")
    page.wait_for_selector("#kb[data-kind='digits']")
    tap.type("13800138000")
    tap("#in-v-host")
    tap.type("3-2-101")
    shot(page, "kb5-visitor-typed-on-screen")
    tap("#kb [data-k='done']")  # the keyboard goes: the reasons and the confirm button are on screen again
    page.wait_for_selector("#kb", state="hidden")
    for sel in ("#visitor-reasons .choice >> nth=0", "#visitor-ok"):  # reachable without scrolling
        assert in_view(page, sel), sel
    tap("#visitor-reasons .choice >> nth=0")
    tap("#visitor-ok")
    page.wait_for_selector("#dlg-visitor", state="hidden", timeout=15000)
    assert tap.count <= 6, tap.count
    assert tap.count == 6 and tap.typed == 5 + 1 + 3 + 1 + 11 + 7

    visit = [e for e in _log(cp) if e["event"] == "visitor"][0]
    extra = json.loads(visit["extra"])
    assert (extra["name"], extra["phone"], extra["host_household"]) == ("张伟", "13800138000", "3-2-101")
    assert visit["decision"] == "pass" and visit["temp_c"] == pytest.approx(36.5, abs=0.3)

    tap.count = 0
    tap("#btn-inside")
    page.wait_for_selector("#inside-list li[data-uuid]")
    assert "张伟" in page.inner_text("#inside-list")
    tap("#inside-list li[data-uuid] >> nth=0 >> button")
    page.wait_for_selector("#inside-list li.empty")
    assert tap.count == 2
    exit_ = [e for e in _log(cp) if e["event"] == "visitor_exit"][0]
    assert exit_["ref_uuid"] == visit["uuid"]

    # the same visitor again: the phone typed on the digit pad finds them, name and host filled in
    page.click("#dlg-inside [data-close]")
    page.click("#btn-visitor")
    page.click("#in-v-phone")
    tap.type("13800138000")
    page.wait_for_function("document.getElementById('in-v-name').value === '张伟'")
    assert page.input_value("#in-v-host") == "3-2-101" and "上次来访" in page.inner_text("#visitor-hint")


def test_an_unknown_or_quarantined_host_is_refused_on_the_host_field(page, real):  # noqa: F811
    import time

    from sync import lists as edge_lists
    from tests.edge.test_visitor_host import _households_page

    cp, _camera, _therm, srv = real
    with cp.store.lock:
        db = cp.store.require_db()
        edge_lists.apply_page(db, _households_page(edge_lists.meta(db).version, "3-2-101", "2-3-401",
                                                   quarantined="2-3-401", now=time.time()))
    open_page(page, srv)
    _sign_in(page)
    page.click("#btn-visitor")
    page.fill("#in-v-name", "张伟")
    page.fill("#in-v-phone", "13800138000")
    page.fill("#in-v-host", "9-9-909")
    page.fill("#in-v-temp", "36.5")
    page.click("#visitor-reasons .choice >> nth=0")
    page.click("#visitor-ok")
    page.wait_for_selector("#dlg-visitor .field-msg[data-for='in-v-host']")
    assert "9-9-909 不在本小区住户名单中" in page.inner_text("#dlg-visitor .field-msg")
    assert "bad" in page.get_attribute("#in-v-host", "class") and not _log(cp)  # nothing recorded
    shot(page, "kb6-visitor-unknown-host")

    page.fill("#in-v-host", "2-3-401")  # typing clears the message
    assert page.locator("#dlg-visitor .field-msg").count() == 0
    page.click("#visitor-ok")
    page.wait_for_function("(document.querySelector(\"#dlg-visitor .field-msg\") || {}).textContent"
                           "?.includes('居家隔离')")
    assert page.is_visible("#dlg-visitor")  # the dialog stays: the guard sees why on the field
    shot(page, "kb7-visitor-host-quarantined")
    refused = [e for e in _log(cp) if e["event"] == "visitor"]
    assert [(e["decision"], e["reason"]) for e in refused] == [("refuse", "host_quarantined")]  # logged for staff

    page.fill("#in-v-host", "3-2-101")
    page.wait_for_timeout(3100)  # past the repeated-click guard
    page.click("#visitor-ok")
    page.wait_for_selector("#dlg-visitor", state="hidden")
    assert [e["decision"] for e in _log(cp) if e["event"] == "visitor"] == ["refuse", "pass"]
