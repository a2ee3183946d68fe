"""The vehicle lane on the guard page, real checkpoint, chromium at 800x480 in zh-CN: register a new-energy car in a
few taps, see it inside with the visitors, one tap records its exit; a refused purpose; bad fields on the field."""

from __future__ import annotations

import json

import pytest

from tests.edge.conftest import make_pass
from tests.edge.web.conftest import shot
from tests.edge.web.test_browser import open_page
from tests.edge.web.test_real_checkpoint import real  # noqa: F401 - the real checkpoint fixture
from tests.edge.web.test_visitor_exit import Taps, _register, _sign_in

pytestmark = pytest.mark.browser
LANE = {"vehicle_lane": True, "vehicle_purposes": ["resident", "delivery", "medical"]}


def _log(cp) -> list[dict]:
    db = cp.store.require_db()
    cur = db.execute("SELECT * FROM entries WHERE event IN ('vehicle', 'vehicle_exit') ORDER BY seq")
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]


def _fill_vehicle(page, tap, plate: str, purpose: str, name: str = "张师傅", phone: str = "13800138000") -> None:
    tap("#btn-vehicle")
    page.wait_for_selector("#dlg-vehicle:not([hidden])")
    page.fill("#in-vh-plate", plate)
    tap(f"#vh-purposes [data-purpose='{purpose}']")
    page.fill("#in-vh-name", name)
    page.fill("#in-vh-phone", phone)


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_a_new_energy_car_in_three_taps_inside_with_the_visitors_and_out_in_two(page, real):  # noqa: F811
    cp, _camera, _therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_selector("#btn-vehicle:not([hidden])")
    tap = Taps(page)
    _register(page, tap, "王小明", "13900139000")  # a visitor on foot, inside too
    tap.count = 0
    _fill_vehicle(page, tap, "粤bd 12345", "delivery")
    shot(page, "40-vehicle-form")
    tap("#vehicle-ok")
    page.wait_for_selector("#dlg-vehicle", state="hidden")
    assert tap.count == 3  # the vehicle button, the purpose, 登记 (+ typing the plate, name and phone)
    page.wait_for_selector("#result[data-state='pass']")
    shot(page, "41-vehicle-in")
    entry = _log(cp)[0]
    assert json.loads(entry["extra"])["plate"] == "粤BD12345" and entry["decision"] == "pass"

    tap.count = 0
    tap("#btn-inside")
    page.wait_for_selector("#inside-vehicles li[data-vehicle]")
    page.wait_for_selector("#inside-list li[data-uuid]")
    text = page.inner_text("#dlg-inside")
    assert "粤BD12345" in text and "配送" in text and "王小明" in text and "分钟" in text
    shot(page, "42-inside-people-and-vehicles")
    tap("#inside-vehicles li[data-vehicle] button")
    page.wait_for_selector("#inside-vehicles li.empty")
    assert tap.count == 2 and "王小明" in page.inner_text("#inside-list")
    assert [e["event"] for e in _log(cp)] == ["vehicle", "vehicle_exit"]
    assert _log(cp)[1]["ref_uuid"] == entry["uuid"]


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_a_purpose_the_lane_does_not_allow_is_refused_with_the_reason(page, real):  # noqa: F811
    cp, _camera, _therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_selector("#btn-vehicle:not([hidden])")
    tap = Taps(page)
    _fill_vehicle(page, tap, "京A12345", "works")
    assert "不允许" in page.inner_text("#vh-purposes [data-purpose='works']")
    tap("#vehicle-ok")
    page.wait_for_selector("#result[data-state='refuse']")
    assert "不允许工程车辆" in page.inner_text("#reason")
    shot(page, "43-vehicle-refused")
    logged = _log(cp)
    assert len(logged) == 1 and logged[0]["decision"] == "refuse" and cp.vehicles_inside() == []


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_bad_fields_show_their_reason_on_the_field_and_nothing_is_recorded(page, real):  # noqa: F811
    cp, _camera, _therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_selector("#btn-vehicle:not([hidden])")
    tap = Taps(page)
    _fill_vehicle(page, tap, "京AI2345", "delivery", name="张\u00073", phone="12345")
    tap("#vehicle-ok")
    page.wait_for_function("document.querySelector('.fmsg[data-for=plate]').textContent.length > 0")
    assert "没有字母I和O" in page.inner_text(".fmsg[data-for=plate]")
    assert "11位手机号" in page.inner_text(".fmsg[data-for=phone]")
    assert "控制字符" in page.inner_text(".fmsg[data-for=name]")
    shot(page, "44-vehicle-bad-fields")
    assert not _log(cp)
    page.fill("#in-vh-plate", "京A12345")
    page.fill("#in-vh-name", "张三")
    page.fill("#in-vh-phone", "13800138000")
    tap("#vh-purposes [data-purpose='other']")
    tap("#vehicle-ok")
    page.wait_for_function("document.querySelector('.fmsg[data-for=note]').textContent.length > 0")
    assert "写明用途" in page.inner_text(".fmsg[data-for=note]") and not _log(cp)


def test_the_vehicle_button_stays_hidden_at_a_gate_that_is_no_vehicle_lane(page, real):  # noqa: F811
    _cp, _camera, _therm, srv = real
    open_page(page, srv)
    page.wait_for_timeout(500)
    assert page.locator("#btn-vehicle").is_hidden()


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_the_driver_is_the_resident_whose_pass_was_just_scanned(page, real, key):  # noqa: F811
    cp, camera, therm, srv = real
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_selector("#btn-vehicle:not([hidden])")
    therm.temperature = 36.4
    camera.present(make_pass(key), seconds=0.5)
    page.wait_for_function("document.getElementById('result').dataset.state === 'pass'", timeout=15000)
    tap = Taps(page)
    tap("#btn-vehicle")
    page.fill("#in-vh-plate", "京AF12345")
    tap("#vh-purposes [data-purpose='resident']")
    tap("#vh-driver [data-driver='resident']")
    assert "3-2-401" in page.inner_text("#vh-resident") and page.locator("#in-vh-name").is_hidden()
    shot(page, "45-vehicle-resident-driver")
    tap("#vehicle-ok")
    page.wait_for_selector("#dlg-vehicle", state="hidden")
    assert tap.count == 4
    entry = _log(cp)[0]
    assert (entry["pass_id"], entry["household"], entry["decision"]) == ("1001", "3-2-401", "pass")
    assert json.loads(entry["extra"]) == {"plate": "京AF12345", "purpose": "resident", "driver_kind": "resident"}


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_the_vehicle_dialog_in_english(page, real):  # noqa: F811
    _cp, _camera, _therm, srv = real
    open_page(page, srv, lang="en")
    _sign_in(page)
    page.click("#btn-vehicle")
    page.wait_for_selector("#dlg-vehicle:not([hidden])")
    assert page.inner_text("#dlg-vehicle h2") == "Register a vehicle"
    assert "not at this lane" in page.inner_text("#vh-purposes [data-purpose='works']")
    page.fill("#in-vh-plate", "京A1234")
    page.click("#vh-purposes [data-purpose='delivery']")
    page.click("#vehicle-ok")
    page.wait_for_function("document.querySelector('.fmsg[data-for=plate]').textContent.length > 0")
    assert "ordinary plates have 7 characters" in page.inner_text(".fmsg[data-for=plate]")
    shot(page, "46-vehicle-form-en")
