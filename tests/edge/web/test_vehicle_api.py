"""The vehicle lane's API on the real checkpoint (loopback): register, refuse a purpose, bad fields, inside, exit."""

from __future__ import annotations

import json

import httpx
import pytest

from edge.guard_desk import CheckpointError
from edge.vehicle_fields import VehicleForm
from sync import lists
from tests.edge.conftest import key_page
from tests.edge.web.test_real_checkpoint import real  # noqa: F401 - the real checkpoint fixture

pytestmark = pytest.mark.browser
LANE = {"vehicle_lane": True, "vehicle_purposes": ["resident", "delivery", "medical"]}


def _log(cp) -> list[dict]:
    db = cp.store.require_db()
    cur = db.execute("SELECT * FROM entries WHERE event IN ('vehicle', 'vehicle_exit') ORDER BY seq")
    return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]


def _post(srv, path: str, body: object) -> httpx.Response:
    headers = {"X-Gatepass-Token": srv.token(), "Origin": srv.url}
    return httpx.post(srv.url + path, json=body, headers=headers)


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_a_vehicle_is_logged_before_the_answer_listed_inside_and_its_exit_recorded(real):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    r = _post(srv, "/api/vehicles/register", {"plate": "粤ｂｄ12345", "purpose": "delivery", "driver": "person",
                                                "name": "张师傅", "phone": "138 0013 8000"})
    assert r.status_code == 200, r.text
    outcome = r.json()["outcome"]
    assert r.json()["plate"] == "粤BD12345"
    assert outcome["decision"] == "pass" and outcome["event"] == "vehicle" and outcome["code"] == "vehicle_ok"
    entry = _log(cp)[0]
    assert entry["uuid"] == outcome["uuid"] and entry["guard_id"] == "1001" and entry["synced"] == 0
    assert json.loads(entry["extra"]) == {"plate": "粤BD12345", "purpose": "delivery", "driver_kind": "person",
                                          "driver_name": "张师傅", "driver_phone": "13800138000"}
    inside = _post(srv, "/api/vehicles/inside", {}).json()["inside"]
    assert [(v["plate"], v["driver_name"], v["purpose_zh"]) for v in inside] == [("粤BD12345", "张师傅", "配送")]
    done = _post(srv, "/api/vehicles/exit", {"vehicle_uuid": outcome["uuid"]})
    assert done.status_code == 200 and done.json()["inside"] == []
    again = _post(srv, "/api/vehicles/exit", {"vehicle_uuid": outcome["uuid"]})
    assert again.status_code == 409 and again.json()["message_zh"] == "这辆车已登记离开"
    exit_ = _log(cp)[1]
    assert exit_["event"] == "vehicle_exit" and exit_["ref_uuid"] == outcome["uuid"] and exit_["decision"] == "info"
    assert len(_log(cp)) == 2


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_a_purpose_the_lane_does_not_allow_is_refused_and_the_refusal_logged(real):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    r = _post(srv, "/api/vehicles/register", {"plate": "京A12345", "purpose": "works", "driver": "person",
                                                "name": "李工", "phone": "13900139000"})
    outcome = r.json()["outcome"]
    assert outcome["decision"] == "refuse" and outcome["code"] == "vehicle_purpose"
    assert "不允许工程车辆" in outcome["detail"] and "配送" in outcome["detail"]
    assert outcome["message_zh"] == "车辆用途不符"
    logged = _log(cp)
    assert len(logged) == 1 and logged[0]["decision"] == "refuse" and logged[0]["reason"] == "vehicle_purpose"
    assert cp.vehicles_inside() == []  # nothing admitted
    assert not any(on for _t, on in cp.gate.history)  # the barrier stayed down
    refused = _post(srv, "/api/vehicles/exit", {"vehicle_uuid": outcome["uuid"]})
    assert refused.status_code == 409  # a refused vehicle is not inside: no exit to record


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_a_refused_vehicle_let_in_by_the_guards_override_is_inside_until_it_leaves(real):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    r = _post(srv, "/api/vehicles/register", {"plate": "京A12345", "purpose": "works", "driver": "person",
                                                "name": "李工", "phone": "13900139000"})
    refused = r.json()["outcome"]
    assert refused["decision"] == "refuse" and cp.vehicles_inside() == []
    let_in = cp.override(refused["uuid"], "1001", "other", note="抢修燃气")
    assert let_in.decision == "pass"
    inside = _post(srv, "/api/vehicles/inside", {}).json()["inside"]
    assert [(v["uuid"], v["plate"], v["driver_name"]) for v in inside] == [(refused["uuid"], "京A12345", "李工")]
    done = _post(srv, "/api/vehicles/exit", {"vehicle_uuid": refused["uuid"]})
    assert done.status_code == 200 and done.json()["inside"] == []


