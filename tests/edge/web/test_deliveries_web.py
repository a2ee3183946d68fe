"""Drop-off mode on the real checkpoint and the real guard page: parcels recorded for households, what is waiting,
pickups, quarantined households flagged in red, and bad input refused on its field with nothing recorded (HTTP on
loopback and chromium at 800x480 in zh-CN)."""

from __future__ import annotations

import io
import json
import sqlite3
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from central import deliveries, ingest
from central.signing import root_public_pem
from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge.checkpoint import Checkpoint
from edge.shifts import ShiftBook
from sync import client as sync_client
from sync import lists
from sync.devicedb import open_db
from tests.central.console.conftest import start_central, stop_central
from tests.edge.conftest import edge_settings, key_page, make_pass
from tests.edge.web.conftest import Server, shot
from tests.edge.web.test_browser import open_page
from tests.edge.web.test_visitor_exit import Taps, _sign_in
from tests.sync.helpers import sync_settings

QUARANTINED = "9-9-909"


def _quarantine(household: str) -> dict:
    now = time.time()
    return {"op": "quarantine", "household": household, "start": "2026-01-01", "end": "2099-01-01",
            "start_ts": now - 86400, "end_ts": now + 86400 * 7}


@pytest.fixture
def gate(request, tmp_path, key, pty_thermometer):
    """The real checkpoint (simulated camera, thermometer on a pty) whose lists put 9-9-909 under quarantine."""
    extra = [_quarantine(QUARANTINED), *getattr(request, "param", [])]
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)}, voice={"enabled": False},
                             screen={"result_hold_s": 30})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    lists.apply_page(db, key_page(key, extra=extra))
    ShiftBook(db).set_pin("1001", "246810")
    db.conn.close()
    camera = SimCamera(settings.camera)
    cp = Checkpoint(settings, frame_source=camera, thermometer=Thermometer(settings.thermometer), gate=FakeGate())
    cp.start()
    try:
        with Server(cp, settings) as srv:
            yield cp, camera, pty_thermometer, srv
    finally:
        cp.stop()


def _scan_resident(cp, camera, therm, key, pass_id: int = 1001, household: str = "3-2-401") -> None:
    """A resident of ``household`` shows their pass at the gate (it is logged; the gate now knows the household)."""
    therm.temperature = 36.4
    before = _count(cp, "scan")
    camera.present(make_pass(key, pass_id=pass_id, household=household), seconds=0.5)
    deadline = time.monotonic() + 15
    while _count(cp, "scan") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(cp, "scan") == before + 1


def _rows(cp, event: str) -> list[dict]:
    conn = sqlite3.connect(cp.settings.db_path)
    try:
        cur = conn.execute("SELECT * FROM entries WHERE event = ? ORDER BY seq", [event])
        return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()


def _count(cp, event: str) -> int:
    return len(_rows(cp, event))


class Api:
    """The guard page's JSON actions as the kiosk posts them (with the page's token), signed in as 1001."""

    def __init__(self, srv: Server) -> None:
        self.srv, self.token = srv, srv.token()
        assert self.post("/api/shift/start", {"guard_id": "1001", "pin": "246810"}).status_code == 200

    def post(self, path: str, body: dict) -> httpx.Response:
        return httpx.post(self.srv.url + path, json=body, headers={"X-Gatepass-Token": self.token}, timeout=10)


GOOD = {"household": "3-2-401", "company": "顺丰", "count": 2, "courier_phone": "13800138000", "note": "生鲜"}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"household": "1-1-101"}, "household", "名单中没有这个住户"),
    ({"household": ""}, "household", "请填写收件住户"),
    ({"courier_phone": "12ab"}, "courier_phone", "快递员电话应为5到15位数字"),
    ({"note": "药" * 31}, "note", "备注请写30字以内"),
    ({"note": "生鲜\x1b[2J"}, "note", "不含控制字符"),
    ({"company": "其他"}, "company", "写明公司名称"),
    ({"company": "快递" * 11}, "company", "20字以内"),
    ({"count": 0}, "count", "件数应为1到99之间的整数"),
    ({"count": -3}, "count", "件数"),
    ({"count": 5000}, "count", "件数"),
    ({"count": "1e9"}, "count", "件数"),
])
def test_bad_input_is_refused_on_its_field_in_chinese_and_nothing_is_recorded(gate, key, change, field, words):
    cp, camera, therm, srv = gate
    _scan_resident(cp, camera, therm, key)
    api = Api(srv)
    r = api.post("/api/deliveries", {**GOOD, **change})
    assert r.status_code == 422 and r.json()["error"] == f"bad_{field}", r.text
    assert words in r.json()["message_zh"] and r.json()["message_en"]
    assert _rows(cp, "delivery") == [] and api.post("/api/deliveries/waiting", {}).json()["waiting"] == []


