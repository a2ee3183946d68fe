"""Visitors now inside on the guard page and the one-tap exit, on the real checkpoint in chromium at 800x480."""

from __future__ import annotations

import json

import pytest

from edge.guard_desk import CheckpointError
from edge.visitor_book import Visit
from tests.edge.web.conftest import shot
from tests.edge.web.test_browser import open_page
from tests.edge.web.test_real_checkpoint import real  # noqa: F401 - the real checkpoint fixture

pytestmark = pytest.mark.browser


class Taps:
    """Counts the guard's taps on the page."""

    def __init__(self, page) -> None:
        self.page, self.count = page, 0

    def __call__(self, selector: str) -> None:
        self.count += 1
        self.page.click(selector)


def _register(page, tap, name: str, phone: str) -> None:
    tap("#btn-visitor")
    page.wait_for_selector("#dlg-visitor:not([hidden])")
    page.fill("#in-v-name", name)
    page.fill("#in-v-phone", phone)
    page.fill("#in-v-host", "3-2-101")
    page.fill("#in-v-temp", "36.5")
    tap("#visitor-reasons .choice >> nth=0")
    tap("#visitor-ok")
    page.wait_for_selector("#dlg-visitor", state="hidden")


def _sign_in(page) -> None:
    """Guard 1001 with the real checkpoint's PIN 246810 on the keypad."""
    page.click("#btn-shift")
    page.click("#in-guard")
    for digit in "1001":
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#in-pin")
    for digit in "246810":
        page.click(f"#keypad [data-key='{digit}']")
    page.click("#signin-ok")
    page.wait_for_selector("#dlg-signin", state="hidden")


def _log(cp) -> list[dict]:
    db = cp.store.require_db()
    cur = db.execute("SELECT * FROM entries WHERE event IN ('visitor', 'visitor_exit') ORDER BY seq")
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]


def test_one_tap_records_the_exit_in_the_log_and_takes_them_off_the_list(page, real):  # noqa: F811
    cp, _camera, _therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_function("document.getElementById('shift-info').textContent.includes('1001')")
    tap = Taps(page)
    _register(page, tap, "王小明", "13800138000")
    _register(page, tap, "李四", "13900139000")
    taps_to_register = tap.count

    box = page.locator("#btn-inside").bounding_box()
    assert box["height"] >= 60 and box["width"] >= 120  # big enough for gloves, beside the three main buttons
    tap.count = 0
    tap("#btn-inside")
    page.wait_for_selector("#inside-list li[data-uuid]")
    rows = page.locator("#inside-list li[data-uuid]")
    assert rows.count() == 2 and "王小明" in rows.nth(0).inner_text() and "3-2-101" in rows.nth(0).inner_text()
    shot(page, "30-visitors-inside")
    tap("#inside-list li[data-uuid] >> nth=0 >> button")
    page.wait_for_function("document.querySelectorAll('#inside-list li[data-uuid]').length === 1")
    assert "李四" in page.inner_text("#inside-list") and "王小明" not in page.inner_text("#inside-list")
    shot(page, "31-visitor-left")
    assert tap.count == 2 and taps_to_register == 6  # 2 taps to record an exit; 3 (+ typing) to register

    logged = _log(cp)
    visit, exit_ = logged[0], logged[2]
    assert exit_["event"] == "visitor_exit" and exit_["ref_uuid"] == visit["uuid"] and exit_["decision"] == "info"
    assert exit_["direction"] == "out" and exit_["guard_id"] == "1001" and exit_["synced"] == 0  # it will sync
    assert json.loads(visit["extra"])["name"] == "王小明"
    with pytest.raises(CheckpointError, match="already left"):  # a second tap records nothing
        cp.record_visitor_exit("1001", visit["uuid"])
    assert len(_log(cp)) == 3
    assert [v["name"] for v in cp.visitors_inside()] == ["李四"]


