"""A vehicle from the gate to central: registered on the real checkpoint, uploaded by the real sync client to a real
central server on loopback, then in the staff's vehicle ledger, its XLSX export (read with openpyxl) and a contact
trace that reaches the driver by name and phone."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook

from central.console import auth
from drivers.camera import SimCamera
from drivers.gate import FakeGate
from drivers.thermometer import Thermometer
from edge.checkpoint import Checkpoint
from edge.shifts import ShiftBook
from edge.vehicle_fields import VehicleForm
from sync import client as sync_client
from sync.devicedb import open_db
from tests.central.console.conftest import PASSWORDS, login
from tests.edge.conftest import edge_settings
from tests.sync.helpers import Central, sync_settings


def test_a_vehicle_reaches_the_ledger_its_export_and_a_trace_by_the_drivers_name_and_phone(tmp_path, pty_thermometer):
    central = Central(tmp_path / "central").start_thread()
    token = central.add_device("pi-north", name="北门", community="幸福里社区", gate_id="north")
    auth.add_user(central.db, "staff", PASSWORDS["staff"], "staff")
    settings = edge_settings(tmp_path, thermometer={"url": str(pty_thermometer.link)}, voice={"enabled": False},
                             gate={"mode": "guarded", "id": "north", "vehicle_lane": True})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_db(settings.db_path)
    ShiftBook(db).set_pin("1001", "246810")
    db.conn.close()
    client = sync_client.SyncClient(sync_settings(central.url, token, central.public_pem(), settings.data_dir))
    cp = Checkpoint(settings, frame_source=SimCamera(settings.camera), thermometer=Thermometer(settings.thermometer),
                    gate=FakeGate())
    cp.start()
    try:
        assert cp.start_shift("1001", "246810")
        cp.register_visitor("1001", "王小明", "13800138000", "3-2-101", "探亲访友", 36.5)
        van = cp.register_vehicle("1001", VehicleForm(plate="京ＡＤ１２３４５", purpose="delivery", name="刘师傅",
                                                      phone="136 0000 1234"))
        car = cp.register_vehicle("1001", VehicleForm(plate="沪B12345", purpose="medical", name="急救中心",
                                                      phone="010-88881234"))
        cp.record_vehicle_exit("1001", car.uuid)
        for _ in range(10):
            if client.upload_once() == 0:
                break
        with cp.store.lock:
            cp.store.locallog.erase_synced_personal_data()  # the gate drops the details central now holds
        assert [v["plate"] for v in cp.vehicles_inside()] == ["京AD12345"]  # the book still lists the van

        with httpx.Client(base_url=central.url, timeout=10) as c:
            login(c, "staff", PASSWORDS["staff"])
            day = {"day_from": _day(van.wall_ts)[:10]}  # the van's day (not "today": the test may cross midnight)
            page = c.get("/vehicles", params=day).text
            xlsx = c.get("/vehicles/export.xlsx", params=day)
            trace = c.get("/trace", params={"kind": "visitor_phone", "value": "13800138000", "minutes": "30",
                                            "since": _day(van.wall_ts), "until": _day(van.wall_ts + 86400)}).text
        inside = page.split('id="inside"', 1)[1].split("</table>", 1)[0]
        assert "京AD12345" in inside and "刘师傅" in inside and "沪B12345" not in inside and "北门" in page
        sheet = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
        plates = {row[0]: row for row in sheet[2:]}
        assert sheet[1][0] == "车牌号" and set(plates) == {"京AD12345", "沪B12345"}
        assert plates["京AD12345"][1] == "配送" and plates["京AD12345"][8] == "13600001234"
        assert plates["沪B12345"][3] is not None and plates["京AD12345"][3] is None  # time out
        people = trace.split('id="people"', 1)[1].split("</table>", 1)[0]
        assert "刘师傅" in people and "13600001234" in people and "京AD12345" in people and "北门" in people
    finally:
        cp.stop()
        client.close()
        central.stop()


def _day(ts: float) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ts, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT00:00")