def test_record_wait_and_pick_up_over_http(gate, key):
    cp, camera, therm, srv = gate
    _scan_resident(cp, camera, therm, key, pass_id=1001)
    api = Api(srv)
    r = api.post("/api/deliveries", GOOD)
    assert r.status_code == 200 and r.json()["delivery"]["quarantined"] is False
    [entry] = _rows(cp, "delivery")  # committed to the local log before the answer
    assert entry["uuid"] == r.json()["delivery"]["uuid"] and json.loads(entry["extra"])["courier_phone"]
    assert [w["household"] for w in r.json()["waiting"]] == ["3-2-401"]
    q = api.post("/api/deliveries", {"household": QUARANTINED, "company": "美团", "count": "1", "note": "药品"}).json()
    assert q["delivery"]["quarantined"] is True and q["waiting"][0]["household"] == QUARANTINED  # flagged, first
    bad = api.post("/api/deliveries/pickup", {"delivery_uuid": q["delivery"]["uuid"], "kind": "name", "name": "王\x00"})
    assert bad.status_code == 422 and bad.json()["error"] == "bad_name"
    done = api.post("/api/deliveries/pickup", {"delivery_uuid": entry["uuid"], "kind": "pass"})
    assert done.status_code == 200 and [w["household"] for w in done.json()["waiting"]] == [QUARANTINED]
    again = api.post("/api/deliveries/pickup", {"delivery_uuid": entry["uuid"], "kind": "staff"})
    assert again.status_code == 409 and again.json()["message_zh"] == "这件快递已经取走了"
    [pickup] = _rows(cp, "delivery_pickup")
    assert (pickup["ref_uuid"], pickup["pass_id"], pickup["guard_id"]) == (entry["uuid"], "1001", "1001")


@pytest.mark.parametrize("gate", [[{"op": "policy", "key": "courier_drop_off", "value": False}]], indirect=True)
def test_a_gate_where_couriers_enter_refuses_drop_offs_in_chinese(gate, key):
    cp, camera, therm, srv = gate
    api = Api(srv)
    assert api.post("/api/deliveries/waiting", {}).json()["drop_off"] is False
    r = api.post("/api/deliveries", {**GOOD, "household": QUARANTINED})
    assert r.status_code == 409 and "允许快递员进入" in r.json()["message_zh"] and _rows(cp, "delivery") == []


def test_deliveries_need_a_signed_in_guard(gate):
    cp, camera, therm, srv = gate
    r = httpx.post(srv.url + "/api/deliveries", json=GOOD, headers={"X-Gatepass-Token": srv.token()})
    assert r.status_code in (401, 403, 409) and r.json()["message_zh"] and _rows(cp, "delivery") == []