@pytest.mark.parametrize("real", [LANE], indirect=True)
@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"plate": "京AI2345"}, "plate", "没有字母I和O"),
    ({"plate": "A12345"}, "plate", "省份简称"),
    ({"plate": "京A1234X5"}, "plate", "新能源车牌"),
    ({"phone": "12345"}, "phone", "11位手机号"),
    ({"phone": ""}, "phone", "请填写驾驶人电话"),
    ({"name": "张" * 21}, "name", "姓名太长"),
    ({"name": "张\u0007三"}, "name", "控制字符"),
    ({"name": "张三3"}, "name", "不能含数字"),
    ({"plate": "京A1" + "2" * 300}, "plate", "车牌号太长"),
    ({"purpose": "other", "note": ""}, "note", "写明用途"),
    ({"purpose": "other", "note": "x" * 41}, "note", "备注太长"),
    ({"driver": "visitor"}, "driver", "请选择驾驶人"),
])
def test_bad_fields_get_their_reason_in_chinese_and_nothing_is_recorded(real, body, field, reason):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    form = {"plate": "京A12345", "purpose": "delivery", "driver": "person", "name": "张三", "phone": "13800138000"}
    r = _post(srv, "/api/vehicles/register", {**form, **body})
    assert r.status_code == 422, r.text
    assert reason in r.json()["fields"][field]["zh-CN"] and reason in r.json()["message_zh"]
    assert not _log(cp)


def test_a_gate_that_is_no_vehicle_lane_refuses_in_plain_words(real):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    assert _post(srv, "/api/vehicles/lane", {}).json()["lane"] is False
    r = _post(srv, "/api/vehicles/register", {"plate": "京A12345", "purpose": "delivery", "name": "张三",
                                                "phone": "13800138000"})
    assert r.status_code == 409 and "不是车辆通道" in r.json()["message_zh"] and not _log(cp)


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_central_policy_synced_down_with_the_lists_names_the_lane_purposes(real, key):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.vehicle_lane() == ["delivery", "medical", "resident"]
    policy = {"op": "policy", "key": "vehicle_lanes", "value": {cp.settings.gate.id: ["medical", "bogus"]}}
    with cp.store.lock:
        lists.apply_page(cp.store.require_db(), key_page(key, version=5, extra=[policy]))
    cp.lists.reload(force=True)
    assert cp.vehicle_lane() == ["medical"]
    assert [p["key"] for p in _post(srv, "/api/vehicles/lane", {}).json()["purposes"] if p["allowed"]] == ["medical"]


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_the_driver_can_be_a_resident_just_scanned_or_a_visitor_inside(real):  # noqa: F811
    cp, _camera, _therm, _srv = real
    assert cp.start_shift("1001", "246810")
    visit = cp.register_visitor("1001", "王小明", "13800138000", "3-2-101", "探亲访友", 36.5)
    car = cp.register_vehicle("1001", VehicleForm(plate="京AD12345", purpose="resident", driver="visitor",
                                                  driver_ref=visit.uuid))
    entry = _log(cp)[0]
    assert car.decision == "pass" and entry["household"] == "3-2-101" and entry["visitor_ref"]
    assert json.loads(entry["extra"])["driver_phone"] == "13800138000"
    with pytest.raises(CheckpointError, match="no recent resident scan"):
        cp.register_vehicle("1001", VehicleForm(plate="京A12345", purpose="resident", driver="resident",
                                                driver_ref=visit.uuid))


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_hostile_bodies_get_a_4xx_in_chinese_and_nothing_is_recorded(real):  # noqa: F811
    cp, _camera, _therm, srv = real
    assert cp.start_shift("1001", "246810")
    headers = {"X-Gatepass-Token": srv.token(), "Origin": srv.url, "Content-Type": "application/json"}
    bodies = [b"[]", b'"x"', b"{", b"\xff\xfe", json.dumps({"plate": 5, "purpose": "delivery"}).encode(),
              json.dumps({"plate": "京A12345", "purpose": "delivery", "name": "张三", "phone": "13800138000",
                          "admin": True}).encode(),
              json.dumps({"plate": "京" * 100_000, "purpose": "delivery"}).encode(),
              json.dumps({"plate": "京A12345", "purpose": "delivery", "driver": "resident",
                          "driver_ref": "x' OR 1=1 --"}).encode()]
    for body in bodies:
        r = httpx.post(srv.url + "/api/vehicles/register", content=body, headers=headers)
        assert 400 <= r.status_code < 500, (body[:40], r.status_code, r.text)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message_zh"]), r.text
    assert not _log(cp)


@pytest.mark.parametrize("real", [LANE], indirect=True)
def test_the_gate_keeps_its_vehicle_book_28_days_and_the_log_drops_synced_details(real):  # noqa: F811
    from edge.vehicle_book import VehicleVisit

    cp, *_ = real
    assert cp.start_shift("1001", "246810")
    car = cp.register_vehicle("1001", VehicleForm(plate="京AD12345", purpose="delivery", name="刘师傅",
                                                  phone="13600001234"))
    book = cp.vehicles.book()
    book.add(VehicleVisit("old", "京A11111", "works", "person", "旧", "13000000000", None, car.wall_ts - 29 * 86400,
                          None))
    db = cp.store.require_db()
    db.execute("UPDATE entries SET synced = 1")
    cp.store.locallog.erase_synced_personal_data()
    assert _log(cp)[0]["extra"] is None  # central holds it: the log keeps no plate or driver
    assert [v["plate"] for v in cp.vehicles_inside()] == ["京AD12345"]  # the book still lists it
    assert book.get("old") is None  # kept 28 days (the clock is trusted here)