def test_the_list_survives_the_log_erasing_synced_details(real):  # noqa: F811
    cp, *_ = real
    assert cp.start_shift("1001", "246810")
    outcome = cp.register_visitor("1001", "王小明", "13800138000", "3-2-101", "探亲访友", 36.5)
    db = cp.store.require_db()
    db.execute("UPDATE entries SET synced = 1")
    cp.store.locallog.erase_synced_personal_data()
    book = cp.desk.visitor_book()
    book.add(Visit("old", "r0", "旧", "13000000000", "1-1-101", "探亲", outcome.wall_ts - 29 * 86400, None))
    inside = cp.visitors_inside()
    assert [(v["uuid"], v["name"], v["phone"]) for v in inside] == [(outcome.uuid, "王小明", "13800138000")]
    assert book.get("old") is None  # kept 28 days (the clock is trusted here)
    with pytest.raises(CheckpointError, match="not on the now-inside list|no such visitor"):
        cp.record_visitor_exit("1001", "no-such-visit")


def test_the_form_takes_the_optional_answers_and_a_returning_visitor_is_filled_in_by_phone(page, real):  # noqa: F811
    cp, _camera, _therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.click("#btn-visitor")
    page.fill("#in-v-name", "王小明")
    page.fill("#in-v-phone", "13800138000")
    page.fill("#in-v-host", "3-2-101")
    page.fill("#in-v-temp", "36.5")
    page.fill("#in-v-id4", "12a4")
    page.fill("#in-v-city", "武汉")
    page.click("#visitor-outside [data-outside='yes']")
    page.click("#visitor-reasons .choice >> nth=0")
    page.click("#visitor-ok")
    assert "身份证后四位" in page.inner_text("#visitor-msg") and not _log(cp)  # nothing recorded
    page.fill("#in-v-id4", "123x")
    shot(page, "32-visitor-form-full")
    page.click("#visitor-ok")
    page.wait_for_selector("#dlg-visitor", state="hidden")
    extra = json.loads(_log(cp)[0]["extra"])
    assert extra == {"name": "王小明", "phone": "13800138000", "host_household": "3-2-101", "reason": "探亲访友",
                     "id_last4": "123X", "from_city": "武汉", "outside_14d": True}

    page.wait_for_timeout(3100)  # past the repeated-click guard (edge.guard_desk.VISITOR_REPEAT_S)
    page.click("#btn-visitor")
    page.fill("#in-v-phone", "138 0013 8000")
    page.wait_for_function("document.getElementById('in-v-name').value === '王小明'")
    assert page.input_value("#in-v-host") == "3-2-101" and page.input_value("#in-v-city") == "武汉"
    assert "上次来访" in page.inner_text("#visitor-hint")
    shot(page, "33-returning-visitor")
    page.fill("#in-v-temp", "36.4")
    page.click("#visitor-ok")  # the reason was picked again too
    page.wait_for_selector("#dlg-visitor", state="hidden")
    assert len([e for e in _log(cp) if e["event"] == "visitor"]) == 2


def test_bad_optional_answers_are_refused_with_the_reason_in_chinese(real):  # noqa: F811
    import httpx
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    headers = {"X-Gatepass-Token": srv.token(), "Origin": srv.url}
    body = {"name": "王", "phone": "13800138000", "host_household": "3-2-101", "reason": "探亲访友",
            "temperature_c": 36.5, "id_last4": "12345", "from_city": "武汉1"}
    r = httpx.post(srv.url + "/api/visitor", json=body, headers=headers)
    assert r.status_code == 422
    assert "身份证后四位" in r.json()["message_zh"] and "来自城市" in r.json()["message_zh"]
    assert not _log(cp)


def test_other_needs_the_reason_written(page, real):  # noqa: F811
    cp, _camera, _therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.click("#btn-visitor")
    page.fill("#in-v-name", "王小明")
    page.fill("#in-v-phone", "13800138000")
    page.fill("#in-v-host", "3-2-101")
    page.fill("#in-v-temp", "36.5")
    page.click("#visitor-reasons [data-i18n='vr_other']")
    page.click("#visitor-ok")
    assert "写明来访事由" in page.inner_text("#visitor-msg") and not _log(cp)
    page.fill("#in-v-other", "送药")
    shot(page, "34-visitor-other-reason")
    page.click("#visitor-ok")
    page.wait_for_selector("#dlg-visitor", state="hidden")
    assert json.loads(_log(cp)[0]["extra"])["reason"] == "其他：送药"
    with pytest.raises(ValueError):  # the bare "其他" is refused by the form itself
        from edge.screen_forms import VisitorForm
        VisitorForm(name="王", phone="13800138000", host_household="1-1-101", reason="其他")