@pytest.mark.browser
def test_a_guard_records_a_parcel_in_few_taps_sees_it_waiting_and_records_the_pickup(page, gate, key):
    cp, camera, therm, srv = gate
    _scan_resident(cp, camera, therm, key, pass_id=1001)
    open_page(page, srv)
    _sign_in(page)
    page.wait_for_function("document.getElementById('shift-info').textContent.includes('1001')")
    box = page.locator("#btn-delivery").bounding_box()
    assert box["height"] >= 56 and box["width"] >= 200 and box["y"] + box["height"] <= 480
    for sel in ("#btn-override", "#btn-visitor", "#btn-shift"):  # the main buttons keep their glove size
        assert page.locator(sel).bounding_box()["width"] >= 200

    tap = Taps(page)
    tap("#btn-delivery")
    page.wait_for_selector("#dlg-delivery:not([hidden])")
    assert page.get_attribute("#in-d-household", "data-kb") == "zh"
    assert page.get_attribute("#in-d-phone", "data-kb") == "digits" == page.get_attribute("#in-d-count", "data-kb")
    page.fill("#in-d-household", "3-2-401")
    page.fill("#in-d-count", "2")
    page.fill("#in-d-phone", "13800138000")
    page.fill("#in-d-note", "生鲜")
    tap("#delivery-companies .choice >> text=顺丰")
    shot(page, "60-delivery-form")
    tap("#delivery-ok")
    page.wait_for_selector("#dlg-delivery", state="hidden")
    assert tap.count <= 6, tap.count
    [entry] = _rows(cp, "delivery")
    assert json.loads(entry["extra"]) == {"company": "顺丰", "count": 2, "quarantined": False,
                                          "courier_phone": "13800138000", "note": "生鲜"}
    page.wait_for_function("document.getElementById('delivery-count').textContent === '1'")
    shot(page, "63-delivery-side-button")

    tap.count = 0  # to the quarantined household: recorded, flagged in red
    tap("#btn-delivery")
    page.fill("#in-d-household", QUARANTINED)
    page.fill("#in-d-note", "药品")
    tap("#delivery-companies .choice >> text=美团")
    tap("#delivery-ok")
    page.wait_for_selector("#dlg-delivery", state="hidden")
    assert tap.count <= 6 and "需工作人员送上门" in page.inner_text("#toast")

    tap.count = 0
    tap("#btn-delivery")
    tap("#delivery-tabs [data-view='list']")
    page.wait_for_selector("#delivery-list li[data-uuid]")
    rows = page.locator("#delivery-list li[data-uuid]")
    assert rows.count() == 2
    first = rows.nth(0)
    assert QUARANTINED in first.inner_text() and "需工作人员送上门" in first.inner_text()
    assert first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(58, 13, 13)"  # red row
    assert "顺丰 × 2" in rows.nth(1).inner_text() and "已等" in rows.nth(1).inner_text()
    shot(page, "61-delivery-waiting")
    tap(f"#delivery-list li[data-uuid='{entry['uuid']}'] [data-act='dl_picked']")  # one tap: the pass scanned
    page.wait_for_function("document.querySelectorAll('#delivery-list li[data-uuid]').length === 1")
    assert tap.count == 3
    [pickup] = _rows(cp, "delivery_pickup")
    assert pickup["ref_uuid"] == entry["uuid"] and pickup["pass_id"] == "1001"
    tap("#delivery-list li[data-uuid] [data-act='dl_staff']")  # carried up by staff
    page.wait_for_selector("#delivery-list li.empty")
    assert json.loads(_rows(cp, "delivery_pickup")[1]["extra"]) == {"by": "staff"}


@pytest.mark.browser
def test_bad_fields_show_their_reason_on_the_field_and_record_nothing(page, gate):
    cp, camera, therm, srv = gate
    open_page(page, srv)
    _sign_in(page)
    page.click("#btn-delivery")
    page.wait_for_selector("#dlg-delivery:not([hidden])")
    page.fill("#in-d-household", "1-1-101")  # not in the gate's lists
    page.click("#delivery-companies .choice >> text=京东")
    page.click("#delivery-ok")
    page.wait_for_function("document.querySelector(\"[data-err='household']\").textContent.length > 0")
    assert "名单中没有这个住户" in page.inner_text("[data-err='household']")
    page.fill("#in-d-household", QUARANTINED)
    page.fill("#in-d-count", "0")
    page.fill("#in-d-phone", "12a")
    page.click("#delivery-ok")
    assert "件数应为1到99" in page.inner_text("[data-err='count']")
    assert "快递员电话" in page.inner_text("[data-err='courier_phone']")
    page.fill("#in-d-count", "1")
    page.fill("#in-d-phone", "")
    page.fill("#in-d-note", "生鲜\u0007")
    page.click("#delivery-ok")
    page.wait_for_function("document.querySelector(\"[data-err='note']\").textContent.length > 0")
    shot(page, "62-delivery-bad-fields")
    assert page.evaluate("document.documentElement.scrollHeight <= 480 && document.documentElement.scrollWidth <= 800")
    assert _rows(cp, "delivery") == []


def test_deliveries_sync_to_a_real_central_and_show_in_its_ledger_and_per_household(gate, key, tmp_path):

    cp, camera, therm, srv = gate
    central = start_central(tmp_path / "c", seed_data=False)
    try:
        token = ingest.add_device(central.db, "pi-east", name="东门", community="幸福里", gate_id=cp.settings.gate.id)
        client = sync_client.SyncClient(sync_settings(central.url, token, root_public_pem(central.settings.data_dir),
                                                      cp.settings.data_dir))
        _scan_resident(cp, camera, therm, key, pass_id=1001)
        api = Api(srv)
        left = api.post("/api/deliveries", GOOD).json()["delivery"]
        api.post("/api/deliveries", {"household": QUARANTINED, "company": "其他：邻里团", "count": 3})
        assert api.post("/api/deliveries/pickup", {"delivery_uuid": left["uuid"], "kind": "name",
                                                   "name": "王芳"}).status_code == 200
        try:
            for _ in range(10):
                if client.upload_once() == 0:
                    break
        finally:
            client.close()
        with central.client("staff") as c:
            page = c.get("/deliveries").text
            per_household = c.get("/deliveries", params={"household": "3-2-401"}).text
            xlsx = c.get("/deliveries/export.xlsx")
        ledger = page.split('id="deliveries"', 1)[1]
        assert "顺丰" in ledger and "13800138000" in ledger and "王芳" in ledger and "东门" in ledger
        assert "其他：邻里团" in page.split('id="carry"', 1)[1].split("</table>", 1)[0]  # staff carry it up
        per = per_household.split('id="per-household"', 1)[1].split("</table>", 1)[0]
        assert "3-2-401" in per and QUARANTINED not in per
        rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
        assert any("邻里团" in str(cell) for row in rows for cell in row if cell)
        got = deliveries.ledger(central.db, deliveries.DeliveryQuery(time.time() - 3600, time.time() + 60))
        assert sorted((r["household"], r["pickup_kind"]) for r in got) == [("3-2-401", "name"), (QUARANTINED, "")]
    finally:
        stop_central(central)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_dialog_fits_800x480_and_no_label_is_cut(page, gate, key, lang):
    cp, camera, therm, srv = gate
    _scan_resident(cp, camera, therm, key, pass_id=1001)
    Api(srv).post("/api/deliveries", {**GOOD, "note": "生鲜水果一箱请尽快取走"})
    Api(srv).post("/api/deliveries", {"household": QUARANTINED, "company": "社区团购", "count": 12, "note": "药品"})
    open_page(page, srv, lang)  # 1001 signed in through the API
    page.wait_for_function("document.getElementById('shift-info').textContent.includes('1001')")
    page.wait_for_function("document.getElementById('delivery-count').textContent === '2'")  # shown unasked
    assert "carry" in page.get_attribute("#btn-delivery", "class")  # red: a parcel for a quarantined home waits
    shot(page, f"66-side-button-{lang}")
    page.click("#btn-delivery")
    page.wait_for_selector("#dlg-delivery:not([hidden])")
    cut = "e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 4"
    for b in page.locator("#delivery-companies .choice, #delivery-tabs .choice, #dlg-delivery .row .action").all():
        assert not b.evaluate(cut), b.inner_text()
    panel = page.locator("#dlg-delivery .panel").bounding_box()
    for field in page.locator("#dlg-delivery input:visible").all():
        box = field.bounding_box()
        assert box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"], field
    shot(page, f"64-delivery-form-{lang}")
    page.click("#delivery-tabs [data-view='list']")
    page.wait_for_selector("#delivery-list li[data-uuid]")
    for b in page.locator("#delivery-list button").all():
        assert not b.evaluate(cut), b.inner_text()
        box = b.bounding_box()
        assert box["height"] >= 56 and box["width"] >= 110 and box["x"] + box["width"] <= 800
    assert page.evaluate("document.documentElement.scrollHeight <= 480 && document.documentElement.scrollWidth <= 800")
    shot(page, f"65-delivery-waiting-{lang}")


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=40))
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)


_SIGNED_IN: dict[str, Api] = {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.fixed_dictionaries({}, optional={"household": JSON | st.sampled_from(["3-2-401", QUARANTINED]),
                                                "company": JSON | st.sampled_from(["顺丰", "其他：x"]),
                                                "count": JSON, "courier_phone": JSON, "note": JSON, "extra": JSON}))
def test_any_body_gets_an_answer_in_words_never_a_crash(gate, body):
    cp, camera, therm, srv = gate
    api = _SIGNED_IN.get(srv.url) or _SIGNED_IN.setdefault(srv.url, Api(srv))  # one sign-in for all examples
    r = api.post("/api/deliveries", body)
    assert r.status_code in (200, 409, 422), r.text
    if r.status_code != 200:
        assert r.json()["message_zh"] and r.json()["message_en"]
    else:
        assert _rows(cp, "delivery")[-1]["uuid"] == r.json()["delivery"]["uuid"]
